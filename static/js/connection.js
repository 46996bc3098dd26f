// The one STOMP connection of a page: token, heart-beats, reconnect, subscriptions.
import { Client, ReconnectionTimeMode } from "@stomp/stompjs";

import { getJSON } from "./api.js";

const HEARTBEAT_MS = 10_000;
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 15_000;
// Tokens live an hour on our broker, ten minutes on RabbitMQ (STOMP_TOKEN_TTL_SECONDS); a page
// renews its own this long before it runs out, so the broker never has to end the connection.
const RENEW_BEFORE_EXPIRY_MS = 10_000;
const BRIDGE_WAIT_MS = 5_000;
// WebSocket attempts that fail, none of them ever reaching the broker, before a page that may
// fall back to HTTP does (docs/game.md, "When WebSockets are blocked").
const FALLBACK_AFTER_FAILURES = 2;
// The broker ends each event-stream response within 20 s and the browser comes back at once:
// no response for this long is a lost connection.
const HTTP_SILENCE_MS = 30_000;
// A SEND whose RECEIPT has not come by then is taken as lost (the page posts it instead).
const RECEIPT_WAIT_MS = 3_000;

/**
 * Connect to the broker and stay connected until `close()`.
 *
 * The first connect uses `firstToken` (`{token, login, queue_prefix, expires_in}`, which the
 * page came with); before every later one a fresh broker token is fetched from `tokenUrl`
 * (login = its `login`, the player's own broker user, which a kick closes; passcode = the
 * token; each subscription's RabbitMQ queue named `queue_prefix`…, the only names the token
 * may use there, so a kick finds them too). After every connect the `destinations` are
 * subscribed, and once the broker confirms them `onReady({resumed})` runs: the page's cue to
 * reload its snapshot, so that nothing published while it was away is missed, unless
 * `resumed` says the broker already replayed all it missed (see `subscribe` below). Every
 * message body is parsed as JSON and handed to `router`. `headersFor` adds SUBSCRIBE headers
 * per destination (a player's `presence: announce` on its status topic). `onState` hears
 * "connecting", "live" and "offline"; `onRefused` hears an ApiError that makes connecting
 * pointless (kicked, not a player), after which the client stops.
 * Before the token expires a new one is fetched and the page reconnects with it at once
 * (quietly: no "connecting" state), a second connection following the topics meanwhile so
 * that no snapshot is needed; if the server refuses the new token, `onRefused` hears it.
 * When the browser says it is offline the page hears "offline" at once; when it says it is
 * online again the page reconnects at once, whatever the backoff had reached.
 * With `fallbackUrl` (the broker's /sse, offered when every destination keeps history), a
 * page whose WebSocket fails FALLBACK_AFTER_FAILURES times without ever reaching the broker
 * (blocked on this network; a page that was live and lost it just reconnects) follows the
 * destinations over Server-Sent Events instead (see `followOverHttp`), with the same
 * offsets, resume and tokens, and `onState("live", "http")` says so.
 * `replies` is a destination followed over the WebSocket alone, for the replies to what this
 * page `send`s: nothing to resume there (a reply missed while away only leaves the page less
 * told), and nothing to follow over HTTP, where a page POSTs instead and hears the reply.
 * With `replayKept` (a page that came with its state, all of whose destinations keep
 * history), the first subscription asks for every message the broker keeps
 * (`x-stream-offset: first`, docs/broker.md "History and resume"), so that nothing published
 * since the page was made falls in between; the page drops what it already has.
 * `send(destination, body)` publishes over the live WebSocket and resolves true once the
 * broker's RECEIPT says it has the message; false when there is none to send on (the HTTP
 * fallback, a reconnect under way) or no RECEIPT came in RECEIPT_WAIT_MS, for the caller to
 * send it another way.
 */
