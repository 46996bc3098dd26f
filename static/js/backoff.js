// How long a page waits before trying the site or the broker again.

/**
 * Jittered exponential backoff: try n waits a random time between half and all of
 * min(firstMs × 2ⁿ, longestMs). A room of phones that lost the broker together spreads its
 * tries out instead of coming back all at once, and the ceiling is low enough that each is
 * back within about `longestMs` of the site or the broker answering again.
 */
export class Backoff {
  #tries = 0;

  constructor({ firstMs, longestMs, random = Math.random }) {
    this.firstMs = firstMs;
    this.longestMs = longestMs;
    this.random = random;
  }

  /** The wait before the next try. */
  next() {
    const ceiling = Math.min(this.firstMs * 2 ** this.#tries, this.longestMs);
    this.#tries += 1;
    return ceiling / 2 + (this.random() * ceiling) / 2;
  }

  /** A try succeeded: the next failure starts from `firstMs` again. */
  reset() {
    this.#tries = 0;
  }
}

/** The pages' schedule: 0.25–0.5 s, then up to 1–2 s. */
export const RETRY = { firstMs: 500, longestMs: 2_000 };
