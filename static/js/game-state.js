// How each frame changes a page's copy of the snapshot. Pure: state in, new state out.

function ranked(players) {
  return players.map(({ id, nickname, score, rank }) => ({ id, nickname, score, rank }));
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
    answers: { ...state.answers, total: data.count },
    me: mine ? { ...state.me, gone: why } : state.me,
  };
}

const reducers = {
  lobby: (state, data) => ({ ...state, game: data.game, question: null, results: null,
                              podium: null }),
  question_open: (state, data) => ({
    ...state, game: data.game, question: data.question, results: null,
    answers: { count: 0, total: state.players.length },
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
    answers: { ...state.answers, total: data.count },
  }),
  player_left: (state, data) => departed(state, data, "left"),
  player_kicked: (state, data) => departed(state, data, "kicked"),
  answer_count: (state, data) => (state.question?.id === data.question_id
    ? { ...state, answers: { count: data.count, total: data.total } }
    : state),
};

/** The snapshot after `frame`; an unknown frame type only moves the version on. */
export function applyFrame(state, frame) {
  const reduce = reducers[frame.type] ?? ((s) => s);
  const next = { ...reduce(state, frame.data ?? {}), version: frame.version };
  if (next.me && !next.me.gone) {
    const entry = next.players.find((p) => p.id === next.me.id);
    if (entry) next.me = { ...next.me, score: entry.score, rank: entry.rank };
  }
  return next;
}
