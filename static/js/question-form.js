// The question page shows what the chosen kind uses, named as the kind names it: the right
// answer of a true/false question, or the rows of the others under the kind's own labels,
// with a Correct mark where the author marks one, and the points where the kind scores.
// What each kind shows comes with the page (quiz/game/forms.py, kinds_on_the_question_page).
const form = document.querySelector(".author-form");
const kinds = JSON.parse(document.getElementById("question-kinds").textContent);
const kindField = form.querySelector('[name="kind"]');
const rows = form.querySelector(".choice-fields");

function showWhatTheKindUses() {
  const kind = kinds[kindField.value] ?? kinds.choice;
  form.querySelector('[data-shown-for="truth"]').hidden = kind.rows;
  form.querySelector('[data-shown-for="points"]').hidden = !kind.scored;
  rows.hidden = !kind.rows;
  rows.querySelector("legend").textContent = kind.legend;
  rows.querySelector("#rows-hint").textContent = kind.hint;
  rows.querySelectorAll(".row-label").forEach((label, index) => {
    label.textContent = kind.labels[index];
  });
  for (const mark of rows.querySelectorAll(".correct-mark")) mark.hidden = !kind.marks_correct;
}

kindField.addEventListener("change", showWhatTheKindUses);
showWhatTheKindUses();
