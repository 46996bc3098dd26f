import assert from "node:assert/strict";
import { test } from "node:test";

import { openConnection } from "../../static/js/connection.js";
import { fakeBroker, fakeEventSource, fakeFetch, settle } from "./fake-network.mjs";

const STATUS = "/topic/game.42.status";
const LEADERBOARD = "/topic/game.42.leaderboard";
const TOKEN_URL = "/api/games/42/token/";
const HOUR = 3600;

// connection.js listens to the browser's online and offline events on window.
globalThis.window = new EventTarget();

const token = (name, expiresIn = HOUR) => ({ token: name, login: "player:7",
                                              queue_prefix: "q-7-", expires_in: expiresIn });

/** A page's connection on a fake clock, broker and site. `states` lists what it said, with
 *  "@http" on the fallback's "live"; `ready` each onReady, which the test settles with
 *  `caughtUp()` (the snapshot loaded). */
async function openPage(t, { firstToken = token("first"), fallbackUrl = null, up = true } = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_764_000_000_000 });
  const site = fakeFetch(t);
  const broker = fakeBroker(t);
  broker.up = up;
  const http = fakeEventSource(t);
  const states = [];
  const ready = [];
  const delivered = [];
  const catchUps = [];
  const connection = openConnection({
    wsUrl: "ws://broker.test/ws",
    fallbackUrl,
    tokenUrl: TOKEN_URL,
    firstToken,
    destinations: [STATUS, LEADERBOARD],
    router: { dispatch: (destination, body, { replayed }) =>
      delivered.push({ destination, body, replayed }) },
    onReady: (how) => {
      ready.push(how);
      return new Promise((resolve) => catchUps.push(resolve));
    },
    onState: (state, transport) => states.push(transport === "http" ? `${state}@http` : state),
    onRefused: (error) => states.push(`refused:${error.code}`),
  });
  t.after(() => connection.close());
  await settle();
  const page = {
    connection, site, broker, http, states, ready, delivered,
    async caughtUp() {
      catchUps.shift()();
      await settle();
    },
    /** Time goes on by `ms`, a second at a time, the broker beating on every open socket
     *  unless it is silent. */
    async tick(ms) {
      for (let left = ms; left > 0; left -= 1_000) {
        t.mock.timers.tick(Math.min(left, 1_000));
        if (!broker.silent) broker.sockets.forEach((socket) => socket.beat());
        await settle();
      }
    },
    /** The page's last socket. */
    get socket() {
      return broker.sockets.at(-1);
    },
  };
  return page;
}

/** A page that is live on its first connection. */
async function livePage(t, options) {
  const page = await openPage(t, options);
  await page.caughtUp();
  return page;
}

test("the first connect uses the page's token and says Live only once the page caught up",
  async (t) => {
    const page = await openPage(t);
    const [connect] = page.socket.sent("CONNECT");
    assert.deepEqual([connect.headers.passcode, page.ready, page.states],
                     ["first", [{ resumed: false }], ["connecting"]]);
    await page.caughtUp();
    assert.deepEqual(page.states, ["connecting", "live"]);
  });

test("every destination is subscribed, through queues named after the token's prefix",
  async (t) => {
    const page = await livePage(t);
    const subscribes = page.socket.sent("SUBSCRIBE");
    assert.deepEqual(subscribes.map((frame) => frame.headers.destination), [STATUS, LEADERBOARD]);
    assert.ok(subscribes.every((frame) => frame.headers["x-queue-name"].startsWith("q-7-")));
  });

test("a message's JSON body reaches the router", async (t) => {
  const page = await livePage(t);
  page.socket.receive("MESSAGE", { destination: STATUS, subscription: "sub-0",
                                   "message-id": "1", "x-stream-offset": "7" },
                      JSON.stringify({ type: "question_opened", version: 3 }));
  assert.deepEqual(page.delivered, [{ destination: STATUS, replayed: false,
                                      body: { type: "question_opened", version: 3 } }]);
});

/** The page on its second connection, after a message at offset 7 on STATUS and a drop. */
async function backAfterADrop(t, resume) {
  const page = await livePage(t);
  page.socket.receive("MESSAGE", { destination: STATUS, subscription: "sub-0",
                                   "message-id": "1", "x-stream-offset": "7" }, "{}");
  page.broker.resume = resume;
  page.socket.drop();
  await page.tick(2_000); // the longest first wait of the backoff
  return page;
}

test("a reconnect resumes each topic after the last message the page applied", async (t) => {
  const page = await backAfterADrop(t, "resumed");
  const status = page.socket.sent("SUBSCRIBE").find((f) => f.headers.destination === STATUS);
  assert.equal(status.headers["x-stream-offset"], "offset=8");
});

test("a reconnect the broker could not resume says Live only after the snapshot", async (t) => {
  const page = await backAfterADrop(t, "too-old");
  assert.deepEqual([page.ready.at(-1), page.states.at(-1)], [{ resumed: false }, "offline"]);
  await page.caughtUp();
  assert.equal(page.states.at(-1), "live");
});

test("a reconnect reuses the page's token while it is valid, asking the site for none",
  async (t) => {
    const page = await backAfterADrop(t, "resumed");
    assert.deepEqual([page.socket.sent("CONNECT")[0].headers.passcode, page.site.urls],
                     ["first", []]);
  });

test("a drop during the catch-up keeps the page from saying Live when it ends", async (t) => {
  const page = await backAfterADrop(t, "too-old");
  page.broker.up = false;
  page.socket.drop();
  await page.caughtUp();
  assert.equal(page.states.at(-1), "offline");
});

