// The projector's optional sound, made on the spot with the Web Audio API: no media files.

/** Short tunes as notes: [frequency in Hz, start in s, length in s]. */
export const TUNES = {
  question: [[523, 0, 0.12], [659, 0.12, 0.12], [784, 0.24, 0.25]],
  timesUp: [[392, 0, 0.2], [262, 0.2, 0.45]],
  reveal: [[659, 0, 0.12], [988, 0.12, 0.3]],
  podium: [[523, 0, 0.15], [659, 0.15, 0.15], [784, 0.3, 0.15], [1047, 0.45, 0.6]],
};

/** Off until the host turns it on: browsers only let a page make sound after a click, and a
 *  room may not want any. */
export class Sound {
  #context = null;
  on = false;

  /** Turn the sound on or off (from a click, so the browser lets the audio start). */
  toggle() {
    this.on = !this.on;
    if (this.on) {
      this.#context ??= new AudioContext();
      this.#context.resume();
    }
    return this.on;
  }

  play(notes) {
    if (!this.on || !this.#context) return;
    const context = this.#context;
    const start = context.currentTime;
    for (const [frequency, at, length] of notes) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "triangle";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(0.25, start + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + length);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start + at);
      oscillator.stop(start + at + length + 0.05);
    }
  }
}
