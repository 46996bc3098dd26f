"""The broker's tests need nothing of the site: `make test` runs tests/broker with Django and
`quiz` out of reach (devtools/without_the_site.py); here, that they all load so, and that a
broker test leaning on the site would fail there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from real_broker import REPO


def without_the_site(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.without_the_site", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_broker_test_loads_with_nothing_of_the_site() -> None:
    result = without_the_site("tests/broker", "--collect-only", "-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " tests collected" in result.stdout


@pytest.mark.parametrize(
    "source, why",
    [
        ("import quiz.live\n\ndef test_it():\n    pass\n", "No module named 'quiz"),
        (
            "from django.conf import settings\n\ndef test_it():\n    pass\n",
            "No module named 'django",
        ),
        ("def test_it(settings):\n    pass\n", "fixture 'settings' not found"),
    ],
    ids=["imports-the-site", "imports-django", "asks-for-django-settings"],
)
def test_a_test_that_leans_on_the_site_fails_there(tmp_path: Path, source: str, why: str) -> None:
    (tmp_path / "test_leaning.py").write_text(source)
    result = without_the_site(tmp_path / "test_leaning.py", "--rootdir", tmp_path)
    assert result.returncode != 0 and why in result.stdout, result.stdout[-3000:]
