import assert from "node:assert/strict";
import { test } from "node:test";

import { applyFrame } from "../../static/js/game-state.js";

const ann = { id: 7, nickname: "Ann", score: 0, rank: 1 };
const bob = { id: 8, nickname: "Bob", score: 0, rank: 1 };

const question = {
  id: 5, index: 0, count: 3, text: "2 + 2?", image_url: null,
  choices: [{ id: 11, text: "4" }, { id: 12, text: "5" }], multiple: false,
  time_limit: 20, points: 1000, opened_at: 1764000000000, deadline: 1764000020000,
};

function game(state, questionIndex = 0, playerCount = 2) {
  return { id: 42, pin: "123456", state, question_index: questionIndex, question_count: 3,
           player_count: playerCount };
}

/** A player's snapshot in the lobby at version 3, with Ann (this page's player) and Bob. */
function lobbySnapshot(overrides = {}) {
  return {
    version: 3, server_time: 1764000000000, game: game("lobby"),
    players: [ann, bob], question: null, answers: { count: 0, total: 2 },
    results: null, podium: null,
    me: { ...ann, answered: false },
    ...overrides,
  };
}

function openSnapshot(overrides = {}) {
  return lobbySnapshot({ version: 4, game: game("question_open"), question, ...overrides });
}

function deepFreeze(value) {
  if (value && typeof value === "object") {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

test("every frame moves the state to the frame's version", () => {
  const next = applyFrame(lobbySnapshot(), { type: "leaderboard", version: 4,
                                             data: { players: [ann, bob] } });
  assert.equal(next.version, 4);
});

test("applyFrame leaves the state it was given untouched", () => {
  const state = deepFreeze(openSnapshot());
  const before = structuredClone(state);
  applyFrame(state, { type: "player_kicked", version: 5,
                      data: { player: { ...ann, rank: null }, count: 1 } });
  assert.deepEqual(state, before);
});

test("lobby sets the game and clears the question, results and podium", () => {
  const state = lobbySnapshot({
    game: game("finished", 2), question, podium: [ann],
    results: { question_id: 5, correct_choice_ids: [11], distribution: {}, players: [] },
  });
  const next = applyFrame(state, { type: "lobby", version: 4, data: { game: game("lobby") } });
  assert.deepEqual(
    [next.game, next.question, next.results, next.podium], [game("lobby"), null, null, null]);
});

test("question_open shows the question and clears the last results", () => {
  const state = lobbySnapshot({
    results: { question_id: 4, correct_choice_ids: [9], distribution: {}, players: [] },
  });
  const next = applyFrame(state, { type: "question_open", version: 4,
                                   data: { game: game("question_open"), question,
                                           server_time: 1764000000000 } });
  assert.deepEqual([next.game, next.question, next.results],
                   [game("question_open"), question, null]);
});

test("question_open counts no answers yet out of every player", () => {
  const state = lobbySnapshot({ answers: { count: 2, total: 2 } });
  const next = applyFrame(state, { type: "question_open", version: 4,
                                   data: { game: game("question_open"), question } });
  assert.deepEqual(next.answers, { count: 0, total: 2 });
});

test("question_open marks this page's player as not having answered", () => {
  const state = lobbySnapshot({ me: { ...ann, answered: true } });
  const next = applyFrame(state, { type: "question_open", version: 4,
                                   data: { game: game("question_open"), question } });
  assert.equal(next.me.answered, false);
});

test("question_open on the host's page leaves me null", () => {
  const state = lobbySnapshot({ me: null });
  const next = applyFrame(state, { type: "question_open", version: 4,
                                   data: { game: game("question_open"), question } });
  assert.equal(next.me, null);
});

test("question_closed shows the results and ranks the players by them", () => {
  const results = {
    question_id: 5, correct_choice_ids: [11], distribution: { 11: 1, 12: 1 },
    players: [
      { id: 8, nickname: "Bob", score: 950, rank: 1, correct: true, points: 950 },
      { id: 7, nickname: "Ann", score: 0, rank: 2, correct: false, points: 0 },
    ],
  };
  const next = applyFrame(openSnapshot(), { type: "question_closed", version: 5,
                                            data: { game: game("question_closed"), results } });
  assert.deepEqual([next.game, next.results, next.players], [
    game("question_closed"), results,
    [{ id: 8, nickname: "Bob", score: 950, rank: 1 }, { id: 7, nickname: "Ann", score: 0, rank: 2 }],
  ]);
});

test("question_closed brings this page's player's score and rank up to date", () => {
  const results = {
    question_id: 5, correct_choice_ids: [11], distribution: { 11: 1 },
    players: [{ id: 7, nickname: "Ann", score: 950, rank: 1, correct: true, points: 950 },
              { id: 8, nickname: "Bob", score: 0, rank: 2, correct: false, points: 0 }],
  };
  const state = openSnapshot({ me: { ...ann, rank: 2, answered: true } });
  const next = applyFrame(state, { type: "question_closed", version: 5,
                                   data: { game: game("question_closed"), results } });
  assert.deepEqual(next.me, { id: 7, nickname: "Ann", score: 950, rank: 1, answered: true });
});

test("leaderboard replaces the players and updates this page's player's rank", () => {
  const players = [{ ...bob, score: 1900, rank: 1 }, { ...ann, score: 950, rank: 2 }];
  const next = applyFrame(openSnapshot(), { type: "leaderboard", version: 6, data: { players } });
  assert.deepEqual([next.players, next.me.score, next.me.rank], [players, 950, 2]);
});

test("finished sets the game, the podium and the final players", () => {
  const players = [{ ...ann, score: 2000, rank: 1 }, { ...bob, score: 900, rank: 2 }];
  const next = applyFrame(openSnapshot(), {
    type: "finished", version: 9,
    data: { game: game("finished", 2), podium: players, players },
  });
  assert.deepEqual([next.game, next.podium, next.players, next.me.rank],
                   [game("finished", 2), players, players, 1]);
});

test("player_joined adds the player and sets the answer total to the new count", () => {
  const cem = { id: 9, nickname: "Cem", score: 0, rank: 3 };
  const next = applyFrame(openSnapshot(), { type: "player_joined", version: 5,
                                            data: { player: cem, count: 3 } });
  assert.deepEqual([next.players.map((p) => p.id), next.answers.total], [[7, 8, 9], 3]);
});

test("player_joined for a player already listed does not list them twice", () => {
  const next = applyFrame(lobbySnapshot(), {
    type: "player_joined", version: 4, data: { player: bob, count: 2 },
  });
  assert.deepEqual(next.players.map((p) => p.id), [7, 8]);
});

test("player_left removes the player and lowers the answer total", () => {
  const state = openSnapshot({ answers: { count: 1, total: 2 } });
  const next = applyFrame(state, { type: "player_left", version: 5,
                                   data: { player: bob, count: 1 } });
  assert.deepEqual([next.players.map((p) => p.id), next.answers], [[7], { count: 1, total: 1 }]);
});

test("player_left of another player leaves this page's player as they were", () => {
  const state = lobbySnapshot();
  const next = applyFrame(state, { type: "player_left", version: 4,
                                   data: { player: bob, count: 1 } });
  assert.deepEqual(next.me, state.me);
});

test("player_left of this page's own player marks them gone because they left", () => {
  const next = applyFrame(lobbySnapshot(), { type: "player_left", version: 4,
                                             data: { player: ann, count: 1 } });
  assert.equal(next.me.gone, "left");
});

test("player_kicked of this page's own player marks them gone because they were kicked", () => {
  const next = applyFrame(lobbySnapshot(), { type: "player_kicked", version: 4,
                                             data: { player: { ...ann, rank: null }, count: 1 } });
  assert.deepEqual([next.me.gone, next.players.map((p) => p.id)], ["kicked", [8]]);
});

test("answer_count for the open question updates the count and the total", () => {
  const next = applyFrame(openSnapshot(), {
    type: "answer_count", version: 5, data: { question_id: 5, count: 1, total: 2 },
  });
  assert.deepEqual(next.answers, { count: 1, total: 2 });
});

test("answer_count for another question changes nothing", () => {
  const state = openSnapshot();
  const next = applyFrame(state, {
    type: "answer_count", version: 4, data: { question_id: 4, count: 1, total: 2 },
  });
  assert.deepEqual(next, state);
});

test("live frames never move the version on", () => {
  const state = openSnapshot();
  const counted = applyFrame(state, {
    type: "answer_count", version: 4, data: { question_id: 5, count: 1, total: 2 },
  });
  const joined = applyFrame(state, {
    type: "player_joined", version: 4, data: { player: { ...bob, id: 9 }, count: 3 },
  });
  assert.deepEqual([counted.version, joined.version], [4, 4]);
});

test("player_joined twice lists the player once and counts the players", () => {
  const carl = { id: 9, nickname: "Carl", score: 0, rank: 1 };
  const once = applyFrame(lobbySnapshot(), {
    type: "player_joined", version: 3, data: { player: carl, count: 3 },
  });
  const twice = applyFrame(once, { type: "player_joined", version: 3, data: { player: carl, count: 3 } });
  assert.deepEqual([twice.players.map((p) => p.id), twice.game.player_count], [[7, 8, 9], 3]);
});

test("an unknown frame type changes nothing but the version", () => {
  const state = openSnapshot();
  const next = applyFrame(state, { type: "confetti", version: 5, data: { colour: "red" } });
  assert.deepEqual(next, { ...state, version: 5 });
});

test("question_closed brings this page's player's streak up to date, not the question's points", () => {
  const results = {
    question_id: 5, correct_choice_ids: [11], distribution: { 11: 1 },
    players: [{ id: 7, nickname: "Ann", score: 1050, rank: 1, streak: 2, correct: true,
                points: 950, streak_bonus: 100 }],
  };
  const state = openSnapshot({ me: { ...ann, streak: 1, answered: true } });
  const next = applyFrame(state, { type: "question_closed", version: 5,
                                   data: { game: game("question_closed"), results } });
  assert.deepEqual([next.me.streak, next.players],
                   [2, [{ id: 7, nickname: "Ann", score: 1050, rank: 1, streak: 2 }]]);
});

test("players_kicked takes every one of them off and tells this page it is one", () => {
  const next = applyFrame(lobbySnapshot(), {
    type: "players_kicked", version: 4,
    data: { players: [{ ...ann, rank: null }, { ...bob, rank: null }], count: 0 },
  });
  assert.deepEqual([next.players, next.game.player_count, next.me.gone], [[], 0, "kicked"]);
});

test("a latecomer who waits joins the players but not those answering the open question", () => {
  const state = openSnapshot({ answers: { count: 1, total: 2 } });
  const carl = { id: 9, nickname: "Carl", score: 0, rank: 3 };
  const next = applyFrame(state, { type: "player_joined", version: 4,
                                   data: { player: carl, count: 3, answering: 2 } });
  assert.deepEqual([next.players.length, next.answers], [3, { count: 1, total: 2 }]);
});

test("question_open ends a latecomer's wait", () => {
  const state = lobbySnapshot({ me: { ...ann, answered: false, waiting: true } });
  const next = applyFrame(state, { type: "question_open", version: 4,
                                   data: { game: game("question_open"), question,
                                           server_time: 1764000000000 } });
  assert.equal(next.me.waiting, false);
});

test("room sets the room as the host set it, without moving the version on", () => {
  const room = { locked: true, latecomers_wait: true, generated_nicknames: false,
                 blocked_words: "" };
  const next = applyFrame(lobbySnapshot(), { type: "room", version: 3, data: { room } });
  assert.deepEqual([next.room, next.version], [room, 3]);
});

test("next_game names the game the players follow the host into", () => {
  const next = applyFrame(lobbySnapshot({ game: game("finished", 2) }),
                          { type: "next_game", version: 4, data: { game_id: 43 } });
  assert.deepEqual(next.next_game, { id: 43 });
});

/** A player's snapshot at version 6 with question 5 open: Ann (this page) 1,000 points, 9th. */
function ninthSnapshot() {
  return openSnapshot({ version: 6, players: [{ ...bob, score: 3000 }],
                        me: { ...ann, score: 1000, rank: 9, answered: true } });
}

const closed = { type: "question_closed", version: 7, data: {
  game: game("question_closed"),
  results: { question_id: 5, correct_choice_ids: [11], distribution: { 11: 9 },
             players: [{ ...bob, score: 4000, correct: true, points: 1000, streak_bonus: 0 }] },
} };
const annLine = { ...ann, score: 1900, rank: 8, streak: 1, correct: true, points: 900,
                  streak_bonus: 0, behind: { nickname: "Cy", score: 2000 } };
const mine = { type: "my_result", version: 8, data: { question_id: 5, player: annLine } };

test("a player's own result joins the results of its question and moves its line", () => {
  const next = applyFrame(applyFrame(ninthSnapshot(), closed), mine);
  assert.deepEqual(next.results.players.map((p) => [p.nickname, p.points]),
                   [["Bob", 1000], ["Ann", 900]]);
  assert.deepEqual([next.me.score, next.me.rank, next.me.behind.nickname], [1900, 8, "Cy"]);
  assert.equal(next.version, 7); // live: it does not move the version on
});

test("a player's own result that comes before the close is kept for it", () => {
  const early = applyFrame(ninthSnapshot(), mine);
  assert.equal(early.results, null);
  const next = applyFrame(early, closed);
  assert.deepEqual(next.results.players.map((p) => p.nickname), ["Bob", "Ann"]);
  assert.deepEqual([next.me.score, next.me.rank], [1900, 8]);
});

test("a result of another question is not mixed into these results", () => {
  const other = { ...mine, data: { ...mine.data, question_id: 4 } };
  const next = applyFrame(applyFrame(ninthSnapshot(), other), closed);
  assert.deepEqual(next.results.players.map((p) => p.nickname), ["Bob"]);
});
