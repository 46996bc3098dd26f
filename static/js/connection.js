// The one STOMP connection of a page: token, heart-beats, reconnect, subscriptions.
import { Client, ReconnectionTimeMode } from "@stomp/stompjs";

import { getJSON } from "./api.js";

const HEARTBEAT_MS = 10_000;
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 15_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connect to the broker and stay connected until `close()`.
 *
 * The first connect uses `firstToken` (the page came with it); before every later one a fresh
 * broker token is fetched from `tokenUrl` (login "token", passcode = the token). After every connect the `destinations` are subscribed, and once the
 * broker confirms the subscriptions `onReady` runs: the page's cue to reload its snapshot, so
 * that nothing published while it was away is missed. Every message body is parsed as JSON and
 * handed to `router`. `onState` hears "connecting", "live" and "offline"; `onRefused` hears an
 * ApiError that makes connecting pointless (kicked, not a player), after which the client stops.
 * The page only reads: this module never publishes.
 */
export function openConnection({ wsUrl, tokenUrl, firstToken, destinations, router, onReady,
                                 onState, onRefused }) {
  let receipts = 0;
  let unusedToken = firstToken;
  const client = new Client({
    brokerURL: wsUrl,
    heartbeatIncoming: HEARTBEAT_MS,
    heartbeatOutgoing: HEARTBEAT_MS,
    reconnectDelay: FIRST_RETRY_MS,
    maxReconnectDelay: LONGEST_RETRY_MS,
    reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
  });

  // stompjs gives up for good if this throws, so every failure is handled here.
  client.beforeConnect = async () => {
    onState("connecting");
    if (unusedToken) {
      client.connectHeaders = { login: "token", passcode: unusedToken };
      unusedToken = null;
      return;
    }
    let retry = FIRST_RETRY_MS;
    while (client.active) {
      try {
        const { token } = await getJSON(tokenUrl);
        client.connectHeaders = { login: "token", passcode: token };
        return;
      } catch (error) {
        if (error.refused) {
          onRefused(error);
          await client.deactivate();
          return;
        }
        onState("offline");
        await sleep(retry);
        retry = Math.min(retry * 2, LONGEST_RETRY_MS);
      }
    }
  };

  client.onConnect = () => {
    const receipt = `subscribed-${++receipts}`;
    client.watchForReceipt(receipt, () => {
      onState("live");
      onReady();
    });
    destinations.forEach((destination, index) => {
      const headers = index === destinations.length - 1 ? { receipt } : {};
      client.subscribe(destination, (message) => deliver(router, message), headers);
    });
  };
  client.onStompError = (frame) => {
    console.warn("broker error:", frame.headers.message);
    onState("offline");
  };
  client.onWebSocketClose = () => {
    if (client.active) onState("offline");
  };

  client.activate();
  return { close: () => client.deactivate() };
}

function deliver(router, message) {
  let body;
  try {
    body = JSON.parse(message.body);
  } catch {
    console.warn("not JSON on", message.headers.destination);
    return;
  }
  router.dispatch(message.headers.destination, body);
}
