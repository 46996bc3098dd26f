import assert from "node:assert/strict";
import { test } from "node:test";

import { Countdown, ServerClock } from "../../static/js/clock.js";

const BROWSER_NOW = 1_764_000_000_000;

/** Just enough of a DOM element for the countdown: its text and its classes. */
function fakeElement() {
  const classes = new Set();
  return {
    textContent: "",
    classList: {
      toggle: (name, on) => (on ? classes.add(name) : classes.delete(name)),
      contains: (name) => classes.has(name),
    },
  };
}

/** setInterval and clearInterval that run only when the test says `tick()`. (node 20's
 *  mock.timers keeps running an interval that clears itself from its own callback.) */
function handIntervals(t) {
  const running = new Map();
  let nextId = 1;
  t.mock.method(globalThis, "setInterval", (callback) => {
    running.set(nextId, callback);
    return nextId++;
  });
  t.mock.method(globalThis, "clearInterval", (id) => running.delete(id));
  return { tick: () => [...running.values()].forEach((callback) => callback()) };
}

/** A clock the test moves by hand. */
function handClock(now) {
  return { now: () => now, set: (ms) => { now = ms; } };
}

test("before any sync the server clock reads the browser's clock", (t) => {
  t.mock.method(Date, "now", () => BROWSER_NOW);
  assert.equal(new ServerClock().now(), BROWSER_NOW);
});

test("after a sync the server clock runs ahead or behind by the offset it saw", (t) => {
  const now = t.mock.method(Date, "now", () => BROWSER_NOW);
  const clock = new ServerClock();
  clock.sync(BROWSER_NOW + 4_000);
  now.mock.mockImplementation(() => BROWSER_NOW + 1_000);
  assert.equal(clock.now(), BROWSER_NOW + 5_000);
});

test("a sync without a server time keeps the offset from the last one", (t) => {
  t.mock.method(Date, "now", () => BROWSER_NOW);
  const clock = new ServerClock();
  clock.sync(BROWSER_NOW - 2_000);
  clock.sync(undefined);
  clock.sync(Number.NaN);
  assert.equal(clock.now(), BROWSER_NOW - 2_000);
});

/** A question_open frame sent at `serverTime`, whose question's lead-in ends 3 s later and
 *  whose 20 s count from there. */
function questionOpen(serverTime) {
  const openedAt = serverTime + 3_000;
  return { type: "question_open", version: 5,
           data: { server_time: serverTime, question: { opened_at: openedAt,
                                                        deadline: openedAt + 20_000 } } };
}

test("a live frame's server time sets the offset as it arrives", (t) => {
  t.mock.method(Date, "now", () => BROWSER_NOW);
  const clock = new ServerClock();
  clock.hear(questionOpen(BROWSER_NOW + 4_000), { replayed: false });
  assert.equal(clock.now(), BROWSER_NOW + 4_000);
});

test("a replayed frame leaves the offset where the last fresh reading set it", (t) => {
  const now = t.mock.method(Date, "now", () => BROWSER_NOW);
  const clock = new ServerClock();
  clock.sync(BROWSER_NOW + 4_000);
  now.mock.mockImplementation(() => BROWSER_NOW + 8_000);
  clock.hear(questionOpen(BROWSER_NOW + 4_500), { replayed: true }); // sent 7.5 s ago
  assert.equal(clock.now(), BROWSER_NOW + 12_000);
});

test("the time left on a replayed question is its deadline less the server time now", (t) => {
  handIntervals(t);
  const now = t.mock.method(Date, "now", () => BROWSER_NOW);
  const clock = new ServerClock();
  clock.sync(BROWSER_NOW + 4_000);
  const sent = questionOpen(BROWSER_NOW + 4_500);
  now.mock.mockImplementation(() => BROWSER_NOW + 8_000); // back 7.5 s after it was sent
  clock.hear(sent, { replayed: true });
  const heard = [];
  new Countdown(clock).start(fakeElement(), sent.data.question.deadline, null,
                             (msLeft) => heard.push(msLeft));
  assert.deepEqual(heard, [23_000 - 7_500]);
});

test("the countdown shows the seconds left rounded up", (t) => {
  handIntervals(t);
  const element = fakeElement();
  const countdown = new Countdown(handClock(0));
  countdown.start(element, 12_001);
  assert.equal(element.textContent, "13");
});

test("the countdown turns low at five seconds left and not before", (t) => {
  handIntervals(t);
  const element = fakeElement();
  const clock = handClock(0);
  const countdown = new Countdown(clock);
  countdown.start(element, 6_000);
  const lowAtSix = element.classList.contains("countdown-low");
  clock.set(1_000);
  countdown.start(element, 6_000);
  assert.deepEqual([lowAtSix, element.classList.contains("countdown-low")], [false, true]);
});

test("the countdown ticks down as the clock moves and calls onExpired once at zero", (t) => {
  const intervals = handIntervals(t);
  const element = fakeElement();
  const clock = handClock(0);
  const shown = [];
  let expired = 0;
  new Countdown(clock).start(element, 2_000, () => expired++);
  for (const at of [1_000, 2_000, 3_000]) {
    clock.set(at);
    intervals.tick();
    shown.push(element.textContent);
  }
  assert.deepEqual([shown, expired], [["1", "0", "0"], 1]);
});

test("a countdown whose deadline has passed shows zero and expires at once", (t) => {
  handIntervals(t);
  const element = fakeElement();
  let expired = 0;
  new Countdown(handClock(5_000)).start(element, 1_000, () => expired++);
  assert.deepEqual([element.textContent, expired], ["0", 1]);
});

test("a stopped countdown neither ticks nor expires", (t) => {
  const intervals = handIntervals(t);
  const element = fakeElement();
  const clock = handClock(0);
  let expired = 0;
  const countdown = new Countdown(clock);
  countdown.start(element, 2_000, () => expired++);
  countdown.stop();
  clock.set(3_000);
  intervals.tick();
  assert.deepEqual([element.textContent, expired], ["2", 0]);
});

test("a paused countdown stops and says so until it starts again", (t) => {
  const intervals = handIntervals(t);
  const element = fakeElement();
  const clock = handClock(0);
  const countdown = new Countdown(clock);
  countdown.start(element, 5_000);
  countdown.pause();
  clock.set(2_000);
  intervals.tick();
  const paused = [element.textContent, element.classList.contains("countdown-paused")];
  countdown.start(element, 5_000);
  assert.deepEqual([paused, element.textContent, element.classList.contains("countdown-paused")],
                   [["5", true], "3", false]);
});

test("starting again replaces the running countdown", (t) => {
  const intervals = handIntervals(t);
  const element = fakeElement();
  const clock = handClock(0);
  const expired = [];
  const countdown = new Countdown(clock);
  countdown.start(element, 2_000, () => expired.push("first"));
  countdown.start(element, 10_000, () => expired.push("second"));
  clock.set(3_000);
  intervals.tick();
  countdown.stop();
  assert.deepEqual([element.textContent, expired], ["7", []]);
});

test("every tick tells onTick the milliseconds left, down to zero", (t) => {
  const intervals = handIntervals(t);
  const clock = handClock(0);
  const heard = [];
  new Countdown(clock).start(fakeElement(), 1_500, null, (msLeft) => heard.push(msLeft));
  for (const at of [500, 2_000]) {
    clock.set(at);
    intervals.tick();
  }
  assert.deepEqual(heard, [1_500, 1_000, 0]);
});
