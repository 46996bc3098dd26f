// The one broker connection of a page: its token, its transport, and saying "Live" only when
// the page is current.
import { openHttpTransport } from "./http-transport.js";
import { openStompTransport } from "./stomp-transport.js";
import { TokenRenewal } from "./token-renewal.js";

// WebSocket attempts that fail, none of them ever reaching the broker, before a page that may
// fall back to HTTP does (docs/game.md, "When WebSockets are blocked").
const FALLBACK_AFTER_FAILURES = 2;

/**
 * Connect to the broker and stay connected until `close()`.
 *
 * The page follows `destinations` over STOMP-over-WebSocket at `wsUrl` (stomp-transport.js)
 * with `firstToken` (which the page came with), then with tokens renewed from `tokenUrl`
 * before each expires (token-renewal.js). Every message body is parsed as JSON and handed to
 * `router`, with `replayed` when the broker sent it from its history. `headersFor` adds
 * SUBSCRIBE headers per destination (a player's `presence: announce` on its status topic);
 * `replies` is a destination followed over the WebSocket alone, for the replies to what this
 * page `send`s.
 *
 * After every (re)connect `onReady({resumed})` runs: the page's cue to reload its snapshot
 * unless `resumed` says the broker replayed everything it missed. Only once the promise it
 * returns settles does `onState("live", transport)` say so, so that a page never says "Live"
 * on a screen older than the game. `onState` also hears "connecting" (the first connect) and
 * "offline" (lost, trying again; said at once when the browser goes offline, and a link
 * silent past its heart-beats counts as lost). When the browser comes online again, the page
 * reconnects at once. `onRefused` hears an ApiError that makes connecting pointless (kicked,
 * not a player), after which the connection stops.
 *
 * With `fallbackUrl` (the broker's /sse, offered when every destination keeps history), a
 * page whose WebSocket fails FALLBACK_AFTER_FAILURES times without ever reaching the broker
 * (blocked on this network; a page that was live and lost it just reconnects) follows the
 * destinations over Server-Sent Events instead (http-transport.js), with the same offsets,
 * resume and tokens, and says `onState("live", "http")`.
 *
 * `send(destination, body)` publishes over the live WebSocket and resolves true once the
 * broker has the message; false when there is none to send on (the HTTP fallback, a
 * reconnect under way) or it did not confirm in time, for the caller to send it another way.
 */
export function openConnection({ wsUrl, fallbackUrl = null, tokenUrl, firstToken, destinations,
                                 replies = null, headersFor = {}, router, onReady, onState,
                                 onRefused }) {
  const offsets = new Map(); // destination → the offset of the last message applied from it
  let transport = null;
  let transportName = "websocket";
  let closed = false;
  let subscriptions = 0; // the latest onSubscribed: only it may say "live"

  const deliver = (message, replayed) => {
    let body;
    try {
      body = JSON.parse(message.body);
    } catch {
      console.warn("not JSON on", message.headers.destination);
      return;
    }
    router.dispatch(message.headers.destination, body, { replayed });
    const offset = Number.parseInt(message.headers["x-stream-offset"], 10);
    if (Number.isSafeInteger(offset)) offsets.set(message.headers.destination, offset);
  };
  const state = (name, how = transportName) => {
    if (name !== "live") subscriptions += 1; // a catch-up under way is no longer current
    onState(name, how);
  };
  const subscribed = async ({ resumed }) => {
    const mine = ++subscriptions;
    await onReady({ resumed });
    if (mine === subscriptions && !closed) onState("live", transportName);
  };
  const stop = () => {
    closed = true;
    tokens.stop();
    window.removeEventListener("online", reconnectNow);
    window.removeEventListener("offline", wentOffline);
    return transport.close();
  };

  const tokens = new TokenRenewal({
    tokenUrl,
    firstToken,
    onRenewed: (token) => transport.useToken(token),
    onRefused: (error) => {
      stop();
      onRefused(error);
    },
    onUnreachable: () => state("offline"),
  });

  /** The WebSocket cannot reach the broker (blocked on this network): follow over HTTP. */
  const fallBack = () => {
    transport.close();
    transportName = "http";
    transport = openHttpTransport({ url: fallbackUrl, tokens, destinations, offsets, deliver,
                                    onSubscribed: subscribed, onState: state,
                                    onExpired: () => tokens.renewNow() });
  };
  transport = openStompTransport({
    wsUrl, tokens, destinations, replies, headersFor, offsets, deliver,
    onSubscribed: subscribed,
    onState: state,
    onNeverReached: (failures) => {
      if (fallbackUrl && failures >= FALLBACK_AFTER_FAILURES) fallBack();
    },
  });

  // A connection that outlived the network's drop may be dead without knowing it yet: a new
  // one (resuming where the page was) is surer.
  const reconnectNow = () => {
    if (closed || tokens.wake()) return; // waiting to fetch a token again: fetched now
    transport.reopen();
  };
  const wentOffline = () => state("offline");
  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", wentOffline);

  return {
    send: (destination, body) => transport.send(destination, body),
    close: stop,
  };
}
