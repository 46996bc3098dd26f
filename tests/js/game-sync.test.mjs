import assert from "node:assert/strict";
import { test } from "node:test";

import { GameSync } from "../../static/js/game-sync.js";
import { fakeFetch, settle } from "./fake-network.mjs";

const SNAPSHOT_URL = "/api/games/42/snapshot/";

function snapshot(version) {
  return { version, server_time: 1764000000000,
           game: { id: 42, pin: "123456", state: "lobby", question_index: 0, question_count: 3 },
           players: [], question: null, answers: { count: 0, total: 0 },
           results: null, podium: null, me: null };
}

function frame(version) {
  return { type: "leaderboard", version, data: { players: [] } };
}

/** A GameSync on a fake network; `changes` lists each step as "snapshot@V" or "<type>@V". */
function follow(t, { reloadOn = [] } = {}) {
  const network = fakeFetch(t);
  const changes = [];
  const errors = [];
  const sync = new GameSync({
    snapshotUrl: SNAPSHOT_URL,
    reloadOn,
    onChange: (state, applied) => changes.push(`${applied?.type ?? "snapshot"}@${state.version}`),
    onError: (error) => errors.push(error),
  });
  return { sync, network, changes, errors };
}

/** A GameSync that has loaded the snapshot at `version`. */
async function loadedAt(t, version, options = {}) {
  const following = follow(t, options);
  following.sync.reload();
  await following.network.answer(snapshot(version));
  return following;
}

test("reload fetches the snapshot url and reports the snapshot with no frame", async (t) => {
  const { sync, network, changes } = follow(t);
  sync.reload();
  await network.answer(snapshot(5));
  assert.deepEqual([network.urls, changes, sync.state.version], [[SNAPSHOT_URL], ["snapshot@5"], 5]);
});

test("the frame one version after the state is applied", async (t) => {
  const { sync, changes } = await loadedAt(t, 5);
  sync.receive(frame(6));
  assert.deepEqual([changes, sync.state.version], [["snapshot@5", "leaderboard@6"], 6]);
});

test("consecutive frames are applied one after another without a reload", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  [6, 7, 8].forEach((version) => sync.receive(frame(version)));
  assert.deepEqual([changes.length, network.urls.length], [4, 1]);
});

test("a frame at or below the state's version is dropped", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  sync.receive(frame(5));
  sync.receive(frame(4));
  assert.deepEqual([changes, network.waiting], [["snapshot@5"], 0]);
});

test("a frame without a whole-number version is ignored", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  sync.receive({ type: "leaderboard", data: { players: [] } });
  sync.receive({ type: "leaderboard", version: "6", data: { players: [] } });
  sync.receive(null);
  assert.deepEqual([changes, network.waiting], [["snapshot@5"], 0]);
});

test("a frame that skips a version reloads the snapshot instead of being applied", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  sync.receive(frame(7));
  assert.deepEqual([changes, network.waiting], [["snapshot@5"], 1]);
});

test("after a gap, the frame that skipped ahead is applied on the reloaded snapshot", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  sync.receive(frame(7));
  await network.answer(snapshot(6));
  assert.deepEqual(changes, ["snapshot@5", "snapshot@6", "leaderboard@7"]);
});

test("after a gap, a frame the reloaded snapshot already holds is dropped", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  sync.receive(frame(7));
  await network.answer(snapshot(8));
  assert.deepEqual(changes, ["snapshot@5", "snapshot@8"]);
});

test("frames arriving while the snapshot loads wait for it, then apply in version order",
  async (t) => {
    const { sync, network, changes } = follow(t);
    sync.reload();
    sync.receive(frame(7));
    sync.receive(frame(6));
    assert.deepEqual(changes, []);
    await network.answer(snapshot(5));
    assert.deepEqual(changes, ["snapshot@5", "leaderboard@6", "leaderboard@7"]);
  });