test("a link silent past its heart-beats is dropped and said to be reconnecting", async (t) => {
  const page = await livePage(t);
  const silent = page.socket;
  page.broker.silent = true;
  await page.tick(13_000);
  assert.deepEqual([page.states.at(-1), silent.readyState], ["offline", 3]);
});

test("the waits between tries are jittered and at most 2 s", async (t) => {
  const page = await livePage(t);
  page.broker.up = false;
  page.socket.drop();
  const tries = page.broker.sockets.length;
  await page.tick(2_000 + 2_000 + 2_000);
  assert.ok(page.broker.sockets.length - tries >= 3);
});

test("an ERROR from the broker has the next connect fetch a new token", async (t) => {
  const page = await livePage(t);
  page.socket.receive("ERROR", { message: "token expired" });
  page.socket.drop();
  await page.tick(2_000);
  await page.site.answer(token("second"));
  assert.deepEqual([page.site.urls, page.socket.sent("CONNECT")[0].headers.passcode],
                   [[TOKEN_URL], "second"]);
});

test("a refused token request stops the connection and tells the page", async (t) => {
  const page = await livePage(t);
  page.socket.receive("ERROR", { message: "token revoked" });
  page.socket.drop();
  await page.tick(2_000);
  await page.site.answer({ error: "kicked", detail: "You were removed." }, 403);
  const sockets = page.broker.sockets.length;
  await page.tick(10_000);
  assert.deepEqual([page.states.at(-1), page.broker.sockets.length],
                   ["refused:kicked", sockets]);
});

/** A page that renewed its token while live: the renewal's bridge and the reconnect. */
async function renewedWhileLive(t, resume) {
  const page = await livePage(t, { firstToken: token("first", 60) });
  page.broker.resume = resume;
  await page.tick(50_000); // 10 s before it expires
  await page.site.answer(token("second", 60));
  return page;
}

test("a renewal reconnects with the new token behind a bridge, which it then closes",
  async (t) => {
    const page = await renewedWhileLive(t, "resumed");
    const [main, bridge, again] = page.broker.sockets;
    assert.deepEqual([main.readyState, bridge.readyState, again.readyState,
                      again.sent("CONNECT")[0].headers.passcode], [3, 3, 1, "second"]);
  });

test("a renewal's bridge covers the reconnect: no snapshot even without history",
  async (t) => {
    const page = await renewedWhileLive(t, "too-old");
    assert.deepEqual([page.ready.at(-1), page.states.filter((s) => s !== "live")],
                     [{ resumed: true }, ["connecting"]]);
  });

test("a renewal while the connection is down covers nothing: the snapshot is reloaded",
  async (t) => {
    const page = await livePage(t, { firstToken: token("first", 60) });
    page.broker.up = false;
    page.broker.resume = "too-old";
    page.socket.drop();
    await page.tick(50_000);
    await page.site.answer(token("second", 60));
    page.broker.up = true;
    await page.tick(2_000);
    assert.deepEqual([page.socket.sent("CONNECT")[0].headers.passcode, page.ready.at(-1),
                      page.states.at(-1)], ["second", { resumed: false }, "offline"]);
  });

test("the browser coming online reconnects at once", async (t) => {
  const page = await livePage(t);
  const sockets = page.broker.sockets.length;
  window.dispatchEvent(new Event("online"));
  await settle();
  assert.equal(page.broker.sockets.length, sockets + 1);
});

test("the browser going offline is said at once", async (t) => {
  const page = await livePage(t);
  window.dispatchEvent(new Event("offline"));
  assert.equal(page.states.at(-1), "offline");
});

test("send resolves true once the broker's RECEIPT says it has the message", async (t) => {
  const page = await livePage(t);
  const sent = page.connection.send("/topic/game.42.answers.7", { choice_ids: [1] });
  await settle();
  assert.deepEqual([await sent, page.socket.sent("SEND")[0].body], [true, '{"choice_ids":[1]}']);
});

/** A page whose WebSocket never reached the broker, twice, with a fallback: on HTTP. */
async function onTheFallback(t) {
  const page = await openPage(t, { fallbackUrl: "/sse", up: false });
  await page.tick(2_000);
  return page;
}

test("a page whose WebSocket never reached the broker follows over HTTP with its token",
  async (t) => {
    const page = await onTheFallback(t);
    const urls = page.http.streams.map((stream) => stream.url.searchParams);
    assert.deepEqual(urls.map((q) => [q.get("destination"), q.get("access_token")]),
                     [[STATUS, "first"], [LEADERBOARD, "first"]]);
  });

test("on HTTP, the page says Live (fallback) once every stream is ready and it caught up",
  async (t) => {
    const page = await onTheFallback(t);
    page.http.streams.forEach((stream) => page.http.ready(stream, { resume: null }, 4));
    await settle();
    await page.caughtUp();
    assert.equal(page.states.at(-1), "live@http");
  });

test("on HTTP, send resolves false for the page to POST instead", async (t) => {
  const page = await onTheFallback(t);
  assert.equal(await page.connection.send("/topic/game.42.answers.7", {}), false);
});

test("on HTTP, a refused stream asks for a new token and reopens with it", async (t) => {
  const page = await onTheFallback(t);
  const [stream] = page.http.streams;
  stream.readyState = 2;
  stream.onerror(new Event("error"));
  await page.site.answer(token("second"));
  const reopened = page.http.streams.slice(2).map((s) => s.url.searchParams.get("access_token"));
  assert.deepEqual(reopened, ["second", "second"]);
});

