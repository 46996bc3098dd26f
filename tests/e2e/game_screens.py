"""What the e2e tests drive: Debian's Chromium windows for the host and the players."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PROJECTOR: dict[str, Any] = {"viewport": {"width": 1600, "height": 900}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
HOST_LOGIN = ("quizmaster", "e2e-password-123")
QUESTION_SECONDS = 60  # every question's time limit in the `site` fixture's quiz
QUESTIONS = [
    (
        "Which planet is known as the Red Planet?",
        [("Mars", True), ("Venus", False), ("Jupiter", False), ("Saturn", False)],
    ),
    ("Which of these are prime numbers?", [("2", True), ("3", True), ("4", False)]),
]


class Screens:
    """Browser windows for one test: a projector for the host, phones for the players."""

    def __init__(self, browser: Browser, request: pytest.FixtureRequest) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.page_errors: list[str] = []
        # what the browser reports refusing under the site's Content-Security-Policy
        self.csp_violations: list[str] = []
        self.shots = 0
        self.prefix = re.sub(r"\W+", "-", request.node.name).strip("-")

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    def window(self, **options: Any) -> Page:
        context = self.browser.new_context(**options)
        self.contexts.append(context)
        context.set_default_timeout(10_000)
        return self.watch(context.new_page())

    def author(self, base_url: str, **options: Any) -> Page:
        """A window logged in as the quizzes' author (on the quiz list)."""
        page = self.window(**options)
        page.goto(f"{base_url}/accounts/login/")
        page.get_by_label("Username").fill(HOST_LOGIN[0])
        page.get_by_label("Password").fill(HOST_LOGIN[1])
        page.get_by_role("button", name="Log in").click()
        return page

    def host(self, base_url: str) -> Page:
        """Log in as the quiz's author and host a new game from the quiz list."""
        page = self.author(base_url, **PROJECTOR)
        page.get_by_role("button", name="Host a game").click()
        expect(page.locator("#pin")).to_have_text(re.compile(r"^\d{6}$"))
        return page

    def player(self, join_url: str, nickname: str) -> Page:
        """Open the join link on a phone and join under `nickname`."""
        page = self.window(**PHONE)
        page.goto(join_url)
        page.get_by_label("Nickname").fill(nickname)
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_role("heading", name="You're in!")).to_be_visible()
        return page

    def another_tab(self, page: Page) -> Page:
        """The same browser (same session) in a second tab."""
        tab = self.watch(page.context.new_page())
        tab.goto(page.url)
        return tab

    def shoot(self, stage: str, **pages: Page) -> None:
        """Save what each screen shows now, as test artifacts."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        for who, page in pages.items():
            page.screenshot(path=ARTIFACTS / f"{self.prefix}-{self.shots:02d}-{stage}-{who}.png")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


class BrokerLink:
    """The path between one page and the broker: every WebSocket the page opens goes through
    here to the real broker, and a test can cut it, or lose the broker's frames that contain
    a given text."""

    def __init__(self, page: Page, *, lose: str | None = None) -> None:
        self.up = True
        self.refused = 0  # connections refused while cut
        self.lose = lose
        self.lost: list[str] = []
        self.open: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        page.route_web_socket(re.compile(r"/ws$"), self._connect)

    def _connect(self, page_side: WebSocketRoute) -> None:
        if not self.up:
            self.refused += 1
            page_side.close()
            return
        broker_side = page_side.connect_to_server()
        broker_side.on_message(lambda message: self._pass(page_side, message))
        self.open.append((page_side, broker_side))

    def _pass(self, page_side: WebSocketRoute, message: str | bytes) -> None:
        text = message.decode(errors="replace") if isinstance(message, bytes) else message
        if self.lose is not None and self.lose in text:
            self.lost.append(text)
            return
        page_side.send(message)

    def cut(self) -> None:
        """Drop the page's connections and refuse new ones."""
        self.up = False
        for page_side, broker_side in self.open:
            page_side.close()
            broker_side.close()
        self.open.clear()

    def restore(self) -> None:
        self.up = True


# Screens of the sizes the game must fit, checked and photographed (tests/e2e/test_screens.py,
# test_every_kind_on_a_phone.py; `make screenshots` copies a few to docs/).
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
PROJECTORS = {
    "projector-1280": (1280, 720),
    "projector-1366": (1366, 768),
    "projector-1920": (1920, 1080),
}
PHONES = {"phone-390": (390, 844), "phone-360": (360, 640)}

