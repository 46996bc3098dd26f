// The host's screen: lobby, question, results, podium. Built for a projector.
import { kindHint, questionTiles, revealRows } from "./answer-kinds.js";
import { startGamePage } from "./game-page.js";
import { Sound, TUNES } from "./sound.js";
import { fillPodium, h, ordinal, points, questionProgress, showImage, streakLabel } from "./ui.js";

const $ = (id) => document.getElementById(id);

// segno's inline SVG has a fixed size; a viewBox lets CSS scale the QR code for the room.
const qr = document.querySelector(".qr svg");
if (qr && !qr.hasAttribute("viewBox")) {
  qr.setAttribute("viewBox", `0 0 ${qr.getAttribute("width")} ${qr.getAttribute("height")}`);
}

// While this screen has lost the broker, it asks the site this often whether the site has
// too (the snapshot says, for the "broker down" warning).
const BROKER_CHECK_MS = 3_000;

const sound = new Sound();
let brokerCheck = null;
const page = startGamePage({
  render,
  onRefused(error) {
    page.status.error(error.detail);
  },
  onOffline,
  onTimesUp: () => sound.play(TUNES.timesUp),
  onPresence,
  onFailure(error) {
    if (error.code === "cannot_write") $("write-warning").hidden = false;
  },
  // these frames carry the top of the ranking; the host's screens show every player
  reloadOn: ["question_closed", "leaderboard", "finished"],
});
const { config } = page;

/** page.act, and a host action saved is news that the site can save again. */
async function act(...args) {
  const done = await page.act(...args);
  if (done) $("write-warning").hidden = true;
  return done;
}

/** Run a button's action once at a time. */
function onClick(button, action) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
}

// What each action leaves behind, to tell "someone already did it" from a real refusal.
const finished = (now) => now.game.state === "finished";
const DONE = {
  start: (before, now) => now.game.state !== "lobby",
  close: (before, now) => now.game.state === "question_closed" || finished(now),
  next: (before, now) => now.game.question_index > before.game.question_index || finished(now),
  end: (before, now) => finished(now),
};

onClick($("start"), () => act(config.urls.start, {}, DONE.start));
onClick($("close-now"), () => act(config.urls.close, {}, DONE.close));
onClick($("next"), () => act(config.urls.next, {}, DONE.next));
for (const id of ["end-open", "end"]) {
  onClick($(id), async () => {
    if (window.confirm("End the game now? Scores so far stand.")) {
      await act(config.urls.end, {}, DONE.end);
    }
  });
}

$("sound").addEventListener("click", (event) => {
  const on = sound.toggle();
  event.currentTarget.setAttribute("aria-pressed", String(on));
  event.currentTarget.textContent = on ? "Sound on" : "Sound off";
});

/** Space or → does what the screen's primary button does (Start, Close now, Next). Keys
 *  typed in a field are left to it, and so is space on a focused button or link, which
 *  presses that one (nothing happens twice). */
document.addEventListener("keydown", (event) => {
  if (event.key !== " " && event.key !== "ArrowRight") return;
  if (event.repeat || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest?.("input, textarea, select")) return;
  if (event.key === " " && event.target.closest?.("button, a")) return;
  const primary = document.querySelector(".screen:not([hidden]) [data-primary]");
  if (!primary || primary.disabled) return;
  event.preventDefault();
  primary.click();
});

/** Whether none of `ids` is among the players any more (another tab removed them first). */
const goneAll = (ids) => (before, now) => !now.players.some((p) => ids.includes(p.id));

function kick(player) {
  if (!window.confirm(`Remove ${player.nickname} from the game?`)) return null;
  return act(config.urls.kick.replace("{player_id}", String(player.id)), {},
             goneAll([player.id]));
}

/** A button that removes `player`, for the lists and the top 5 of every screen. */
function removeButton(player) {
  return h("button", { type: "button", class: "remove", "aria-label": `Remove ${player.nickname}`,
                       title: `Remove ${player.nickname}`, onclick: () => kick(player) }, "✕");
}

// The room: the lock on joins, and the options for joins to come.
onClick($("lock"), () => {
  const locked = page.state()?.room?.locked;
  return act(locked ? config.urls.unlock : config.urls.lock, {},
             (before, now) => now.room.locked === !locked);
});

$("room-button").addEventListener("click", () => {
  const room = page.state()?.room;
  if (!room) return;
  $("latecomers-wait").checked = room.latecomers_wait;
  $("generated-nicknames").checked = room.generated_nicknames;
  $("blocked-words").value = room.blocked_words;
  $("room-dialog").returnValue = ""; // Escape keeps the last one: it must not save
  $("room-dialog").showModal();
});

