import assert from "node:assert/strict";
import { test } from "node:test";

import { Backoff } from "../../static/js/backoff.js";

const waits = (backoff, count) => Array.from({ length: count }, () => backoff.next());

test("waits double up to the longest, each between half and all of its ceiling", () => {
  const low = new Backoff({ firstMs: 500, longestMs: 2_000, random: () => 0 });
  const high = new Backoff({ firstMs: 500, longestMs: 2_000, random: () => 1 });
  assert.deepEqual([waits(low, 4), waits(high, 4)],
                   [[250, 500, 1_000, 1_000], [500, 1_000, 2_000, 2_000]]);
});

test("two pages that lost the broker together wait different times", () => {
  const draws = [0.1, 0.9];
  const [one, two] = draws.map((draw) => new Backoff({ firstMs: 500, longestMs: 2_000,
                                                       random: () => draw }));
  assert.notEqual(one.next(), two.next());
});

test("after a reset the waits start from the first again", () => {
  const backoff = new Backoff({ firstMs: 500, longestMs: 2_000, random: () => 1 });
  waits(backoff, 3);
  backoff.reset();
  assert.equal(backoff.next(), 500);
});
