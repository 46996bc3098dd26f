// A page's copy of the game, at one version: a snapshot, then only newer frames.
import { getJSON } from "./api.js";
import { applyFrame, LIVE_TYPES } from "./game-state.js";

/**
 * Keeps the game as of one version and tells `onChange(state, frame)` about each step
 * (`frame` is null for a whole snapshot).
 *
 * A frame whose version is not above the current one is old news and is dropped; the frame
 * right after it is applied; a frame further ahead means some were missed, so the snapshot is
 * reloaded. Frames that arrive while a snapshot loads wait for it. `onError` hears an ApiError
 * from loading the snapshot.
 *
 * Live frames (LIVE_TYPES) carry the version they were sent at without moving it on: one from
 * before the current version is already in the state and is dropped, any other is applied.
 * A frame of a type in `reloadOn` is not applied: the snapshot is loaded instead (the host's
 * screen shows every player, where those frames carry the top of the ranking).
 */
export class GameSync {
  #state = null;
  #loading = null;
  #loadAgain = false;
  #waiting = [];

  constructor({ snapshotUrl, onChange, onError, reloadOn = [] }) {
    this.snapshotUrl = snapshotUrl;
    this.onChange = onChange;
    this.onError = onError;
    this.reloadOn = new Set(reloadOn);
  }

  get state() {
    return this.#state;
  }

  /** Load the snapshot now (or once more, if a load is under way); resolves true once it
   *  is loaded, false if the site did not give it (onError heard why). */
  reload() {
    if (this.#loading) {
      this.#loadAgain = true;
      return this.#loading;
    }
    this.#loading = this.#load();
    return this.#loading;
  }

  async #load() {
    try {
      do {
        this.#loadAgain = false;
        this.accept(await getJSON(this.snapshotUrl));
      } while (this.#loadAgain);
    } catch (error) {
      this.onError(error);
      // The frames keep waiting for the next load: replaying them now, with no snapshot
      // to apply them to, would start another load at once, and again, without end.
      return false;
    } finally {
      this.#loading = null;
    }
    const waiting = this.#waiting.sort((a, b) => a.version - b.version);
    this.#waiting = [];
    waiting.forEach((frame) => this.receive(frame));
    return true;
  }

  /** A whole snapshot, from a reload or from an action's answer. One older than the frames
   *  already applied cannot be trusted to hold them all, so a fresh one is asked for. */
  accept(snapshot) {
    if (this.#state && snapshot.version < this.#state.version) {
      this.reload();
      return;
    }
    this.#state = snapshot;
    this.onChange(this.#state, null);
  }

  /** One frame from the broker. */
  receive(frame) {
    if (!Number.isInteger(frame?.version)) return;
    if (this.#loading) {
      this.#waiting.push(frame);
      return;
    }
    if (LIVE_TYPES.has(frame.type)) {
      if (this.#state === null || frame.version < this.#state.version) return;
      this.#state = applyFrame(this.#state, frame);
      this.onChange(this.#state, frame);
      return;
    }
    if (this.#state && frame.version <= this.#state.version) return;
    if (this.reloadOn.has(frame.type)) {
      this.reload(); // the snapshot has what the frame left out, at its version or later
      return;
    }
    if (this.#state === null || frame.version > this.#state.version + 1) {
      this.#waiting.push(frame);
      this.reload();
      return;
    }
    this.#state = applyFrame(this.#state, frame);
    this.onChange(this.#state, frame);
  }
}