$("room-dialog").addEventListener("close", () => {
  if ($("room-dialog").returnValue !== "save") return;
  act(config.urls.room, {
    latecomers_wait: $("latecomers-wait").checked,
    generated_nicknames: $("generated-nicknames").checked,
    blocked_words: $("blocked-words").value,
  });
});

// The players: find them by name, pick many, remove them at once (a flood of bots).
const picked = new Set();

$("players-button").addEventListener("click", () => {
  picked.clear();
  $("player-filter").value = "";
  fillPlayerList();
  $("players-dialog").showModal();
});
$("players-close").addEventListener("click", () => $("players-dialog").close());
$("player-filter").addEventListener("input", () => fillPlayerList());
$("select-shown").addEventListener("click", () => {
  shownPlayers().forEach((p) => picked.add(p.id));
  fillPlayerList();
});
onClick($("remove-selected"), async () => {
  const ids = [...picked];
  if (!ids.length || !window.confirm(`Remove ${ids.length} players from the game?`)) return;
  if (await act(config.urls.kick_many, { player_ids: ids }, goneAll(ids))) picked.clear();
  fillPlayerList();
});

function shownPlayers() {
  const wanted = $("player-filter").value.trim().toLowerCase();
  return (page.state()?.players ?? [])
    .filter((p) => p.nickname.toLowerCase().includes(wanted));
}

/** The players dialog's list, as the game has them now (it follows every change while open). */
function fillPlayerList() {
  const players = page.state()?.players ?? [];
  for (const id of picked) if (!players.some((p) => p.id === id)) picked.delete(id);
  $("player-list").replaceChildren(...shownPlayers().map((player) => h("li", {},
    h("label", {},
      h("input", { type: "checkbox", checked: picked.has(player.id),
                   onchange: (event) => {
                     if (event.target.checked) picked.add(player.id);
                     else picked.delete(player.id);
                     $("remove-selected").textContent = removeLabel();
                     $("remove-selected").disabled = picked.size === 0;
                   } }),
      ` ${player.nickname}`),
    removeButton(player))));
  $("remove-selected").textContent = removeLabel();
  $("remove-selected").disabled = picked.size === 0;
}

const removeLabel = () => (picked.size ? `Remove selected (${picked.size})` : "Remove selected");

function render(state, frame) {
  // Snapshots and action replies say whether frames can reach the players' screens.
  if ("broker" in state) $("broker-warning").hidden = state.broker !== "down";
  if (state.broker === "down") afterOutage = true;
  // A frame is published once what it says is saved (a snapshot is only read): saving works.
  if (frame) $("write-warning").hidden = true;
  page.showPhase(state, build);
  refresh[state.game.state]?.(state);
  showRoom(state);
  markPresence();
}

/** This screen lost the broker, or has it back. While it is gone, the site is asked every
 *  BROKER_CHECK_MS whether it has lost the broker too; either way the room had an outage,
 *  and once back the screen counts the phones that came back. */
function onOffline(offline) {
  clearInterval(brokerCheck);
  if (!offline) return;
  afterOutage = true;
  connected = null; // until the broker says again who is connected
  markPhonesBack();
  page.reload();
  brokerCheck = setInterval(() => page.reload(), BROKER_CHECK_MS);
}

function showRoom(state) {
  const locked = Boolean(state.room?.locked);
  $("lock").setAttribute("aria-pressed", String(locked));
  $("lock").textContent = locked ? "Locked: unlock" : "Lock joins";
  $("locked-note").hidden = !locked;
  if (state.game.state === "finished" && $("players-dialog").open) $("players-dialog").close();
  if ($("players-dialog").open) fillPlayerList();
}

/** Who is connected right now, by broker user (`player:<id>`), as the broker's presence
 *  says; null until it first says (and always without presence: then no one is marked). */
let connected = null;
/** Whether the room had an outage since the host last moved the game on: then the screen
 *  says how many phones are back before the host invites the next question. */
let afterOutage = false;

function onPresence(event) {
  if (event.event === "snapshot") connected = new Set(event.users);
  else if (event.event === "join") connected?.add(event.user);
  else if (event.event === "leave") connected?.delete(event.user);
  markPresence();
}

/** Mark each player the lobby and the scoreboard show as online or offline: dimmed, with the
 *  word "offline" beside the name (and in a kick button's accessible name), not colour alone. */
function markPresence() {
  markPhonesBack();
  if (connected === null) return;
  for (const element of document.querySelectorAll("[data-player-id]")) {
    const online = connected.has(`player:${element.dataset.playerId}`);
    element.dataset.presence = online ? "online" : "offline";
    element.querySelector(".presence").textContent = online ? "" : "offline";
    if (element.dataset.kick) {
      element.setAttribute("aria-label", `${element.dataset.kick}${online ? "" : " (offline)"}`);
    }
  }
}