export function openConnection({ wsUrl, fallbackUrl = null, tokenUrl, firstToken, destinations,
                                 replies = null, headersFor = {}, replayKept = false, router,
                                 onReady, onState, onRefused }) {
  let receipts = 0;
  const offsets = new Map(); // destination → the offset of the last message applied from it
  let unusedToken = firstToken; // {token, login, queue_prefix, expires_in}: the page came with it
  let fromFirst = replayKept; // until the first subscription: every message kept, replayed
  let queuePrefix = null; // of the token the client connects with
  let renewal = null; // the timer of the next token renewal
  let renewed = null; // a token a renewal fetched, for the reconnect it starts
  let bridge = null; // the connection that follows the topics while a renewal reconnects
  let closed = false;
  let wake = null; // ends the wait before the next token fetch early
  let failures = 0; // WebSocket attempts that never reached the broker
  let reached = false; // whether a WebSocket of this page ever reached the broker
  let overHttp = null; // the HTTP follower, once the page fell back to it
  const sleep = (ms) => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const client = new Client({
    brokerURL: wsUrl,
    heartbeatIncoming: HEARTBEAT_MS,
    heartbeatOutgoing: HEARTBEAT_MS,
    reconnectDelay: FIRST_RETRY_MS,
    maxReconnectDelay: LONGEST_RETRY_MS,
    reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
  });

  const useToken = ({ token, login, queue_prefix: prefix, expires_in: expiresIn }) => {
    client.connectHeaders = { login, passcode: token };
    overHttp?.useToken(token);
    queuePrefix = prefix;
    clearTimeout(renewal);
    const lifetimeMs = expiresIn * 1000;
    renewal = setTimeout(renew, Math.max(lifetimeMs - RENEW_BEFORE_EXPIRY_MS, lifetimeMs / 2));
  };

  // A network failure leaves the connection as it is: when the broker ends it with the
  // token, the reconnect below keeps trying.
  const renew = async () => {
    try {
      renewed = await getJSON(tokenUrl);
    } catch (error) {
      if (error.refused) {
        onRefused(error);
        await client.deactivate();
      }
      return;
    }
    if (closed) return;
    if (overHttp) {
      useToken(renewed);
      renewed = null;
      return;
    }
    // Make before break: a second connection with the new token follows the topics while this
    // one reconnects with it, so no frame falls in between and no snapshot is needed. Frames
    // both deliver are dropped by version (live ones apply twice to the same effect).
    bridge = await openBridge(renewed);
    if (closed) {
      bridge?.deactivate();
      return;
    }
    await client.deactivate();
    client.activate();
  };

  /** A connection subscribed to the destinations with a token (null if the broker does not
   *  take it within BRIDGE_WAIT_MS); it does not reconnect. */
  const openBridge = ({ token, login, queue_prefix: prefix }) => new Promise((resolve) => {
    const other = new Client({
      brokerURL: wsUrl,
      connectHeaders: { login, passcode: token },
      heartbeatIncoming: HEARTBEAT_MS,
      heartbeatOutgoing: HEARTBEAT_MS,
      reconnectDelay: 0,
    });
    const done = (value) => {
      clearTimeout(timer);
      if (value === null) other.deactivate();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), BRIDGE_WAIT_MS);
    other.onConnect = () => subscribe(other, prefix, false, () => done(other));
    other.onStompError = () => done(null);
    other.onWebSocketClose = () => done(null);
    other.activate();
  });

  /** Subscribe `stomp` to every destination, through queues named `prefix`… on RabbitMQ
   *  (our broker ignores the header); `then(resumed)` runs once the broker confirms them.
   *  With `resume`, a destination whose messages carried offsets asks to resume after the
   *  last one this page applied (docs/broker.md, "History and resume"): the broker replays
   *  what was missed before the RECEIPT, which says `x-stream-resume: resumed`; one with no
   *  offset yet asks for all the broker keeps while `fromFirst`. `resumed` is true only when
   *  every destination was resumed so; RabbitMQ never says so. */
  const subscribe = (stomp, prefix, resume, then) => {
    const unique = Math.random().toString(36).slice(2);
    let waiting = 0;
    let resumed = true;
    const confirmed = (frame) => {
      if (frame.headers["x-stream-resume"] !== "resumed") resumed = false;
      if (--waiting === 0) then(resumed);
    };
    destinations.forEach((destination, index) => {
      const headers = { ...headersFor[destination],
                        "x-queue-name": `${prefix}${unique}-${index}` };
      const last = resume ? offsets.get(destination) : undefined;
      let from = null; // where the broker is asked to start: after the last message applied
      if (last !== undefined) from = `offset=${last + 1}`;
      else if (resume && fromFirst) from = "first";
      let replaying = Boolean(from); // until its RECEIPT, the messages it missed
      if (from) headers["x-stream-offset"] = from;
      if (from || index === destinations.length - 1) {
        headers.receipt = `subscribed-${++receipts}`;
        waiting += 1;
        stomp.watchForReceipt(headers.receipt, (frame) => {
          replaying = false;
          confirmed(frame);
        });
      }
      if (!from) resumed = false;
      stomp.subscribe(destination,
                      (message) => deliver(router, offsets, message, replaying), headers);
    });
    if (replies) {
      stomp.subscribe(replies, (message) => deliver(router, offsets, message, false),
                      { "x-queue-name": `${prefix}${unique}-replies` });
    }
  };

  // stompjs gives up for good if this throws, so every failure is handled here.
  client.beforeConnect = async () => {
    if (renewed) {
      useToken(renewed);
      renewed = null;
      return;
    }
    onState("connecting");
    if (unusedToken) {
      useToken(unusedToken);
      unusedToken = null;
      return;
    }
    let retry = FIRST_RETRY_MS;
    while (client.active) {
      try {
        useToken(await getJSON(tokenUrl));
        return;
      } catch (error) {
        if (error.refused) {
          onRefused(error);
          await client.deactivate();
          return;
        }
        onState("offline");
        await sleep(retry);
        wake = null;
        retry = Math.min(retry * 2, LONGEST_RETRY_MS);
      }
    }
  };

  client.onConnect = () => {
    reached = true;
    subscribe(client, queuePrefix, true, whenSubscribed);
    fromFirst = false;
  };
  const whenSubscribed = (resumed) => {
    onState("live");
    if (bridge) {
      bridge.deactivate(); // it covered the reconnect: nothing was missed
      bridge = null;
    } else {
      onReady({ resumed });
    }
  };
  client.onStompError = (frame) => {
    console.warn("broker error:", frame.headers.message);
    onState("offline");
  };
  client.onWebSocketClose = () => {
    if (!client.active) return;
    onState("offline");
    if (!reached && fallbackUrl && ++failures >= FALLBACK_AFTER_FAILURES) fallBack();
  };

  /** The WebSocket cannot reach the broker (blocked on this network): follow over HTTP. */
  const fallBack = () => {
    client.deactivate();
    overHttp = followOverHttp({
      url: fallbackUrl,
      token: client.connectHeaders.passcode,
      destinations,
      offsets,
      router,
      onReady,
      onState,
      onExpired: renew,
    });
  };

  // A connection that outlived the network's drop may be dead without knowing it yet (the
  // heart-beats would tell in 10–20 s): a new one, and the snapshot with it, is surer.
  const reconnectNow = async () => {
    if (closed) return;
    if (wake) {
      wake(); // waiting to fetch a token again: fetch it now
      return;
    }
    if (overHttp) {
      overHttp.reopen();
      return;
    }
    await client.deactivate(); // waiting for stompjs's next try, or on an old socket: now
    if (!closed) client.activate();
  };
  const wentOffline = () => onState("offline");
  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", wentOffline);

  const send = (destination, body) => new Promise((resolve) => {
    if (overHttp || !client.connected) {
      resolve(false);
      return;
    }
    const receipt = `sent-${++receipts}`;
    const timer = setTimeout(() => resolve(false), RECEIPT_WAIT_MS);
    client.watchForReceipt(receipt, () => {
      clearTimeout(timer);
      resolve(true);
    });
    client.publish({
      destination,
      body: JSON.stringify(body),
      headers: { receipt, persistent: "true", "content-type": "application/json" },
    });
  });

  client.activate();
  return {
    send,
    close: () => {
      closed = true;
      clearTimeout(renewal);
      bridge?.deactivate();
      overHttp?.close();
      window.removeEventListener("online", reconnectNow);
      window.removeEventListener("offline", wentOffline);
      return client.deactivate();
    },
  };
}

