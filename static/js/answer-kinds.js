// What differs by question kind (docs/game.md, "Question kinds"): the phone's answer widget,
// the host's tiles and reveal, the phone's verdict and right answer. The screens call these
// and stay the same for every kind.
import { h, shapeMark } from "./ui.js";

const TYPED_MAX = 100; // characters, as the server takes them

/** The line under the host's question: how this kind is answered. */
export function kindHint(question) {
  return {
    true_false: "True or false?",
    poll: "Poll: no right answer, no points",
    type_answer: "Type the answer on your phone",
    order: "Put these in the right order",
  }[question.kind] ?? (question.multiple ? "Pick all that apply" : "");
}

function choiceTile(tag, text, index) {
  return h(tag, { class: `choice choice-${index}` }, shapeMark(index),
    h("span", { class: "choice-text" }, text));
}

/** The host's tiles while the question is open (an order's items as the phones show them). */
export function questionTiles(question) {
  if (question.kind === "type_answer") {
    return [h("li", { class: "choice choice-prompt" },
      h("span", { class: "choice-text" }, "✎ Type your answer on your phone"))];
  }
  return question.choices.map((choice, index) => choiceTile("li", choice.text, index));
}

/** What no one answer is (other answers typed, another order): grey, with a mark of its own,
 *  not the shape and colour of an answer. */
const OTHER = "other";

/** One reveal row: a tile, whether it was right (null: a poll's, neither: no row is faded)
 *  and, unless `count` is null, a bar of how many. */
function revealRow({ text, index, correct, count = null, most = 1, mark = null }) {
  const verdict = { true: " correct", false: " wrong" }[correct] ?? "";
  const symbol = mark === null ? shapeMark(index)
    : h("span", { class: "other-mark", "aria-hidden": "true" }, mark);
  return h("li", { class: `distribution-row${verdict}` },
    h("span", { class: `choice choice-${index}` },
      symbol, h("span", { class: "choice-text" }, text),
      correct ? h("span", { class: "verdict-mark" }, "✓",
                  h("span", { class: "visually-hidden" }, " correct")) : null),
    count === null ? null : h("span", { class: "bar-track" },
      h("span", { class: `bar choice-${index}`, style: { width: `${(count / most) * 100}%` } })),
    count === null ? null : h("span", { class: "choice-count" }, String(count)));
}

/** Rows whose bars share one scale. */
function rowsOf(rows) {
  const most = Math.max(1, ...rows.map((row) => row.count));
  return rows.map((row) => revealRow({ ...row, most }));
}

const REVEAL = {
  /** The accepted answers and how many typed each, then how many typed something else. */
  type_answer: (question, results) => rowsOf([
    ...results.accepted_answers.map((accepted, index) => ({
      text: accepted.text, index, correct: true, count: results.distribution[accepted.id] ?? 0,
    })),
    { text: "Other answers", index: OTHER, mark: "✎", correct: false,
      count: results.distribution.other ?? 0 },
  ]),
  /** The right order and how many put the items exactly so, then how many did not. */
  order(question, results) {
    const text = new Map(question.choices.map((item) => [item.id, item.text]));
    return rowsOf([
      { text: results.correct_order.map((id) => text.get(id)).join(" → "), index: 3,
        correct: true, count: results.distribution.right },
      { text: "Another order", index: OTHER, mark: "⇅", correct: false,
        count: results.distribution.wrong },
    ]);
  },
};

/** The host's reveal after the close: what was right and how the room answered (a poll:
 *  only how it voted). */
export function revealRows(question, results) {
  if (REVEAL[question.kind]) return REVEAL[question.kind](question, results);
  return rowsOf(question.choices.map((choice, index) => ({
    text: choice.text, index, count: results.distribution[choice.id] ?? 0,
    correct: question.kind === "poll" ? null : results.correct_choice_ids.includes(choice.id),
  })));
}

/** The phone's verdict: a poll has none, only thanks. */
export function verdictOf(question, mine, answered) {
  if (question.kind === "poll") {
    return { text: answered ? "Thanks for voting!" : "No vote", mood: "neutral" };
  }
  if (mine?.correct) return { text: "Correct!", mood: "correct" };
  return { text: answered ? "Wrong" : "No answer", mood: "wrong" };
}

function tag(text, index) {
  return h("span", { class: `answer-tag choice-${index}` }, shapeMark(index), ` ${text}`);
}

/** The phone's line under the verdict: the right answer, as this kind has one. */
export function rightAnswerLine(question, results) {
  if (question.kind === "poll") return ["A poll: no right answer"];
  if (question.kind === "type_answer") {
    return ["Accepted: ", ...results.accepted_answers.map((a, index) => tag(a.text, index))];
  }
  if (question.kind === "order") {
    return ["Right order: ", ...results.correct_order.map((id, place) => {
      const index = question.choices.findIndex((item) => item.id === id);
      return h("span", { class: `answer-tag choice-${index}` },
        `${place + 1}. ${question.choices[index].text}`);
    })];
  }
  const right = question.choices.filter((c) => results.correct_choice_ids.includes(c.id));
  return ["Right answer: ",
          ...right.map((c) => tag(c.text, question.choices.indexOf(c)))];
}