test("a frame before any snapshot loads one and is applied after it", async (t) => {
  const { sync, network, changes } = follow(t);
  sync.receive(frame(3));
  assert.equal(network.waiting, 1);
  await network.answer(snapshot(2));
  assert.deepEqual(changes, ["snapshot@2", "leaderboard@3"]);
});

test("reload during a load loads once more, and the second snapshot wins", async (t) => {
  const { sync, network, changes } = follow(t);
  sync.reload();
  sync.reload();
  await network.answer(snapshot(5));
  assert.equal(network.waiting, 1);
  await network.answer(snapshot(6));
  assert.deepEqual([changes, network.waiting], [["snapshot@5", "snapshot@6"], 0]);
});

test("accepting a newer snapshot replaces the state without asking for another", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  sync.accept(snapshot(9));
  assert.deepEqual([changes, network.waiting], [["snapshot@5", "snapshot@9"], 0]);
});

test("accepting a snapshot older than the state keeps the state and reloads", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5);
  sync.receive(frame(6));
  sync.accept(snapshot(5));
  assert.deepEqual([sync.state.version, changes.length, network.waiting], [6, 2, 1]);
});

test("a refused snapshot reaches onError with the server's code, leaving no state",
  async (t) => {
    const { sync, network, errors } = follow(t);
    sync.reload();
    await network.answer({ error: "kicked", detail: "You were removed from this game." }, 403);
    assert.deepEqual([errors.map((e) => [e.code, e.refused]), sync.state],
                     [[["kicked", true]], null]);
  });

test("a failed load does not start another one by itself, and its frames wait", async (t) => {
  const { sync, network, changes, errors } = follow(t);
  sync.receive(frame(6));
  await network.answer({ error: "kicked", detail: "The host removed you." }, 403);
  assert.deepEqual([errors.length, network.waiting, network.urls.length], [1, 0, 1]);
  sync.reload();
  await network.answer(snapshot(5));
  assert.deepEqual(changes, ["snapshot@5", "leaderboard@6"]);
});

function joined(version, id) {
  return { type: "player_joined", version,
           data: { player: { id, nickname: `p${id}`, score: 0, rank: 1 }, count: 1 } };
}

test("a live frame at the state's version is applied without moving the version on",
  async (t) => {
    const { sync, network, changes } = await loadedAt(t, 5);
    sync.receive(joined(5, 9));
    assert.deepEqual([changes, sync.state.players.map((p) => p.id), network.urls.length],
                     [["snapshot@5", "player_joined@5"], [9], 1]);
  });

test("a live frame from ahead of the state is applied, not taken for a gap", async (t) => {
  const { sync, network } = await loadedAt(t, 5);
  sync.receive(joined(7, 9));
  assert.deepEqual([sync.state.version, sync.state.players.length, network.urls.length],
                   [5, 1, 1]);
});

test("a live frame older than the state is dropped: the snapshot holds it", async (t) => {
  const { sync, changes } = await loadedAt(t, 5);
  sync.receive(joined(4, 9));
  assert.deepEqual([changes, sync.state.players], [["snapshot@5"], []]);
});

test("reload resolves true once the snapshot is loaded, false when the site did not give it",
  async (t) => {
    const { sync, network } = follow(t);
    const failed = sync.reload();
    await network.answer({ error: "busy", detail: "Try again." }, 503);
    const loaded = sync.reload();
    await network.answer(snapshot(5));
    assert.deepEqual([await failed, await loaded], [false, true]);
  });

test("a frame the page reloads on is not applied: the snapshot is loaded instead", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5, { reloadOn: ["leaderboard"] });
  sync.receive(frame(6));
  sync.receive(frame(7)); // comes while the snapshot loads, which already holds it
  await network.answer(snapshot(7));
  assert.deepEqual([changes, network.urls.length], [["snapshot@5", "snapshot@7"], 2]);
});

test("a frame the page reloads on but already holds changes nothing", async (t) => {
  const { sync, network, changes } = await loadedAt(t, 5, { reloadOn: ["leaderboard"] });
  sync.receive(frame(5));
  assert.deepEqual([changes, network.urls.length], [["snapshot@5"], 1]);
});
