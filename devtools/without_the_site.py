"""pytest in a Python that has nothing of the site: `python -m devtools.without_the_site
tests/broker` runs the broker's tests as a checkout of the broker alone would, so a test that
leans on the game fails here instead of passing by accident.

`django` and `quiz` cannot be imported (each import raises ModuleNotFoundError),
pytest-django is off and DJANGO_SETTINGS_MODULE is unset; the arguments go to pytest."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import pytest

REFUSED = ("django", "quiz")


def main(args: Sequence[str]) -> int:
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    for name in REFUSED:
        sys.modules[name] = None  # type: ignore[assignment]  # import system: "not there"
    # pytest-django's ini key (DJANGO_SETTINGS_MODULE) is unknown once the plugin is off.
    return pytest.main(["-p", "no:django", "-W", "ignore::pytest.PytestConfigWarning", *args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
