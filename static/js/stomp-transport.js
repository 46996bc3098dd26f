// Following the game's topics over STOMP-over-WebSocket (@stomp/stompjs).
import { Client } from "@stomp/stompjs";

import { Backoff, RETRY } from "./backoff.js";

// The page beats every 10 s and asks the broker to beat every 8 s; a link with nothing from
// the broker for SILENT_LINK_MS is taken as gone (a blackhole: no close ever comes), and the
// socket is dropped at once rather than closed politely, which would wait on the dead link.
const HEARTBEAT_OUT_MS = 10_000;
const HEARTBEAT_IN_MS = 8_000;
const SILENT_LINK_MS = 13_000;
// A WebSocket that has not become a STOMP connection by then is dropped and tried again.
const CONNECT_WAIT_MS = 10_000;
const BRIDGE_WAIT_MS = 5_000;
// A SEND whose RECEIPT has not come by then is taken as lost (the page posts it instead).
const RECEIPT_WAIT_MS = 3_000;

/**
 * Follow `destinations` over STOMP-over-WebSocket at `wsUrl`, reconnecting on the jittered
 * backoff until `close()`, with the token `tokens` (a TokenRenewal) holds.
 *
 * After every connect the destinations are subscribed, resuming each from the offset after the
 * last message applied (`offsets`, broker/GUIDE.md "History and resume"), through queues named
 * after the token's `queue_prefix` on RabbitMQ; once the broker confirms them
 * `onSubscribed({resumed})` runs, `resumed` true only when the broker replayed everything this
 * page missed (RabbitMQ never says so). Each message goes to `deliver(message, replayed)`.
 * `headersFor` adds SUBSCRIBE headers per destination; `replies` is one more destination,
 * not resumed (a reply missed while away only leaves the page less told).
 * `useToken(token)` reconnects with a renewed token, make before break: while a second
 * connection follows the topics, so nothing falls in between even without history.
 * `onState` hears "connecting" and "offline"; `onNeverReached(failures)` hears each attempt
 * that ended without ever having reached the broker on this page (blocked on this network?).
 * `send(destination, body)` publishes and resolves true once the broker's RECEIPT says it has
 * the message; false when not connected or no RECEIPT came in time, for the caller to send it
 * another way.
 */
