// The question page shows what the chosen kind needs: the right answer of a true/false
// question, or the rows (choices, accepted answers, items to order) of the others.
const kind = document.getElementById("id_kind");
const truth = document.getElementById("id_truth")?.closest("form > div");
const rows = document.querySelector(".choice-fields");

function showWhatTheKindNeeds() {
  const trueFalse = kind.value === "true_false";
  if (truth) truth.hidden = !trueFalse;
  rows.hidden = trueFalse;
  for (const box of rows.querySelectorAll('input[name$="-is_correct"]')) {
    box.closest("label").hidden = !["choice", ""].includes(kind.value);
  }
}

if (kind && rows) {
  kind.addEventListener("change", showWhatTheKindNeeds);
  showWhatTheKindNeeds();
}