# Every visible element that is wider inside than it shows, apart from those made to scroll,
# to end in "…", or to be read only by screen readers.
OVERFLOWING = """() => {
  const found = [];
  const root = document.scrollingElement;
  if (root.scrollWidth > root.clientWidth) found.push(`page: ${root.scrollWidth}`);
  for (const el of document.querySelectorAll("body *")) {
    if (el.clientWidth === 0 || !el.checkVisibility()) continue;
    const style = getComputedStyle(el);
    if (["auto", "scroll"].includes(style.overflowX) || style.textOverflow === "ellipsis"
        || style.clipPath !== "none") continue;
    if (el.scrollWidth > el.clientWidth) {
      found.push(`${el.tagName}#${el.id}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return found;
}"""

# What the host needs that is not inside the viewport, or a page that scrolls at all.
OUT_OF_REACH = """() => {
  const found = [];
  const root = document.scrollingElement;
  if (root.scrollHeight > root.clientHeight) found.push(`page scrolls: ${root.scrollHeight}`);
  const needed = document.querySelectorAll(`.game-bar > *, .screen:not([hidden]) .actions *,
    #lobby:not([hidden]) :is(#pin, #join-link, .qr, #player-count)`);
  for (const el of needed) {
    if (!el.checkVisibility()) continue;
    const box = el.getBoundingClientRect();
    if (box.top < 0 || box.left < 0 || box.bottom > innerHeight || box.right > innerWidth) {
      found.push(`${el.tagName}#${el.id}.${el.className}: ${JSON.stringify(box)}`);
    }
  }
  return found;
}"""

# The timer bar moves on by a transition every tick, and the winner's confetti falls for as
# long as it is shown; the screens' other animations end.
ALL_STILL = """() => document.getAnimations().every((a) => a instanceof CSSTransition
  || a.playState !== "running" || a.effect.getTiming().iterations === Infinity)"""


# From now on, whether the page shows a question's lead-in (`.game` takes the class lead-in).
WATCH_FOR_LEAD_IN = """() => {
  window.leadInShown = false;
  const game = document.querySelector(".game");
  new MutationObserver(() => {
    if (game.classList.contains("lead-in")) window.leadInShown = true;
  }).observe(game, { attributes: true, attributeFilter: ["class"] });
}"""

# When the page's countdown reaches zero, on this computer's clock (ms since the epoch): the
# time left its timer bar shows at one of its next ticks, added to the moment of that tick.
COUNTDOWN_ENDS = """(limitMs) => new Promise((resolve) => {
  const fill = document.getElementById("timer-fill");
  new MutationObserver((_records, observer) => {
    const shown = Number(/scaleX\\((.*)\\)/.exec(fill.style.transform)?.[1]);
    if (!(shown < 1)) return;  // a full bar says only that at least the limit is left
    observer.disconnect();
    resolve(Date.now() + shown * limitMs);
  }).observe(fill, { attributes: true, attributeFilter: ["style"] });
})"""


def watch_for_lead_in(page: Page) -> None:
    """Note from now on whether the page shows a question's lead-in (see lead_in_shown)."""
    page.evaluate(WATCH_FOR_LEAD_IN)


def lead_in_shown(page: Page) -> bool:
    """Whether the page showed a question's lead-in since watch_for_lead_in."""
    return page.evaluate("window.leadInShown")


def countdown_ends(page: Page) -> float:
    """When the open question's countdown on `page` reaches zero, on this computer's clock:
    two pages on one computer that agree on the time left agree on this, whenever each
    ticks, and differ by as much as their times left do."""
    return page.evaluate(COUNTDOWN_ENDS, QUESTION_SECONDS * 1000)


def heading(page: Page, text: str):
    return page.get_by_role("heading", name=text)


def open_lobby(screens: Screens, base_url: str, *nicknames: str) -> tuple[Page, list[Page]]:
    """The host's lobby with `nicknames` joined, each in a browser of its own."""
    host = screens.host(base_url)
    join_url = host.locator("#join-link").inner_text()
    players = []
    for nickname in nicknames:
        players.append(screens.player(join_url, nickname))
        expect(host.get_by_role("list", name="Players").get_by_text(nickname)).to_be_visible()
    return host, players


