// What every game screen does the same way: config, snapshot, broker, clock, actions.
import { postJSON } from "./api.js";
import { Backoff, RETRY } from "./backoff.js";
import { Countdown, ServerClock } from "./clock.js";
import { openConnection } from "./connection.js";
import { LIVE_TYPES } from "./game-state.js";
import { GameSync } from "./game-sync.js";
import { Router } from "./router.js";
import { showScreen, StatusLine } from "./ui.js";

const LEAD_IN_TICK_MS = 100; // how often the lead-in's bar fills on
// A page without a snapshot of its own (the host's) loads it once the page follows its topics,
// so no frame falls in between; a page that cannot reach the broker by then shows the game
// without it.
const BROKER_WAIT_MS = 2_000;
// A page that came with its snapshot (a player's) has the broker replay every frame it keeps on
// its first subscription (connection.js `replayKept`), and trusts that replay to reach back to
// the snapshot only this long after the page arrived: the broker keeps two minutes of a status
// topic (quiz/live/broker_config.py).
const REPLAY_REACHES_BACK_MS = 60_000;
// The server closes a question once the grace for answers on their way is over
// (QUIZ_ANSWER_GRACE_MS, 1 s by default); ask for the snapshot if no close came soon after.
const AFTER_DEADLINE_MS = 2_500;
// The screen (a section of the page) that shows each state of the game.
const SCREENS = { lobby: "lobby", question_open: "question", question_closed: "results",
                  finished: "finished" };

/** Which phase of the game a state is in: its state, and the question for a question's two. */
const phaseOf = (state) => `${state.game.state}:${state.question?.id ?? ""}`;

/** The snapshot a page came with, its `server_time` moved on by the time since the page's
 *  response arrived, so that the clock takes it as a reading of now. */
function asOfNow(snapshot) {
  const [navigation] = performance.getEntriesByType("navigation");
  const sinceArrival = navigation ? performance.now() - navigation.responseStart : 0;
  return { ...snapshot, server_time: snapshot.server_time + sinceArrival };
}

/**
 * Start a game screen. `render(state, frame)` draws each new state; `onRefused(error)` hears
 * that the server will not let this page follow the game (kicked, not a player), after which
 * the page stops listening. `onOffline(offline)` hears the connection go and come back: while
 * it is gone the page shows the #offline banner and its countdown stops (the deadline is
 * the server's; the countdown resumes from the snapshot that follows the reconnect, or from
 * the frames the broker replayed when it resumed the page's topics).
 * `onTimesUp()` hears the open question's deadline pass on this screen's clock.
 * With presence (`config.presence`, docs/game.md): a player's page announces itself on its
 * status topic, and the host's follows who is connected, handing each event to `onPresence`.
 * A player's page hears its own result of each question on its `config.replies` topic
 * (`my_result`, applied as the frames are), and of a refused answer it sent over the broker,
 * each such frame handed to `onReply`. `reloadOn` names the frames the page takes as a sign
 * to reload its snapshot rather than apply them (GameSync).
 * `onFailure(error)` hears every API call that failed (an ApiError), after the status line
 * showed why: the host's screen tells "the site cannot save" (`cannot_write`) in a banner.
 */
