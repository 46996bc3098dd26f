import assert from "node:assert/strict";
import { test } from "node:test";

import { rankLine, streakLabel } from "../../static/js/ui.js";

const ann = { id: 7, nickname: "Ann", score: 1500, rank: 1 };
const bob = { id: 8, nickname: "Bob", score: 1200, rank: 2 };
const cem = { id: 9, nickname: "Cem", score: 1080, rank: 3 };

test("a player below the top says how far behind the next one up it is", () => {
  assert.equal(rankLine(cem, [ann, bob, cem]), "3rd, 120 behind Bob");
});

test("the leader says how far ahead of the runner-up it is", () => {
  assert.equal(rankLine(ann, [ann, bob, cem]), "1st, 300 ahead of Bob");
});

test("a leader tied with another says so", () => {
  assert.equal(rankLine(ann, [ann, { ...bob, score: 1500, rank: 1 }]), "1st, tied with Bob");
});

test("a player whose betters are not all in the ranking it holds gets its rank alone", () => {
  const ninth = { id: 20, nickname: "Ida", score: 100, rank: 9 };
  assert.equal(rankLine(ninth, [ann, bob, cem, ninth]), "9th");
});

test("the streak shows from the second right answer in a row", () => {
  assert.deepEqual([1, 2, 3].map(streakLabel), ["", "🔥 2 in a row", "🔥 3 in a row"]);
});

test("a player outside the top 5 says whom it is behind, as its result told it", () => {
  const me = { id: 30, nickname: "Zed", score: 900, rank: 17,
               behind: { nickname: "Yan", score: 950 } };
  assert.equal(rankLine(me, [{ id: 1, nickname: "Ann", score: 5000, rank: 1 }]),
               "17th, 50 behind Yan");
});
