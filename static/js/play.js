// The player's screen: big shape-and-colour answer buttons, made for a phone.
import { answerWidget, rightAnswerLine, verdictOf } from "./answer-kinds.js";
import { postJSON } from "./api.js";
import { startGamePage } from "./game-page.js";
import {
  fillPodium, h, ordinal, points, questionProgress, rankLine, showImage, showScreen, streakLabel,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const GONE = ["kicked", "left"];
let shownAt = 0; // when this phone showed the open question's answers (performance.now())
const answered = new Set(); // questions this page's answer was accepted for

const page = startGamePage({
  render,
  onRefused(error) {
    if (GONE.includes(error.code)) showGone(error.code);
    else page.status.error(error.detail);
  },
  onOffline: (offline) => holdAnswers(offline),
  onReply: answerRefused,
});
const { config, post } = page;
// A join answers with this page: its address becomes the play page's, so that a reload shows
// the game again rather than joining once more.
if (window.location.pathname !== config.urls.play) {
  window.history.replaceState(null, "", config.urls.play);
}

/** This player is out of the game: stop following it and say why. */
function showGone(why) {
  page.stop();
  $("leave").hidden = true;
  showScreen(why);
}

$("leave").addEventListener("click", async () => {
  if (!window.confirm("Leave this game? You cannot come back as the same player.")) return;
  try {
    const { join_url: joinUrl } = await postJSON(config.urls.leave, {}, config.csrf_token);
    page.stop();
    window.location.assign(joinUrl);
  } catch (error) {
    page.status.error(error.detail);
  }
});

function render(state) {
  if (state.me?.gone) {
    showGone(state.me.gone);
    return;
  }
  page.showPhase(state, build, String(hasAnswered(state)));
  $("me-score").textContent = points(state.me?.score ?? 0);
  $("leave").hidden = state.game.state === "finished";
}

/** No answering while offline: the controls are disabled, and enabled again as they were. */
function holdAnswers(offline) {
  for (const button of $("answer-area").querySelectorAll("button, input")) {
    if (offline) {
      button.dataset.beforeOffline = String(button.disabled);
      button.disabled = true;
    } else if (button.dataset.beforeOffline !== undefined) {
      button.disabled = button.dataset.beforeOffline === "true";
      delete button.dataset.beforeOffline;
    }
  }
}

function hasAnswered(state) {
  return Boolean(state.me?.answered || (state.question && answered.has(state.question.id)));
}

/** Send the answer (`body`: its choice_ids or text, by the question's kind) with the player's
 *  own reaction time, from the moment this phone showed the answers to the click: the server
 *  scores by it, within what it can check. It goes on the broker connection the page holds
 *  (to this player's answer topic, which only its token may write to) when it can, and is
 *  POSTed otherwise; either way the verdict comes with the question's close. */
async function answer(question, body, controls) {
  const reactionMs = Math.max(0, Math.round(performance.now() - shownAt));
  controls.forEach((c) => { c.disabled = true; });
  const sent = { question_id: question.id, ...body, reaction_ms: reactionMs };
  const reply = (config.answer_topic && await page.send(config.answer_topic, sent))
    || await post(config.urls.answer, sent);
  if (reply) {
    answered.add(question.id);
    if (page.state()) render(page.state());
  } else {
    controls.forEach((c) => { c.disabled = false; });
    if (page.offline()) holdAnswers(true);
  }
}

/** An answer sent over the broker was not recorded: say why, as a refused POST would. One
 *  already recorded (from another tab) stands; any other leaves this question unanswered. */
function answerRefused({ type, data }) {
  if (type !== "answer_refused") return;
  page.status.error(data.detail);
  if (data.error !== "already_answered") answered.delete(data.question_id);
  if (page.state()) render(page.state());
}

const build = {
  question_open(state) {
    const { question } = state;
    $("question-progress").textContent = questionProgress(question);
    $("question-text").textContent = question.text;
    showImage($("question-image"), question.image_url);
    $("answer-area").replaceChildren(h("p", { class: "get-ready" }, "Get ready…"));
    page.afterLeadIn($("countdown"), question, () => {
      $("answer-area").replaceChildren(...(hasAnswered(state)
        ? [h("p", { class: "answer-sent" }, "Answer sent"),
           h("p", { class: "hint" }, "Waiting for the others…")]
        : answerWidget(question, (body, controls) => answer(question, body, controls))));
      if (page.offline()) holdAnswers(true);
      shownAt = performance.now();
    });
  },
  question_closed(state) {
    const { question, results, me } = state;
    const mine = results.players.find((p) => p.id === me.id);
    const verdict = verdictOf(question, mine, hasAnswered(state));
    $("verdict").textContent = verdict.text;
    $("results").dataset.verdict = verdict.mood;
    const bonus = mine?.streak_bonus ?? 0;
    $("points-won").textContent = `+${points((mine?.points ?? 0) + bonus)}`;
    $("streak-bonus").textContent = bonus ? `incl. ${bonus} streak bonus` : "";
    $("streak").textContent = streakLabel(me.streak ?? 0);
    $("correct-answer").replaceChildren(...rightAnswerLine(question, results));
    $("result-score").textContent = `Score: ${points(me.score)}`;
    $("result-rank").textContent = rankLine(me, state.players);
  },
  finished(state) {
    const { me, game, podium } = state;
    fillPodium($("podium"), podium);
    $("my-place").textContent = me.rank
      ? `You finished ${ordinal(me.rank)} of ${game.player_count} with ${points(me.score)}`
      : `You finished with ${points(me.score)}`;
  },
};