export function startGamePage({ render, onRefused, onOffline = () => {}, onTimesUp = () => {},
                                 onPresence = () => {}, onReply = () => {},
                                 onFailure = () => {}, reloadOn = [] }) {
  const config = JSON.parse(document.getElementById("game-config").textContent);
  const status = new StatusLine(document.getElementById("status"),
                                document.getElementById("connection"));
  const clock = new ServerClock();
  const countdown = new Countdown(clock);
  let phase = null;
  let shown = null;
  let connection = null;
  let offline = false;
  let leadIn = null; // the timer that ends the open question's lead-in
  let leadInBar = null; // the timer that fills its bar
  const banner = document.getElementById("offline");
  const gameElement = document.querySelector(".game");

  let stopped = false;
  const endLeadIn = () => {
    clearTimeout(leadIn);
    clearInterval(leadInBar);
    gameElement.classList.remove("lead-in");
  };
  const stop = () => {
    stopped = true;
    countdown.stop();
    endLeadIn();
    connection?.close();
  };
  const refuse = (error) => {
    stop();
    onRefused(error);
  };
  const failed = (error) => {
    status.error(error.detail);
    onFailure(error);
  };

  const sync = new GameSync({
    snapshotUrl: config.urls.snapshot,
    reloadOn,
    onChange(state, frame) {
      if (frame === null) clock.sync(state.server_time);
      const next = phaseOf(state);
      if (next !== phase) status.clear();
      phase = next;
      render(state, frame);
    },
    onError(error) {
      if (error.refused) {
        refuse(error);
        return;
      }
      failed(error);
      reloadUntilLoaded();
    },
  });

  let retrying = null;
  /** The snapshot, asked for again on the backoff until the site gives it: one round of
   *  retries at a time, however many callers wait for it. */
  function reloadUntilLoaded() {
    retrying ??= (async () => {
      const backoff = new Backoff(RETRY);
      while (!(await sync.reload()) && !stopped) {
        await new Promise((resolve) => setTimeout(resolve, backoff.next()));
      }
      retrying = null;
    })();
    return retrying;
  }

  const router = new Router();
  const receive = (frame, _destination, { replayed }) => {
    clock.hear(frame, { replayed });
    sync.receive(frame);
  };
  Object.values(config.topics).forEach((topic) => router.on(topic, receive));
  const destinations = Object.values(config.topics);
  const headersFor = {};
  if (config.presence?.watch) {
    destinations.push(config.presence.watch);
    router.on(config.presence.watch, onPresence);
  }
  if (config.presence?.announce) headersFor[config.presence.announce] = { presence: "announce" };
  if (config.replies) {
    router.on(config.replies, (frame) => (LIVE_TYPES.has(frame.type) ? sync.receive(frame)
      : onReply(frame)));
  }

  /** POST to the API: its reply, or null after showing why it was refused. */
  async function post(url, body = {}) {
    try {
      const reply = await postJSON(url, body, config.csrf_token);
      status.clear();
      return reply;
    } catch (error) {
      failed(error);
      sync.reload();
      return null;
    }
  }

  /** POST a host action, whose reply is the new snapshot. A refusal because the game is
   *  already where the action would take it (another tab of the host did it first, and this
   *  one had not heard yet) is no error: `alreadyDone(before, now)` tells, on a fresh
   *  snapshot, and the page just shows it. */
  async function act(url, body = {}, alreadyDone = null) {
    const before = sync.state;
    try {
      const snapshot = await postJSON(url, body, config.csrf_token);
      status.clear();
      sync.accept(snapshot);
      return true;
    } catch (error) {
      if (alreadyDone && before && error.refused) {
        await sync.reload();
        if (sync.state && alreadyDone(before, sync.state)) {
          status.clear();
          return true;
        }
      }
      failed(error);
      sync.reload();
      return false;
    }
  }

  /** Count down to the question's deadline, as a number and a shrinking bar; at the deadline
   *  say "Time's up!" (the server still closes the question, after the grace for answers on
   *  their way), and if no close arrives soon after, ask the server. */
  function startCountdown(element, question) {
    const fill = document.getElementById("timer-fill");
    const timesUp = document.getElementById("times-up");
    const limitMs = question.time_limit * 1000;
    timesUp.hidden = true;
    countdown.start(element, question.deadline, () => {
      timesUp.hidden = false;
      onTimesUp();
      setTimeout(() => {
        if (sync.state?.game.state === "question_open") sync.reload();
      }, AFTER_DEADLINE_MS);
    }, (msLeft) => {
      fill.style.transform = `scaleX(${Math.min(1, msLeft / limitMs)})`;
    });
  }

  /** The question's lead-in (docs/game.md, "Timing and points"): until `opened_at` on the
   *  server's clock the screen shows the question alone (class lead-in), under "Question 2
   *  of 6" and a bar that fills until then; then `showAnswers()` puts up the answers and the
   *  countdown starts. A page that opens late skips it. */
  function afterLeadIn(element, question, showAnswers) {
    const begin = () => {
      endLeadIn();
      showAnswers();
      startCountdown(element, question);
    };
    const waitMs = (question.opened_at ?? 0) - clock.now();
    if (waitMs <= 0) {
      begin();
      return;
    }
    gameElement.classList.add("lead-in");
    element.textContent = "";
    leadIn = setTimeout(begin, waitMs);
    const bar = document.getElementById("lead-in-bar");
    const fill = () => {
      const done = Math.min(1, Math.max(0, 1 - (question.opened_at - clock.now()) / waitMs));
      bar.firstElementChild.style.transform = `scaleX(${done})`;
      bar.setAttribute("aria-valuenow", String(Math.round(done * 100)));
    };
    fill();
    leadInBar = setInterval(fill, LEAD_IN_TICK_MS);
  }

  /** Build the screen of the state's phase, once per phase and `variant` (what else changes
   *  how a page draws it), after stopping the last phase's countdown; `build` has a function
   *  per game state. */
  function showPhase(state, build, variant = "") {
    const key = `${phaseOf(state)}:${variant}`;
    if (key === shown) return;
    shown = key;
    countdown.stop();
    endLeadIn();
    build[state.game.state]?.(state);
    showScreen(SCREENS[state.game.state] ?? "loading");
    gameElement.dataset.phase = state.game.state;
  }

  /** "offline" until "live" again ("connecting" in between is still offline); `transport`
   *  "http" when the page fell back to it. */
  function connectionState(state, transport) {
    status.connection(state, transport);
    const nowOffline = state === "offline" || (offline && state !== "live");
    if (nowOffline === offline) return;
    offline = nowOffline;
    banner.hidden = !offline;
    document.body.classList.toggle("is-offline", offline);
    if (offline) countdown.pause();
    onOffline(offline);
  }

  /** Back online: the snapshot, unless the broker replayed every frame missed meanwhile
   *  (`resumed`), then the countdown again if a question is open. Resolves once the page
   *  shows the game as it is (the connection says "Live" only then). */
  const replayKept = Boolean(config.snapshot) && config.history;
  let replayedFromFirst = replayKept;
  async function catchUp({ resumed }) {
    const pageTooOld = replayedFromFirst && performance.now() > REPLAY_REACHES_BACK_MS;
    replayedFromFirst = false;
    if (!resumed || pageTooOld) await reloadUntilLoaded();
    const state = sync.state;
    if (state?.game.state === "question_open" && state.question) {
      startCountdown(document.getElementById("countdown"), state.question);
    }
  }

  // once the caller has this page's functions, which its render uses
  if (config.snapshot) queueMicrotask(() => sync.accept(asOfNow(config.snapshot)));
  setTimeout(() => {
    if (!sync.state) sync.reload();
  }, BROKER_WAIT_MS);
  connection = openConnection({
    wsUrl: config.ws_url,
    fallbackUrl: config.fallback_url,
    tokenUrl: config.urls.token,
    firstToken: config.token,
    destinations,
    replies: config.replies,
    headersFor,
    replayKept,
    router,
    onReady: catchUp,
    onState: connectionState,
    onRefused: refuse,
  });

  /** Send to the broker on the page's connection: true once the broker has it (see
   *  connection.js `send`), false for the caller to POST it instead. */
  const send = (destination, body) => connection.send(destination, body);

  return { config, act, post, send, state: () => sync.state, reload: () => sync.reload(),
           offline: () => offline, showPhase, afterLeadIn, startCountdown, stop, status };
}
