// Connects @stomp/stompjs to the broker over WebSocket, subscribes, prints one JSON line
// ({"ready": true}) once subscribed, then one with the first message it receives, and exits.
// Usage: node stompjs_client.mjs WS_URL LOGIN PASSCODE DESTINATION
import { Client } from "@stomp/stompjs";
import WebSocket from "ws";

const [url, login, passcode, destination] = process.argv.slice(2);
let received = false;
const client = new Client({
  webSocketFactory: () => new WebSocket(url, ["v12.stomp", "v11.stomp", "v10.stomp"]),
  connectHeaders: { login, passcode },
  heartbeatIncoming: 1000,
  heartbeatOutgoing: 1000,
  reconnectDelay: 0,
});
client.onConnect = (frame) => {
  client.subscribe(destination, (message) => {
    received = true;
    console.log(JSON.stringify({ body: message.body, destination: message.headers.destination,
                                 version: frame.headers.version }));
    client.deactivate().then(() => process.exit(0));
  }, { receipt: "subscribed" });
  client.watchForReceipt("subscribed", () => console.log(JSON.stringify({ ready: true })));
};
client.onStompError = (frame) => {
  console.log(JSON.stringify({ error: frame.headers.message }));
  process.exit(1);
};
client.onWebSocketClose = (event) => {
  if (received) return;
  console.log(JSON.stringify({ error: `websocket closed: ${event.code}` }));
  process.exit(1);
};
client.activate();