/**
 * Follow `destinations` (each must keep history) over Server-Sent Events from the broker's
 * /sse (docs/broker.md, "HTTP subscribers"), one EventSource each: the same messages, each
 * event's id its offset. The first response says where each topic stands (a `ready` event),
 * or resumes after the offset this page applied last; the browser then reconnects by itself
 * after each response with Last-Event-ID, which resumes without a gap. `onReady({resumed})`
 * runs once every destination is ready, and again if the broker says a resume was too old.
 * A refused request (an expired token) asks for a new token with `onExpired()`, and
 * `useToken` reopens every stream with it where it was (or they reopen after
 * LONGEST_RETRY_MS if none comes).
 */
function followOverHttp({ url, token, destinations, offsets, router, onReady, onState,
                          onExpired }) {
  let sources = [];
  let silence = null;
  let retry = null; // reopens after a refusal, if no new token reopened first
  let current = token;
  const open = (quiet) => {
    clearTimeout(retry);
    sources.forEach((source) => source.close());
    let waiting = destinations.length;
    let resumed = true;
    sources = destinations.map((destination) => {
      const query = new URLSearchParams({ destination, access_token: current });
      if (offsets.has(destination)) query.set("offset", String(offsets.get(destination) + 1));
      const source = new EventSource(`${url}?${query}`);
      let first = true;
      // The messages kept while this page was away: those before `ready` when it resumes,
      // and those of the first response after the broker was out of reach.
      let replaying = offsets.has(destination);
      source.onmessage = (event) => deliver(router, offsets, {
        headers: { destination, "x-stream-offset": event.lastEventId },
        body: event.data,
      }, replaying);
      source.addEventListener("ready", (event) => {
        replaying = false;
        const { resume } = JSON.parse(event.data);
        offsets.set(destination, Number.parseInt(event.lastEventId, 10));
        if (!first) {
          onReady({ resumed: false }); // a reconnect the broker's history no longer covers
          return;
        }
        first = false;
        if (resume !== "resumed") resumed = false;
        if (--waiting === 0) {
          onState("live", "http");
          if (!quiet || !resumed) onReady({ resumed });
        }
      });
      let answered = false; // whether a response came since the last error
      source.onopen = () => {
        answered = true;
        clearTimeout(silence);
        if (!first) onState("live", "http");
      };
      source.onerror = () => {
        clearTimeout(silence);
        if (source.readyState === EventSource.CLOSED) {
          onState("offline");
          onExpired();
          clearTimeout(retry);
          retry = setTimeout(() => open(false), LONGEST_RETRY_MS);
          return;
        }
        // A response that ended is the browser's cue to ask again; no response at all is
        // the broker out of reach.
        if (answered) silence = setTimeout(() => onState("offline"), HTTP_SILENCE_MS);
        else onState("offline");
        replaying = !answered;
        answered = false;
      };
      return source;
    });
  };
  onState("connecting");
  open(false);
  return {
    useToken: (next) => {
      current = next;
      open(true);
    },
    reopen: () => open(true),
    close: () => {
      clearTimeout(silence);
      clearTimeout(retry);
      sources.forEach((source) => source.close());
    },
  };
}

/** Hand a message's JSON body to the router (`replayed`: from the broker's history, on a
 *  resume), and remember its offset (if the broker keeps history for its destination) once it
 *  has been applied. */
function deliver(router, offsets, message, replayed) {
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
}
