import assert from "node:assert/strict";
import { test } from "node:test";

import { Router } from "../../static/js/router.js";

/** A router with one destination; returns the destinations its handler was called with. */
function routeOne(registered, destinations) {
  const seen = [];
  const router = new Router().on(registered, (_body, destination) => seen.push(destination));
  destinations.forEach((destination) => router.dispatch(destination, "{}"));
  return seen;
}

test("a handler hears only the exact destination it was registered for", () => {
  const seen = routeOne("/topic/games.42.status", [
    "/topic/games.42.status", "/topic/games.42.status.x", "/x/topic/games.42.status",
    "/topic/games.42.players", "/topic/gamesX42Xstatus",
  ]);
  assert.deepEqual(seen, ["/topic/games.42.status"]);
});

test("a star in a destination is no wildcard", () => {
  assert.deepEqual(routeOne("/topic/games.*.status", ["/topic/games.42.status"]), []);
});

test("dispatch hands the body and the destination to the handler", () => {
  const calls = [];
  new Router()
    .on("/topic/games.42.status", (body, destination) => calls.push([body, destination]))
    .dispatch("/topic/games.42.status", '{"type":"lobby"}');
  assert.deepEqual(calls, [['{"type":"lobby"}', "/topic/games.42.status"]]);
});

test("dispatch calls every handler of the destination, in the order they were registered", () => {
  const calls = [];
  new Router()
    .on("/topic/games.42.status", () => calls.push("first"))
    .on("/topic/games.42.players", () => calls.push("players"))
    .on("/topic/games.42.status", () => calls.push("second"))
    .dispatch("/topic/games.42.status", "{}");
  assert.deepEqual(calls, ["first", "second"]);
});


test("dispatch tells the handler whether the broker replayed the message from its history", () => {
  const heard = [];
  const router = new Router().on("/topic/games.42.status",
                                 (_body, _destination, { replayed }) => heard.push(replayed));
  router.dispatch("/topic/games.42.status", "{}", { replayed: true });
  router.dispatch("/topic/games.42.status", "{}");
  assert.deepEqual(heard, [true, false]);
});
