"""The bench's embedded setup is `make run`'s: its site, told of a broker the bench starts
(QUIZ_BROKER=external), is given every setting that `make run`'s own broker (builtin) changes.
One left out once had every simulated phone load its snapshot after joining, as no page of
`make run` does: a join measured three requests where a phone makes one."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.setups import MAKE_RUN_BROKER

REPO = Path(__file__).resolve().parents[1]
BUILTIN_ONLY = 'QUIZ_BROKER == "builtin"'
# Where the broker is: the bench names the one it started, on ports of its own.
ADDRESSES = {"STOMP_ADMIN_URL"}


def settings_that_follow_the_broker() -> list[str]:
    """The settings whose default depends on whether the broker is `make run`'s own."""
    source = (REPO / "quiz" / "settings.py").read_text()
    return [
        target.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and BUILTIN_ONLY in ast.get_source_segment(source, node)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id not in ADDRESSES
    ]


def read_settings(names: list[str], **env: str) -> dict[str, object]:
    """Those settings as a fresh process reads them under `env` (nothing else of ours)."""
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STOMP_", "QUIZ_")) and key != "DEBUG"
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**environment, "DJANGO_SETTINGS_MODULE": "quiz.settings", **env},
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_embedded_benchs_site_gets_what_make_runs_broker_gives_it() -> None:
    names = settings_that_follow_the_broker()
    assert {"STOMP_HISTORY", "STOMP_ANSWER_BINDING", "STOMP_TOKEN_TTL_SECONDS"} <= set(names)
    bench = read_settings(names, QUIZ_BROKER="external", **MAKE_RUN_BROKER)
    make_run = read_settings(names, QUIZ_BROKER="builtin")
    assert bench == make_run
