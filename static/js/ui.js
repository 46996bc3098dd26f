// Pieces both game screens draw: elements, the status line, choice shapes, the podium.

/** An element with attributes (`on…` become listeners) and children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "style") Object.assign(element.style, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** Show the `<section class="screen">` with this id and hide the others. */
export function showScreen(id) {
  for (const screen of document.querySelectorAll(".screen")) screen.hidden = screen.id !== id;
}

/** One line at the top of the page: why an action was refused, or that the server is away. */
export class StatusLine {
  constructor(element, connectionElement) {
    this.element = element;
    this.connectionElement = connectionElement;
  }

  error(message) {
    this.element.textContent = message;
    this.element.classList.add("status-error");
  }

  clear() {
    this.element.textContent = "";
    this.element.classList.remove("status-error");
  }

  /** `transport` "http": the page fell back to HTTP (WebSockets blocked), and says so. */
  connection(state, transport = "websocket") {
    const labels = { connecting: "Connecting…", live: "Live", offline: "Reconnecting…" };
    const fallback = state === "live" && transport === "http" ? " (fallback: HTTP)" : "";
    this.connectionElement.textContent = `${labels[state] ?? state}${fallback}`;
    this.connectionElement.dataset.state = state;
  }
}

/** Answer i is marked by a shape as well as a colour, so colour-blind players can tell. */
export const SHAPES = [
  { symbol: "▲", name: "triangle" },
  { symbol: "◆", name: "diamond" },
  { symbol: "●", name: "circle" },
  { symbol: "■", name: "square" },
];

export function shapeMark(index) {
  const shape = SHAPES[index % SHAPES.length];
  return h("span", { class: "shape", "aria-hidden": "true", title: shape.name }, shape.symbol);
}

export function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th");
  return `${n}${suffix}`;
}

/** "🔥 3 in a row" from the second right answer in a row on (when the streak bonus starts). */
export function streakLabel(streak) {
  return streak >= 2 ? `🔥 ${streak} in a row` : "";
}

export function points(n) {
  return `${n} ${n === 1 ? "point" : "points"}`;
}

/** Where a player stands, as a phone shows it under the verdict: "3rd, 120 behind Bob", or
 *  when first "1st, 80 ahead of Ann". The one it is behind is `me.behind` (its result says),
 *  else found among `players` (the top 5) when everyone above is there; else the rank alone. */
export function rankLine(me, players) {
  if (!me?.rank) return "";
  const place = ordinal(me.rank);
  const others = players.filter((p) => p.id !== me.id);
  const ahead = others.filter((p) => p.score > me.score);
  if (me.behind && me.behind.score > me.score) {
    return `${place}, ${me.behind.score - me.score} behind ${me.behind.nickname}`;
  }
  if (ahead.length !== me.rank - 1) return place;
  if (ahead.length > 0) {
    const next = ahead.reduce((a, b) => (b.score < a.score ? b : a));
    return `${place}, ${next.score - me.score} behind ${next.nickname}`;
  }
  const tied = others.find((p) => p.score === me.score);
  if (tied) return `${place}, tied with ${tied.nickname}`;
  if (others.length === 0) return place;
  const runnerUp = others.reduce((a, b) => (b.score > a.score ? b : a));
  return `${place}, ${me.score - runnerUp.score} ahead of ${runnerUp.nickname}`;
}

/** The top three, each name and score above a step as high as its place (a tie shares one):
 *  the first listed in the middle, the second to its left, the third to its right. */
export function fillPodium(list, podium) {
  list.replaceChildren(...(podium ?? []).map((entry) => h("li",
    { class: `podium-spot place-${Math.min(entry.rank, 3)}` },
    h("span", { class: "podium-name" }, entry.nickname),
    h("span", { class: "podium-score" }, points(entry.score)),
    h("span", { class: "podium-step" },
      h("span", { class: "podium-place" }, ordinal(entry.rank))))));
}

export function questionProgress(question) {
  return `Question ${question.index + 1} of ${question.count}`;
}

export function showImage(img, url) {
  img.hidden = !url;
  if (url) img.src = url;
  else img.removeAttribute("src");
}
