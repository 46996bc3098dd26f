// The player's screen: big shape-and-colour answer buttons, made for a phone.
import { answerWidget, rightAnswerLine, sentLine, verdictOf } from "./answer-kinds.js";
import { postJSON } from "./api.js";
import { startGamePage } from "./game-page.js";
import {
  fillPodium, h, ordinal, points, questionProgress, rankLine, showImage, showScreen, streakLabel,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const GONE = ["kicked", "left"];
let shownAt = 0; // when this phone showed the open question's answers (performance.now())
const answered = new Set(); // questions this page's answer was accepted for
// Steps that make the open question fit the screen, taken in turn until it does (fitQuestion)
const FIT_STEPS = ["compact", "shapes-only", "short-question"];
const SMALLEST_TILE_PX = 56; // an answer still easy to hit with a thumb
// A phone's own result comes on its replies topic just after the close's frames.
const MY_RESULT_WAIT_MS = 3_000;

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
  $("connection").hidden = true; // not "Live": this page follows the game no more
  showScreen(why);
}

/** POST `url`, then leave this page for the address its reply names under `key`. */
async function postAndGo(url, key) {
  try {
    const reply = await postJSON(url, {}, config.csrf_token);
    page.stop();
    window.location.assign(reply[key]);
  } catch (error) {
    page.status.error(error.detail);
  }
}

$("leave").addEventListener("click", () => {
  if (!window.confirm("Leave this game? You cannot come back as the same player.")) return;
  postAndGo(config.urls.leave, "join_url");
});

/** Whether this page is on its way into the next game (follow). */
let following = false;

/** The host opened the next game (Play again): follow into its lobby as the same player. */
function follow() {
  if (following) return;
  following = true;
  postAndGo(config.urls.follow, "play_url");
}

/** Whether the results hold this player's own line (its `my_result`, or its snapshot's). */
const hasMyLine = (state) => Boolean(state.results?.players.some((p) => p.id === state.me?.id));

let awaitedResult = null; // the question whose result this page waits for
/** A result that never came (the page was away when it was sent, or follows the game over
 *  HTTP, which carries no replies): the snapshot has it. */
function awaitMyResult(questionId) {
  if (awaitedResult === questionId) return;
  awaitedResult = questionId;
  setTimeout(() => {
    const state = page.state();
    if (state?.results?.question_id === questionId && !hasMyLine(state)) page.reload();
  }, MY_RESULT_WAIT_MS);
}

function render(state) {
  if (state.me?.gone) {
    showGone(state.me.gone);
    return;
  }
  if (state.next_game) follow();
  const mine = hasMyLine(state);
  if (state.game.state === "question_closed" && !mine) awaitMyResult(state.results.question_id);
  page.showPhase(state, build, `${hasAnswered(state)}:${Boolean(state.me?.waiting)}:${mine}`);
  fitQuestion();
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
    sentAnswers.save(question.id, body);
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

/** What this player sent for each question, kept for the tab (sessionStorage), so the page
 *  says it back after a reload too. */
const sentAnswers = {
  key: (questionId) => `quiz-sent-${config.game_id}-${questionId}`,
  save(questionId, body) {
    sessionStorage.setItem(this.key(questionId), JSON.stringify(body));
  },
  get(questionId) {
    return JSON.parse(sessionStorage.getItem(this.key(questionId)) ?? "null");
  },
};

/** The open question on one screen, with no scrolling: measured once laid out,
 *  the answers' shapes move beside their texts, then the texts give way to the shapes alone
 *  (the projector shows the texts), then the question to its first lines, until every answer
 *  and Submit are in sight. */
function fitQuestion() {
  const screen = $("question");
  if (screen.hidden) return;
  screen.classList.remove(...FIT_STEPS);
  for (const step of FIT_STEPS) {
    if (fits(screen)) return;
    screen.classList.add(step);
  }
}

/** Nothing of the screen, the answer area or a tile is cut off, and every tile is big enough
 *  to tap (layout boxes alone: the screen's own entrance animation moves it meanwhile). */
function fits(screen) {
  const whole = (element) => element.scrollHeight <= element.clientHeight + 1;
  return whole(screen) && whole($("answer-area"))
    && [...screen.querySelectorAll(".answer-area .choice")].every(
      (tile) => whole(tile) && tile.clientHeight >= SMALLEST_TILE_PX);
}

// measured again whenever the space changes: a turned phone, a picture that has loaded
window.addEventListener("resize", fitQuestion);
$("question-image").addEventListener("load", fitQuestion);

/** "Answer sent", what was sent (when this tab knows it) and that the others are awaited. */
function answerSent(question) {
  const sent = sentAnswers.get(question.id);
  return [h("p", { class: "answer-sent" }, "Answer sent"),
          sent ? h("p", { class: "sent-line" }, ...sentLine(question, sent)) : null,
          h("p", { class: "hint" }, "Waiting for the others…")];
}

/** What a latecomer sees of the question under way (the host's room lets latecomers wait). */
function waitingNote() {
  return [h("p", { class: "answer-sent" }, "You joined during this question"),
          h("p", { class: "hint" }, "You play from the next one.")];
}

const build = {
  question_open(state) {
    const { question } = state;
    $("question-progress").textContent = questionProgress(question);
    $("question-text").textContent = question.text;
    showImage($("question-image"), question.image_url);
    $("answer-area").replaceChildren(h("p", { class: "get-ready" }, "Get ready…"));
    page.afterLeadIn($("countdown"), question, () => {
      $("answer-area").replaceChildren(...(state.me?.waiting ? waitingNote()
        : hasAnswered(state)
          ? answerSent(question)
          : answerWidget(question, (body, controls) => answer(question, body, controls))));
      if (page.offline()) holdAnswers(true);
      fitQuestion();
      shownAt = performance.now();
    });
  },
  question_closed(state) {
    const { question, results, me } = state;
    const mine = results.players.find((p) => p.id === me.id);
    const verdict = me.waiting ? { text: "You're in!", mood: "neutral" }
      : !mine && hasAnswered(state) && question.kind !== "poll"
        ? { text: "Checking…", mood: "neutral" } // its own result is on its way
        : verdictOf(question, mine, hasAnswered(state));
    $("verdict").textContent = verdict.text;
    $("results").dataset.verdict = verdict.mood;
    const bonus = mine?.streak_bonus ?? 0;
    $("points-won").textContent = `+${points((mine?.points ?? 0) + bonus)}`;
    $("streak-bonus").textContent = bonus ? `incl. ${bonus} streak bonus` : "";
    $("streak").textContent = streakLabel(me.streak ?? 0);
    $("correct-answer").replaceChildren(...rightAnswerLine(question, results));
    const sent = question.kind === "type_answer" && sentAnswers.get(question.id);
    $("my-answer").replaceChildren(...(sent ? sentLine(question, sent) : []));
    $("result-score").textContent = `Score: ${points(me.score)}`;
    $("result-rank").textContent = rankLine(me, state.players);
  },
  finished(state) {
    const { me, game, podium } = state;
    fillPodium($("podium"), podium);
    $("celebration").hidden = me.rank !== 1;
    $("my-place").textContent = me.rank
      ? `You finished ${ordinal(me.rank)} of ${game.player_count} with ${points(me.score)}`
      : `You finished with ${points(me.score)}`;
  },
};
