import assert from "node:assert/strict";
import { test } from "node:test";

import { kindHint, verdictOf } from "../../static/js/answer-kinds.js";

const question = (kind, multiple = false) => ({ kind, multiple, choices: [] });

test("a poll's verdict thanks the voter and is neither right nor wrong", () => {
  assert.deepEqual(verdictOf(question("poll"), { correct: false }, true),
    { text: "Thanks for voting!", mood: "neutral" });
  assert.deepEqual(verdictOf(question("poll"), undefined, false),
    { text: "No vote", mood: "neutral" });
});

test("every other kind's verdict is right, wrong or no answer", () => {
  for (const kind of ["choice", "true_false", "type_answer", "order"]) {
    assert.equal(verdictOf(question(kind), { correct: true }, true).text, "Correct!");
    assert.equal(verdictOf(question(kind), { correct: false }, true).text, "Wrong");
    assert.equal(verdictOf(question(kind), undefined, false).text, "No answer");
  }
});

test("the host's hint says how each kind is answered", () => {
  assert.deepEqual(
    ["choice", "true_false", "poll", "type_answer", "order"].map((k) => kindHint(question(k))),
    ["", "True or false?", "Poll: no right answer, no points", "Type the answer on your phone",
     "Put these in the right order"]);
  assert.equal(kindHint(question("choice", true)), "Pick all that apply");
});