/** "N of M phones back", after an outage, once the broker says who is connected. */
function markPhonesBack() {
  const players = page.state()?.players ?? [];
  const line = $("phones-back");
  line.hidden = !afterOutage || connected === null || players.length === 0;
  if (line.hidden) return;
  const back = players.filter((player) => connected.has(`player:${player.id}`)).length;
  line.textContent = `${back} of ${players.length} phones back`;
}

/** A player's name with room for its "offline" mark. */
const nameOf = (player) => [player.nickname, h("span", { class: "presence" })];

/** Each player's rank at the scoreboard before this one, for the arrows of who moved up or
 *  down; kept in sessionStorage, so a reloaded host screen shows the same arrows. */
let ranksBefore = new Map();

function rememberRanks(gameId, questionId, players) {
  const key = `quiz-ranks-${gameId}`;
  const stored = JSON.parse(sessionStorage.getItem(key) ?? "null");
  // the same results again (a reload): the ranks before them are still the ones to compare
  const before = stored?.question_id === questionId ? stored.before : stored?.ranks ?? [];
  const ranks = players.map((p) => [p.id, p.rank]);
  sessionStorage.setItem(key, JSON.stringify({ question_id: questionId, ranks, before }));
  ranksBefore = new Map(before);
}

function movement(player) {
  const before = ranksBefore.get(player.id);
  if (before === undefined || before === player.rank) return h("span", { class: "moved" });
  const up = before > player.rank;
  return h("span", { class: `moved ${up ? "moved-up" : "moved-down"}`,
                     title: up ? "moved up" : "moved down" },
    `${up ? "▲" : "▼"}${Math.abs(before - player.rank)}`);
}

const build = {
  question_open(state) {
    afterOutage = false; // the host moved on
    const { question } = state;
    $("question-progress").textContent = questionProgress(question);
    $("question-text").textContent = question.text;
    $("question-kind").textContent = kindHint(question);
    showImage($("question-image"), question.image_url);
    $("question-choices").replaceChildren();
    page.afterLeadIn($("countdown"), question,
      () => $("question-choices").replaceChildren(...questionTiles(question)));
    sound.play(TUNES.question);
  },
  question_closed(state) {
    const { question, results, game } = state;
    $("results-progress").textContent = questionProgress(question);
    $("results-text").textContent = question.text;
    $("distribution").replaceChildren(...revealRows(question, results));
    rememberRanks(game.id, question.id, results.players);
    const last = game.question_index + 1 >= game.question_count;
    $("next").textContent = last ? "Show podium" : "Next question";
    sound.play(TUNES.reveal);
  },
  finished(state) {
    fillPodium($("podium"), state.podium);
    sound.play(TUNES.podium);
    $("final-table").tBodies[0].replaceChildren(...state.players.map((p) => h("tr", {},
      h("td", {}, ordinal(p.rank)), h("td", {}, p.nickname), h("td", {}, String(p.score)))));
  },
};

/** What the question brought: its points and the streak bonus on top. */
function gained(player) {
  const total = (player.points ?? 0) + (player.streak_bonus ?? 0);
  return total ? `+${total}` : "";
}

const refresh = {
  lobby(state) {
    $("player-count").textContent = String(state.players.length);
    $("lobby-players").replaceChildren(...state.players.map((player) => h("li", {},
      h("button", { class: "chip", type: "button", title: `Kick ${player.nickname}`,
                    "aria-label": `Kick ${player.nickname}`, "data-kick": `Kick ${player.nickname}`,
                    "data-player-id": player.id, onclick: () => kick(player) },
        ...nameOf(player)))));
    $("start").disabled = state.players.length === 0;
    $("lobby-hint").textContent = state.players.length === 0 ? "Waiting for players…" : "";
  },
  question_open(state) {
    $("answer-count").textContent = `${state.answers.count} / ${state.answers.total}`;
  },
  /** The top 5 of those still in: a player the host removes leaves it at once. */
  question_closed(state) {
    const inGame = new Set(state.players.map((p) => p.id));
    const top = state.results.players.filter((p) => inGame.has(p.id)).slice(0, 5);
    const shown = `${state.results.question_id}:${top.map((p) => p.id)}`;
    if ($("top5").dataset.shown === shown) return; // drawn already: its rows animate once
    $("top5").dataset.shown = shown;
    $("top5").replaceChildren(...top.map((p) => h("li", { "data-player-id": p.id },
      h("span", { class: "rank" }, ordinal(p.rank)),
      movement(p),
      h("span", { class: "name" }, ...nameOf(p)),
      h("span", { class: "streak" }, streakLabel(p.streak)),
      h("span", { class: "score" }, points(p.score)),
      h("span", { class: "gained" }, gained(p)),
      removeButton(p))));
  },
};
