// The question form shows each choice in its game colour and shape, and previews the question
// as the projector and a phone will show it, with the game's own styles and its own widgets
// for the chosen kind (answer-kinds.js), as the author types.
import { answerWidget, kindHint, questionTiles } from "./answer-kinds.js";
import { h, shapeMark } from "./ui.js";

const form = document.querySelector(".author-form");
const preview = document.querySelector(".question-preview");
const PLACEHOLDER = "Your question";

/** A choice row's input whose name ends in `suffix` (the formset's `choices-0-text`…). */
const field = (row, suffix) => row.querySelector(`input[name$="-${suffix}"]`);

/** The rows the game will show, in order: a row left empty or marked Remove is not saved,
 *  so the shapes and colours go to the filled rows one after another, as in the game. */
function filledRows() {
  return [...form.querySelectorAll(".choice-row")].filter((row) =>
    field(row, "text")?.value.trim() && !field(row, "DELETE")?.checked);
}

/** Put the game's shape, in its colour, in front of every filled row. */
function markRows(filled) {
  for (const row of form.querySelectorAll(".choice-row")) {
    let badge = row.querySelector(".shape-badge");
    if (!badge) {
      badge = h("span", { class: "shape-badge", "aria-hidden": "true" });
      row.prepend(badge);
    }
    const index = filled.indexOf(row);
    badge.className = index < 0 ? "shape-badge" : `shape-badge choice choice-${index}`;
    badge.replaceChildren(index < 0 ? "" : shapeMark(index));
  }
}

/** Before any row is filled, the first two rows' names ("Answer 1", "Option 1"…) stand in,
 *  so that the preview shows the kind's tiles from the start. */
const rowNames = () => [...form.querySelectorAll(".choice-row .row-label")].slice(0, 2)
  .map((label) => label.textContent.trim());

/** The question as the game would send it, from what the form holds now. */
function questionOf(filled) {
  const kind = form.querySelector('[name="kind"]')?.value || "choice";
  const texts = kind === "true_false" ? ["True", "False"]
    : filled.length === 0 ? rowNames()
    : filled.map((row) => field(row, "text").value.trim());
  const right = filled.filter((row) => field(row, "is_correct")?.checked).length;
  return { kind, multiple: kind === "choice" && right > 1,
           choices: texts.map((text, index) => ({ id: index + 1, text })) };
}

function draw() {
  const filled = filledRows();
  markRows(filled);
  const text = form.querySelector('[name="text"]')?.value.trim() || PLACEHOLDER;
  for (const element of preview.querySelectorAll('[data-preview="text"]')) {
    element.textContent = text;
  }
  const question = questionOf(filled);
  preview.querySelector('[data-preview="kind"]').textContent = kindHint(question);
  preview.querySelector('[data-preview="projector-choices"]').replaceChildren(
    ...questionTiles(question));
  preview.querySelector('[data-preview="phone-choices"]').replaceChildren(
    ...answerWidget(question, () => {}));  // a preview sends nothing
}

form.addEventListener("input", draw);
form.addEventListener("change", draw);
draw();