export function openStompTransport({ wsUrl, tokens, destinations, replies = null,
                                     headersFor = {}, offsets, deliver, onSubscribed, onState,
                                     onNeverReached }) {
  const backoff = new Backoff(RETRY);
  let receipts = 0;
  let closed = false;
  let reached = false; // whether this page ever reached the broker
  let failures = 0; // attempts that never did
  let live = false; // subscribed, and not closed since
  let drops = 0; // times the connection ended
  let bridge = null; // follows the topics while a renewal reconnects
  let retry = null; // the timer of the next attempt
  let silence = null; // the timer that gives up on a silent link
  let socket = null; // the WebSocket of the current attempt
  let connectedWith = null; // the token of the current attempt

  const client = new Client({
    webSocketFactory: () => {
      const opened = new WebSocket(wsUrl, client.stompVersions.protocolVersions());
      const heard = () => {
        if (socket !== opened) return;
        clearTimeout(silence);
        silence = setTimeout(() => client.forceDisconnect(), SILENT_LINK_MS);
      };
      opened.addEventListener("open", heard);
      opened.addEventListener("message", heard);
      socket = opened;
      return opened;
    },
    heartbeatIncoming: HEARTBEAT_IN_MS,
    heartbeatOutgoing: HEARTBEAT_OUT_MS,
    connectionTimeout: CONNECT_WAIT_MS,
    discardWebsocketOnCommFailure: true,
    reconnectDelay: 0, // the attempts are ours, on the jittered backoff
  });

  // stompjs gives up for good if this throws, so every failure is handled here.
  client.beforeConnect = async () => {
    if (!reached && failures === 0) onState("connecting"); // then "offline" until live again
    const token = await tokens.fresh();
    if (token === null || closed) {
      await client.deactivate();
      return;
    }
    connectedWith = token;
    client.connectHeaders = { login: token.login, passcode: token.token };
  };
  client.onConnect = () => {
    reached = true;
    backoff.reset();
    subscribe(client, connectedWith.queue_prefix, true, (resumed) => {
      live = true;
      const covered = bridge !== null; // it followed the topics since before this one closed
      bridge?.deactivate();
      bridge = null;
      onSubscribed({ resumed: resumed || covered });
    });
  };
  client.onStompError = (frame) => {
    console.warn("broker error:", frame.headers.message);
    tokens.discard(); // refused or expired, perhaps: connect with a new one
    onState("offline");
  };
  client.onWebSocketClose = () => {
    clearTimeout(silence);
    socket = null;
    live = false;
    drops += 1;
    if (closed || !client.active) return; // closed, or a reconnect of ours
    onState("offline");
    if (!reached) onNeverReached(++failures);
    if (!closed) retry = setTimeout(reconnect, backoff.next());
  };

  /** Start a new attempt now, ending the current connection or wait. The socket is dropped,
   *  not closed politely: on a dead link the close would never come. */
  const reconnect = async () => {
    clearTimeout(retry);
    await client.deactivate({ force: true });
    if (!closed) client.activate();
  };

  /** Subscribe `stomp` to every destination, through queues named `prefix`… on RabbitMQ
   *  (our broker ignores the header); `then(resumed)` runs once the broker confirms them.
   *  With `resume`, a destination whose messages carried offsets asks to resume after the
   *  last one this page applied: the broker replays what was missed before the RECEIPT, which
   *  says `x-stream-resume: resumed`. */
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
      let replaying = last !== undefined; // until its RECEIPT, the messages it missed
      if (last !== undefined) headers["x-stream-offset"] = `offset=${last + 1}`;
      if (last !== undefined || index === destinations.length - 1) {
        headers.receipt = `subscribed-${++receipts}`;
        waiting += 1;
        stomp.watchForReceipt(headers.receipt, (frame) => {
          replaying = false;
          confirmed(frame);
        });
      }
      if (last === undefined) resumed = false;
      stomp.subscribe(destination, (message) => deliver(message, replaying), headers);
    });
    if (replies) {
      stomp.subscribe(replies, (message) => deliver(message, false),
                      { "x-queue-name": `${prefix}${unique}-replies` });
    }
  };

  /** A connection subscribed to the destinations with `token`, which does not reconnect;
   *  null if the broker did not take it within BRIDGE_WAIT_MS, or the page's own connection
   *  dropped before it was subscribed (then it covers nothing). */
  const openBridge = (token) => new Promise((resolve) => {
    const dropsBefore = drops;
    const other = new Client({
      brokerURL: wsUrl,
      connectHeaders: { login: token.login, passcode: token.token },
      heartbeatIncoming: HEARTBEAT_IN_MS,
      heartbeatOutgoing: HEARTBEAT_OUT_MS,
      discardWebsocketOnCommFailure: true,
      reconnectDelay: 0,
    });
    let settled = false;
    const done = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (value === null) other.deactivate();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), BRIDGE_WAIT_MS);
    other.onConnect = () => subscribe(other, token.queue_prefix, false,
                                      () => done(live && drops === dropsBefore ? other : null));
    other.onStompError = () => done(null);
    other.onWebSocketClose = () => {
      if (bridge === other) bridge = null; // it no longer covers the reconnect
      done(null);
    };
    other.activate();
  });

  const send = (destination, body) => new Promise((resolve) => {
    if (!client.connected) {
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
    /** Reconnect with a renewed token: at once, behind a bridge if the page is live now. */
    async useToken(token) {
      if (!live) return; // the next attempt takes it
      const opened = await openBridge(token);
      if (closed) {
        opened?.deactivate();
        return;
      }
      bridge = opened;
      await reconnect();
    },
    reopen: reconnect,
    send,
    close() {
      closed = true;
      clearTimeout(retry);
      clearTimeout(silence);
      bridge?.deactivate();
      return client.deactivate();
    },
  };
}