def size(width_height: tuple[int, int]) -> dict[str, int]:
    width, height = width_height
    return {"width": width, "height": height}


def phone(screens: Screens, join_url: str, nickname: str, dimensions: tuple[int, int]) -> Page:
    """Join the game on a phone of this size."""
    page = screens.window(viewport=size(dimensions), is_mobile=True, has_touch=True)
    page.goto(join_url)
    page.get_by_label("Nickname").fill(nickname)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="You're in!")).to_be_visible()
    return page


def settled(page: Page) -> Page:
    """The page once its transitions are over, as a person would look at it."""
    page.wait_for_function(ALL_STILL)
    return page


def check_and_shoot(stage: str, pages: dict[str, Page]) -> None:
    """No screen overflows sideways, every host control is in view without scrolling, and a
    picture of each screen is saved."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for who, page in pages.items():
        settled(page)
        overflowing = page.evaluate(OVERFLOWING)
        assert overflowing == [], f"{who} at {stage}: {overflowing}"
        if who.startswith("projector"):
            assert page.evaluate(OUT_OF_REACH) == [], f"{who} at {stage}"
        page.screenshot(path=SHOTS / f"{stage}-{who}.png")


# Whatever of the shown screen a person cannot see without scrolling: a page that scrolls, an
# element (but for what a screen reader alone reads) past the viewport's bottom or right edge,
# and content cut off or put in an inner scroll box, except inside a box of a list made to
# scroll (`.scroll-box`, the projector's table of all players) and text cut to its first
# lines, which ends in "…" (`-webkit-line-clamp`: a phone's long question, on the projector
# whole).
OUT_OF_SIGHT = """() => {
  const found = [];
  const root = document.scrollingElement;
  if (root.scrollHeight > innerHeight) found.push(`page scrolls: ${root.scrollHeight}`);
  const shown = document.querySelectorAll(`.game-bar, .game-bar *, .screen:not([hidden]),
    .screen:not([hidden]) *`);
  for (const el of shown) {
    if (!el.checkVisibility() || el.closest(".visually-hidden")) continue;
    const style = getComputedStyle(el);
    if (style.clipPath !== "none") continue;  // for screen readers alone
    if (el.parentElement.closest(".scroll-box")) continue;
    const name = `${el.tagName}#${el.id}.${el.className}`;
    const box = el.getBoundingClientRect();
    if (box.bottom > innerHeight + 0.5 || box.right > innerWidth + 0.5) {
      found.push(`${name} out of view: bottom ${box.bottom}, right ${box.right}`);
    }
    if (el.matches(".scroll-box") || style.webkitLineClamp !== "none") continue;
    if (style.overflowY !== "visible" && el.scrollHeight > el.clientHeight + 1) {
      found.push(`${name} hides ${el.scrollHeight - el.clientHeight}px of its content`);
    }
  }
  return found;
}"""

AXE_CORE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# axe-core's violations of the rules `rules` names (axe.run's runOnly), one line each.
AXE_VIOLATIONS = """async (rules) => {
  const { violations } = await axe.run(document, { runOnly: rules });
  return violations.flatMap((rule) => rule.nodes.map((node) =>
    `${rule.id} ${node.target.join(" ")}: ${node.any.map((check) => check.message).join("; ")}`));
}"""
WCAG_AA = {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}


def out_of_sight(page: Page) -> list[str]:
    """What of the page's screen cannot be seen without scrolling (OUT_OF_SIGHT), once still."""
    return settled(page).evaluate(OUT_OF_SIGHT)


def axe_violations(page: Page, rules: list[str] | dict[str, Any]) -> list[str]:
    """What axe-core finds against `rules` on the page, once still."""
    if not settled(page).evaluate("typeof window.axe === 'object'"):
        # evaluated by the browser's debugging protocol, which the page's Content-Security-
        # Policy does not govern (it refuses an injected <script>, as it should)
        page.evaluate(AXE_CORE.read_text())
    return page.evaluate(AXE_VIOLATIONS, rules)


def contrast_failures(page: Page) -> list[str]:
    """Text on the page whose contrast is under WCAG AA, by axe-core's rule."""
    return axe_violations(page, ["color-contrast"])


def accessibility_failures(page: Page) -> list[str]:
    """What of the page breaks WCAG 2.1 A or AA, as far as axe-core can tell."""
    return axe_violations(page, WCAG_AA)
