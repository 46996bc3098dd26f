// Time as the server counts it, so every screen's countdown ends together.

/** The server's clock seen from this browser: offset = server_time - Date.now(), taken when a
 *  snapshot or a question_open frame arrives. */
export class ServerClock {
  #offset = 0;

  sync(serverTime) {
    if (Number.isFinite(serverTime)) this.#offset = serverTime - Date.now();
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
