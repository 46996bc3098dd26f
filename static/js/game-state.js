// How each frame changes a page's copy of the snapshot. Pure: state in, new state out.

/** Frames that tell the host how the room fills up: they carry the game's version without
 *  moving it on, and applying one twice changes nothing (docs/game.md, "Frames"). */
export const LIVE_TYPES = new Set(["player_joined", "answer_count", "room", "my_result"]);

/** The ranking in the results, without what only this question brought. */
function ranked(players) {
  return players.map(({ correct, points, streak_bonus: bonus, ...entry }) => entry);
}

function withPlayer(players, player) {
  const others = players.filter((p) => p.id !== player.id);
  return [...others, player];
}

/** `results` with a player's own line (`mine`, a `my_result` frame's data) among them, when
 *  both are of one question: a phone's frames carry only the top of the ranking. */
function withMine(results, mine) {
  if (!results || !mine || results.question_id !== mine.question_id) return results;
  return { ...results, players: withPlayer(results.players, mine.player) };
}

/** Players are gone (`gone`: their entries); if this page's own is one of them, `me.gone`
 *  says why ("left" or "kicked"). */
function departed(state, gone, count, why) {
  const ids = new Set(gone.map((p) => p.id));
  const mine = state.me && ids.has(state.me.id);
  return {
    ...state, players: state.players.filter((p) => !ids.has(p.id)),
    game: { ...state.game, player_count: count },
    answers: { ...state.answers, total: count },
    me: mine ? { ...state.me, gone: why } : state.me,
  };
}

const reducers = {
  lobby: (state, data) => ({ ...state, game: data.game, question: null, results: null,
                              podium: null }),
  question_open: (state, data) => ({
    ...state, game: data.game, question: data.question, results: null,
    answers: { count: 0, total: data.game.player_count },
    me: state.me && { ...state.me, answered: false, waiting: false },
  }),
  question_closed: (state, data) => ({
    ...state, game: data.game, results: withMine(data.results, state.mine),
    players: ranked(data.results.players),
  }),
  // It may come before the close's own frames (RabbitMQ keeps no order between topics).
  my_result: (state, data) => {
    const { score, rank, streak, behind } = data.player;
    return { ...state, mine: data, results: withMine(state.results, data),
             me: state.me && { ...state.me, score, rank, streak, behind } };
  },
  leaderboard: (state, data) => ({ ...state, players: data.players }),
  finished: (state, data) => ({ ...state, game: data.game, podium: data.podium,
                                players: data.players }),
  player_joined: (state, data) => ({
    ...state, players: withPlayer(state.players, data.player),
    game: { ...state.game, player_count: data.count },
    answers: { ...state.answers, total: data.answering ?? data.count },
  }),
  player_left: (state, data) => departed(state, [data.player], data.count, "left"),
  player_kicked: (state, data) => departed(state, [data.player], data.count, "kicked"),
  players_kicked: (state, data) => departed(state, data.players, data.count, "kicked"),
  room: (state, data) => ({ ...state, room: data.room }),
  next_game: (state, data) => ({ ...state, next_game: { id: data.game_id } }),
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
  if (next.me && !next.me.gone && next.players !== state.players) {
    const entry = next.players.find((p) => p.id === next.me.id);
    if (entry) {
      const { score, rank, streak } = entry;
      next.me = { ...next.me, score, rank, ...(streak === undefined ? {} : { streak }) };
    }
  }
  return next;
}