/** What this player sent (`body`, as `answer` posts it), said back to it: "You picked ▲ Paris",
 *  "You typed Paris", "Your order: 1. … 2. …". */
export function sentLine(question, body) {
  if (body.text !== undefined) {
    return ["You typed ", h("span", { class: "typed-text" }, body.text.trim())];
  }
  const place = new Map(question.choices.map((choice, index) => [choice.id, index]));
  if (question.kind === "order") {
    return ["Your order: ", ...body.choice_ids.map((id, at) => h("span",
      { class: `answer-tag choice-${place.get(id)}` },
      `${at + 1}. ${question.choices[place.get(id)].text}`))];
  }
  return ["You picked ", ...body.choice_ids.map(
    (id) => tag(question.choices[place.get(id)].text, place.get(id)))];
}

/** Choice, true/false, poll: a tap sends one; several are picked, then sent, if `multiple`. */
function choiceWidget(question, send) {
  const selected = new Set();
  const submit = h("button", { class: "submit primary", type: "button", disabled: true },
    "Submit answer");
  const buttons = question.choices.map((choice, index) => {
    const button = choiceTile("button", choice.text, index);
    button.type = "button";
    if (question.multiple) {
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => {
        if (selected.has(choice.id)) selected.delete(choice.id);
        else selected.add(choice.id);
        button.setAttribute("aria-pressed", String(selected.has(choice.id)));
        submit.disabled = selected.size === 0;
      });
    } else {
      button.addEventListener("click", () => send({ choice_ids: [choice.id] }, buttons));
    }
    return button;
  });
  submit.addEventListener("click",
    () => send({ choice_ids: [...selected] }, [...buttons, submit]));
  // choices-N: the phone's layout fills the screen with N shapes (quadrants, halves)
  const grid = h("div", { class: `choices answer-grid choices-${buttons.length}` }, buttons);
  if (!question.multiple) return [grid];
  return [h("p", { class: "hint" }, "Pick all that apply, then submit."), grid, submit];
}

/** Type answer: a short text, sent with the button or Enter. */
function typedWidget(question, send) {
  const input = h("input", { type: "text", maxlength: TYPED_MAX, autocomplete: "off",
                             autocapitalize: "off", spellcheck: "false", required: true,
                             "aria-label": "Your answer", placeholder: "Your answer",
                             class: "typed-answer",
                             style: { width: "100%", fontSize: "1.4rem", padding: "0.8rem",
                                      boxSizing: "border-box" } });
  const submit = h("button", { class: "submit primary", type: "submit" }, "Submit answer");
  const form = h("form", { class: "typed-answer-form" }, input, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) send({ text: input.value }, [input, submit]);
  });
  return [form];
}

/** Order: the items as shown (shuffled by the server), moved with ↑ and ↓, then sent. */
function orderWidget(question, send) {
  const items = question.choices.map((item, index) => ({ item, index }));
  const list = h("ol", { class: "choices order-items", "aria-label": "Your order" });
  const submit = h("button", { class: "submit primary", type: "button" }, "Submit order");
  const controls = () => [...list.querySelectorAll("button"), submit];
  const move = (from, to) => {
    if (to < 0 || to >= items.length) return;
    [items[from], items[to]] = [items[to], items[from]];
    draw();
  };
  function draw() {
    list.replaceChildren(...items.map(({ item, index }, place) => h("li",
      { class: `choice choice-${index}`, "data-id": item.id },
      h("span", { class: "shape" }, `${place + 1}.`),
      h("span", { class: "choice-text" }, item.text),
      h("button", { type: "button", class: "move", "aria-label": `Move ${item.text} up`,
                    disabled: place === 0, onclick: () => move(place, place - 1) }, "↑"),
      h("button", { type: "button", class: "move", "aria-label": `Move ${item.text} down`,
                    disabled: place === items.length - 1,
                    onclick: () => move(place, place + 1) }, "↓"))));
  }
  draw();
  submit.addEventListener("click",
    () => send({ choice_ids: items.map(({ item }) => item.id) }, controls()));
  return [h("p", { class: "hint" }, "Put these in the right order, then submit."), list, submit];
}

/**
 * The phone's answer widget for `question`. `send(body, controls)` posts the answer
 * (`{choice_ids}` or `{text}`) and disables `controls` while it is on its way.
 */
export function answerWidget(question, send) {
  const widget = { type_answer: typedWidget, order: orderWidget }[question.kind] ?? choiceWidget;
  return widget(question, send);
}
