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

  connection(state) {
    const labels = { connecting: "Connecting…", live: "Live", offline: "Reconnecting…" };
    this.connectionElement.textContent = labels[state] ?? state;
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

export function points(n) {
  return `${n} ${n === 1 ? "point" : "points"}`;
}

/** The top three on steps, first in the middle. */
export function fillPodium(list, podium) {
  list.replaceChildren(...(podium ?? []).map((entry) => h("li",
    { class: `podium-step place-${Math.min(entry.rank, 3)}` },
    h("span", { class: "podium-place" }, ordinal(entry.rank)),
    h("span", { class: "podium-name" }, entry.nickname),
    h("span", { class: "podium-score" }, points(entry.score)))));
}

export function questionProgress(question) {
  return `Question ${question.index + 1} of ${question.count}`;
}

export function showImage(img, url) {
  img.hidden = !url;
  if (url) img.src = url;
  else img.removeAttribute("src");
}
