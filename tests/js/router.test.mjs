import assert from "node:assert/strict";
import { test } from "node:test";

import { Router } from "../../static/js/router.js";

/** A router with one pattern; returns the destinations its handler was called with. */
function routeOne(pattern, destinations) {
  const seen = [];
  const router = new Router().on(pattern, (_body, destination) => seen.push(destination));
  destinations.forEach((destination) => router.dispatch(destination, "{}"));
  return seen;
}

test("a pattern without a star matches only that exact destination", () => {
  const seen = routeOne("/topic/games.42.status", [
    "/topic/games.42.status", "/topic/games.42.status.x", "/x/topic/games.42.status",
    "/topic/games.42.players",
  ]);
  assert.deepEqual(seen, ["/topic/games.42.status"]);
});

test("a dot in a pattern is a literal dot, not any character", () => {
  assert.deepEqual(routeOne("/topic/games.42.status", ["/topic/gamesX42Xstatus"]), []);
});

test("a star matches one word", () => {
  const seen = routeOne("/topic/games.*.status", [
    "/topic/games.42.status", "/topic/games.abc.status",
  ]);
  assert.deepEqual(seen, ["/topic/games.42.status", "/topic/games.abc.status"]);
});

test("a star does not match across a dot or a slash, nor match an empty word", () => {
  const seen = routeOne("/topic/games.*.status", [
    "/topic/games.42.7.status", "/topic/games.4/2.status", "/topic/games..status",
  ]);
  assert.deepEqual(seen, []);
});

test("a trailing star matches only the last word", () => {
  const seen = routeOne("/topic/games.*", ["/topic/games.42", "/topic/games.42.status"]);
  assert.deepEqual(seen, ["/topic/games.42"]);
});

test("dispatch hands the body and the destination to the handler", () => {
  const calls = [];
  new Router()
    .on("/topic/games.*.status", (body, destination) => calls.push([body, destination]))
    .dispatch("/topic/games.42.status", '{"type":"lobby"}');
  assert.deepEqual(calls, [['{"type":"lobby"}', "/topic/games.42.status"]]);
});

test("dispatch calls every matching handler, in the order they were registered", () => {
  const calls = [];
  new Router()
    .on("/topic/games.42.status", () => calls.push("exact"))
    .on("/topic/games.42.players", () => calls.push("players"))
    .on("/topic/games.*.status", () => calls.push("star"))
    .dispatch("/topic/games.42.status", "{}");
  assert.deepEqual(calls, ["exact", "star"]);
});

test("dispatch says whether any handler took the message", () => {
  const router = new Router().on("/topic/games.*.status", () => {});
  assert.equal(router.dispatch("/topic/games.42.status", "{}"), true);
  assert.equal(router.dispatch("/topic/games.42.players", "{}"), false);
});
