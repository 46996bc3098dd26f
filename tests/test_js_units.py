"""The browser modules' unit tests (tests/js/*.test.mjs) under node's own test runner."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_browser_module_unit_tests_pass_under_node_test() -> None:
    node = subprocess.run(
        ["node", "--test", "tests/js/"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert node.returncode == 0, node.stdout + node.stderr
