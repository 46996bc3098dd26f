"""What the site does with nothing configured, however it is started (`make run`,
`manage.py rungame`, gunicorn): nothing that helps a stranger."""

from __future__ import annotations


def test_debug_is_off_unless_asked_for(fresh_settings) -> None:
    """`manage.py rungame` on its own serves as `make run` does: no tracebacks to visitors."""
    result = fresh_settings("DEBUG")
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr


def test_debug_1_turns_it_on_to_develop(fresh_settings) -> None:
    assert fresh_settings("DEBUG", DEBUG="1").stdout.strip() == "True"
