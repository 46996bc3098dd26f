// How each frame changes a page's copy of the snapshot. Pure: state in, new state out.

/** Frames that tell the host how the room fills up: they carry the game's version without
 *  moving it on, and applying one twice changes nothing (docs/game.md, "Frames"). */
export const LIVE_TYPES = new Set(["player_joined", "answer_count"]);

/** The ranking in the results, without what only this question brought. */
function ranked(players) {
  return players.map(({ correct, points, streak_bonus: bonus, ...entry }) => entry);
}

function withPlayer(players, player) {
  const others = players.filter((p) => p.id !== player.id);
  return [...others, player];
}

function withoutPlayer(players, player) {
  return players.filter((p) => p.id !== player.id);
}

/** A player is gone; if it is this page's own, `me.gone` says why ("left" or "kicked"). */
function departed(state, data, why) {
  const mine = state.me && state.me.id === data.player.id;
  return {
    ...state, players: withoutPlayer(state.players, data.player),
    game: { ...state.game, player_count: data.count },
    answers: { ...state.answers, total: data.count },
    me: mine ? { ...state.me, gone: why } : state.me,
  };
}

const reducers = {
  lobby: (state, data) => ({ ...state, game: data.game, question: null, results: null,
                              podium: null }),
  question_open: (state, data) => ({
    ...state, game: data.game, question: data.question, results: null,
    answers: { count: 0, total: data.game.player_count },
    me: state.me && { ...state.me, answered: false },
  }),
  question_closed: (state, data) => ({
    ...state, game: data.game, results: data.results, players: ranked(data.results.players),
  }),
  leaderboard: (state, data) => ({ ...state, players: data.players }),
  finished: (state, data) => ({ ...state, game: data.game, podium: data.podium,
                                players: data.players }),
  player_joined: (state, data) => ({
    ...state, players: withPlayer(state.players, data.player),
    game: { ...state.game, player_count: data.count },
    answers: { ...state.answers, total: data.count },
  }),
  player_left: (state, data) => departed(state, data, "left"),
  player_kicked: (state, data) => departed(state, data, "kicked"),
  answer_count: (state, data) => (state.question?.id === data.question_id
    ? { ...state, answers: { count: data.count, total: data.total } }
    : state),
};

/** The snapshot after `frame`; an unknown frame type only moves the version on, a live one
 *  never does. */
export function applyFrame(state, frame) {
  const reduce = reducers[frame.type] ?? ((s) => s);
  const version = LIVE_TYPES.has(frame.type) ? state.version : frame.version;
  const next = { ...reduce(state, frame.data ?? {}), version };
  if (next.me && !next.me.gone) {
    const entry = next.players.find((p) => p.id === next.me.id);
    if (entry) {
      const { score, rank, streak } = entry;
      next.me = { ...next.me, score, rank, ...(streak === undefined ? {} : { streak }) };
    }
  }
  return next;
}
