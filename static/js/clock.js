// Time as the server counts it, so every screen's countdown ends together.

/** The server's clock seen from this browser: offset = server_time - Date.now(), taken from a
 *  fresh reading, a snapshot's or a live frame's `server_time` as it arrives. A frame the
 *  broker replays from its history after a reconnect was sent long before it arrived: its
 *  `server_time` would set the clock back by as long, so it never moves the offset, and the
 *  time left to its deadline is counted on the offset the page already has. */
export class ServerClock {
  #offset = 0;

  /** A reading of the server's clock taken just now (a snapshot's `server_time`). */
  sync(serverTime) {
    if (Number.isFinite(serverTime)) this.#offset = serverTime - Date.now();
  }

  /** A frame from the broker (`replayed`: sent from its history on a resume): a live one
   *  that carries `data.server_time` is a reading. */
  hear(frame, { replayed }) {
    if (!replayed) this.sync(frame?.data?.server_time);
  }

  now() {
    return Date.now() + this.#offset;
  }
}

/** Whole seconds left until `deadline` (ms since epoch), shown in `element` until zero;
 *  `onTick(msLeft)` hears every tick too, for what draws the time left another way (a bar). */
export class Countdown {
  #timer = null;

  constructor(clock) {
    this.clock = clock;
  }

  start(element, deadline, onExpired, onTick) {
    this.stop();
    this.element = element;
    element.classList.toggle("countdown-paused", false);
    const tick = () => {
      const msLeft = Math.max(0, deadline - this.clock.now());
      const left = Math.ceil(msLeft / 1000);
      onTick?.(msLeft);
      element.textContent = String(left);
      element.classList.toggle("countdown-low", left <= 5);
      if (left === 0) {
        this.stop();
        onExpired?.();
      }
    };
    tick();
    if (this.#timer === null && deadline > this.clock.now()) this.#timer = setInterval(tick, 250);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Stop, and show that the number shown is no longer counting. */
  pause() {
    this.stop();
    this.element?.classList.toggle("countdown-paused", true);
  }
}
