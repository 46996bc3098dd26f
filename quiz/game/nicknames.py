"""The nickname policy: words a nickname may not hold, names that would take over a screen,
and the friendly names a host may hand out instead of letting players choose their own."""

import functools
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings

from quiz.game.models import ascii_look_alikes, nickname_key

SHIPPED_WORDS = Path(__file__).resolve().parent / "data" / "blocked_nicknames.txt"

# Digits and signs written for letters ("sh1t", "@ss", "$lut").
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
    }
)


def _letters(text: str) -> str:
    """`text` as the word list is matched against: compared as nicknames are (nickname_key:
    NFKC, look-alikes, case; capitals' look-alikes too: Cyrillic "В" is "B"), digits and signs
    read as the letters they stand for, accents dropped; anything else but a letter or a digit
    becomes a space (other digits stay: "bot2455" is the word "bot2ass", not "ass")."""
    look_alikes = ascii_look_alikes()
    folded = nickname_key("".join(look_alikes.get(c, c) for c in text)).translate(_LEET)
    bare = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return "".join(c if c.isalnum() else " " for c in bare)


def _pattern(word: str) -> str:
    """A word's letters, each as many times over as the player likes ("fuuuck")."""
    return "".join(f"{re.escape(letter)}+" for letter in word)


def read_words(lines: Iterable[str]) -> list[str]:
    """The words of a list, as the shipped file writes them: one a line, "#" comments,
    "=word" for a word refused only on its own."""
    words = []
    for line in lines:
        word = line.split("#", 1)[0].strip().lower()
        if word.strip("="):
            words.append(word)
    return words


@functools.cache
def _file_words(path: Path) -> tuple[str, ...]:
    return tuple(read_words(path.read_text(encoding="utf-8").splitlines()))


def site_words() -> tuple[str, ...]:
    """The shipped list, and the site's own file (QUIZ_BLOCKED_NICKNAMES_FILE) if it names one;
    each file read once per process."""
    words = _file_words(SHIPPED_WORDS)
    if settings.QUIZ_BLOCKED_NICKNAMES_FILE:
        words += _file_words(Path(settings.QUIZ_BLOCKED_NICKNAMES_FILE))
    return words


@functools.lru_cache(maxsize=256)
def _matchers(words: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """One pattern for the words found anywhere, one for the words refused on their own."""
    inside = [_pattern(_letters(w).replace(" ", "")) for w in words if not w.startswith("=")]
    alone = [_pattern(_letters(w[1:]).replace(" ", "")) for w in words if w.startswith("=")]
    inside = [p for p in inside if p]
    alone = [p for p in alone if p]
    return (
        re.compile("|".join(inside)) if inside else None,
        re.compile("|".join(alone)) if alone else None,
    )


def blocked_word(nickname: str, *, extra_words: Iterable[str] = ()) -> bool:
    """Whether the nickname holds a word of the site's list or of `extra_words` (the host's)."""
    inside, alone = _matchers(site_words() + tuple(read_words(extra_words)))
    letters = _letters(nickname)
    squashed = "".join(c for c in letters if c.isalpha())
    if inside is not None and inside.search(squashed):
        return True
    if alone is None:
        return False
    return any(alone.fullmatch(part) for part in [*letters.split(), squashed])


# Characters that change how the text after them is laid out (bidirectional controls), and
# single characters wider than a whole word (the Arabic ligatures U+FDFA–U+FDFD, cuneiform).
_LAYOUT_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e") | frozenset(
    "\u2066\u2067\u2068\u2069"
)
_WIDE_RANGES = ((0xFDFA, 0xFDFD), (0x12000, 0x1254F), (0x2E3A, 0x2E3B))
# Combining marks on one letter: Vietnamese has two; a "Zalgo" name stacks dozens.
MARKS_PER_LETTER = 2


def screen_filling(nickname: str) -> str | None:
    """Why the nickname would take over the screens it is shown on, or None."""
    if any(char in _LAYOUT_CONTROLS for char in nickname):
        return "A nickname cannot change the direction of the text."
    if any(low <= ord(char) <= high for char in nickname for low, high in _WIDE_RANGES):
        return "A nickname cannot hold characters wider than a word."
    run = 0
    for char in unicodedata.normalize("NFC", nickname):
        run = run + 1 if unicodedata.combining(char) else 0
        if run > MARKS_PER_LETTER:
            return "A nickname cannot stack marks on a letter."
    return None


ADJECTIVES = (
    "Brave",
    "Bright",
    "Bubbly",
    "Calm",
    "Clever",
    "Cosmic",
    "Cozy",
    "Curious",
    "Daring",
    "Dizzy",
    "Eager",
    "Fancy",
    "Fluffy",
    "Funky",
    "Gentle",
    "Giddy",
    "Happy",
    "Jolly",
    "Kind",
    "Lively",
    "Lucky",
    "Mellow",
    "Merry",
    "Mighty",
    "Nimble",
    "Plucky",
    "Polite",
    "Quick",
    "Quiet",
    "Shiny",
    "Silly",
    "Sleepy",
    "Snappy",
    "Sneaky",
    "Sparkly",
    "Speedy",
    "Sunny",
    "Swift",
    "Witty",
    "Zesty",
)
ANIMALS = (
    "Alpaca",
    "Badger",
    "Beaver",
    "Bison",
    "Camel",
    "Cheetah",
    "Dolphin",
    "Falcon",
    "Ferret",
    "Gecko",
    "Giraffe",
    "Hamster",
    "Hedgehog",
    "Heron",
    "Koala",
    "Lemur",
    "Llama",
    "Lobster",
    "Lynx",
    "Meerkat",
    "Moose",
    "Narwhal",
    "Octopus",
    "Otter",
    "Panda",
    "Parrot",
    "Pelican",
    "Penguin",
    "Puffin",
    "Quokka",
    "Rabbit",
    "Raccoon",
    "Salmon",
    "Seal",
    "Sloth",
    "Squid",
    "Toucan",
    "Turtle",
    "Walrus",
    "Wombat",
)
# Tries at a name nobody in the game has before a number is put on it ("Calm Otter 17").
_PLAIN_TRIES = 8


def generated_nickname(*, taken: Callable[[str], bool]) -> str:
    """A friendly name ("Sunny Otter") that `taken` says nobody in the game has."""
    for attempt in range(_PLAIN_TRIES + 1000):
        name = f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)}"
        if attempt >= _PLAIN_TRIES:
            name += f" {secrets.randbelow(90) + 10}"
        if not taken(name):
            return name
    raise RuntimeError("no free generated nickname")  # 1,000 numbered tries: never in practice
