import assert from "node:assert/strict";
import { test } from "node:test";

import { Backoff } from "../../static/js/backoff.js";
import { TokenRenewal } from "../../static/js/token-renewal.js";
import { fakeFetch, settle } from "./fake-network.mjs";

const TOKEN_URL = "/api/games/42/token/";
const token = (name, expiresIn = 60) => ({ token: name, login: "player:7", queue_prefix: "q-",
                                           expires_in: expiresIn });

/** A TokenRenewal on a fake clock and site that came with a token of 60 s; `heard` lists
 *  what it told the page. */
function renewal(t) {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_764_000_000_000 });
  const site = fakeFetch(t);
  const heard = [];
  const tokens = new TokenRenewal({
    tokenUrl: TOKEN_URL,
    firstToken: token("first"),
    onRenewed: (renewed) => heard.push(`renewed:${renewed.token}`),
    onRefused: (error) => heard.push(`refused:${error.code}`),
    onUnreachable: () => heard.push("unreachable"),
    backoff: new Backoff({ firstMs: 1_000, longestMs: 1_000, random: () => 1 }),
  });
  t.after(() => tokens.stop());
  const tick = async (ms) => {
    t.mock.timers.tick(ms);
    await settle();
  };
  return { tokens, site, heard, tick };
}

test("a token is renewed 10 s before it expires and handed on", async (t) => {
  const { tokens, site, heard, tick } = renewal(t);
  await tick(49_999);
  assert.equal(site.waiting, 0);
  await tick(1);
  await site.answer(token("second"));
  assert.deepEqual([heard, tokens.current.token], [["renewed:second"], "second"]);
});

test("a renewal the site does not answer is tried again on the backoff", async (t) => {
  const { site, heard, tick } = renewal(t);
  await tick(50_000);
  await site.fail();
  await tick(1_000);
  await site.answer(token("second"));
  assert.deepEqual(heard, ["unreachable", "renewed:second"]);
});

test("a refused renewal is told to the page and no other is asked for", async (t) => {
  const { site, heard, tick } = renewal(t);
  await tick(50_000);
  await site.answer({ error: "kicked", detail: "You were removed." }, 403);
  await tick(60_000);
  assert.deepEqual([heard, site.urls.length], [["refused:kicked"], 1]);
});

test("the current token is used while it is valid, without asking the site", async (t) => {
  const { tokens, site } = renewal(t);
  assert.deepEqual([(await tokens.fresh()).token, site.urls], ["first", []]);
});

test("a discarded token is replaced by one fetched, again while the site does not answer",
  async (t) => {
    const { tokens, site, tick } = renewal(t);
    tokens.discard();
    const fresh = tokens.fresh();
    await settle();
    await site.fail();
    await tick(1_000);
    await site.answer(token("second"));
    assert.deepEqual([(await fresh).token, site.urls.length], ["second", 2]);
  });

test("waking a wait between fetches fetches at once", async (t) => {
  const { tokens, site } = renewal(t);
  tokens.discard();
  tokens.fresh();
  await settle();
  await site.fail();
  assert.equal(tokens.wake(), true);
  await settle();
  assert.equal(site.waiting, 1);
});
