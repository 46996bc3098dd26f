// What every game screen does the same way: config, snapshot, broker, clock, actions.
import { postJSON } from "./api.js";
import { Countdown, ServerClock } from "./clock.js";
import { openConnection } from "./connection.js";
import { GameSync } from "./game-sync.js";
import { Router } from "./router.js";
import { StatusLine } from "./ui.js";

const SNAPSHOT_RETRY_MS = 3_000;
// The snapshot is loaded once the page follows its topics, so no frame falls in between; a
// page that cannot reach the broker by then shows the game without it.
const BROKER_WAIT_MS = 2_000;
// The server closes a question once the grace for answers on their way is over
// (QUIZ_ANSWER_GRACE_MS, 1 s by default); ask for the snapshot if no close came soon after.
const AFTER_DEADLINE_MS = 2_500;

/**
 * Start a game screen. `render(state, frame)` draws each new state; `onRefused(error)` hears
 * that the server will not let this page follow the game (kicked, not a player), after which
 * the page stops listening.
 */
export function startGamePage({ render, onRefused }) {
  const config = JSON.parse(document.getElementById("game-config").textContent);
  const status = new StatusLine(document.getElementById("status"),
                                document.getElementById("connection"));
  const clock = new ServerClock();
  const countdown = new Countdown(clock);
  let phase = null;
  let connection = null;

  const stop = () => {
    countdown.stop();
    connection?.close();
  };
  const refuse = (error) => {
    stop();
    onRefused(error);
  };

  const sync = new GameSync({
    snapshotUrl: config.urls.snapshot,
    onChange(state, frame) {
      if (frame === null) clock.sync(state.server_time);
      else if (frame.type === "question_open") clock.sync(frame.data.server_time);
      const next = `${state.game.state}:${state.question?.id ?? ""}`;
      if (next !== phase) status.clear();
      phase = next;
      render(state, frame);
    },
    onError(error) {
      if (error.refused) {
        refuse(error);
        return;
      }
      status.error(error.detail);
      setTimeout(() => sync.reload(), SNAPSHOT_RETRY_MS);
    },
  });

  const router = new Router();
  const receive = (frame) => sync.receive(frame);
  Object.values(config.topics).forEach((topic) => router.on(topic, receive));

  /** POST to the API: its reply, or null after showing why it was refused. */
  async function post(url, body = {}) {
    try {
      const reply = await postJSON(url, body, config.csrf_token);
      status.clear();
      return reply;
    } catch (error) {
      status.error(error.detail);
      sync.reload();
      return null;
    }
  }

  /** POST a host action, whose reply is the new snapshot. */
  async function act(url, body = {}) {
    const snapshot = await post(url, body);
    if (snapshot) sync.accept(snapshot);
    return snapshot !== null;
  }

  /** Count down to the question's deadline; if no close arrives soon after, ask the server. */
  function startCountdown(element, question) {
    countdown.start(element, question.deadline, () => {
      setTimeout(() => {
        if (sync.state?.game.state === "question_open") sync.reload();
      }, AFTER_DEADLINE_MS);
    });
  }

  setTimeout(() => {
    if (!sync.state) sync.reload();
  }, BROKER_WAIT_MS);
  connection = openConnection({
    wsUrl: config.ws_url,
    tokenUrl: config.urls.token,
    firstToken: config.token,
    destinations: Object.values(config.topics),
    router,
    onReady: () => sync.reload(),
    onState: (state) => status.connection(state),
    onRefused: refuse,
  });

  return { config, act, post, state: () => sync.state, startCountdown,
           stopCountdown: () => countdown.stop(), stop, status };
}
