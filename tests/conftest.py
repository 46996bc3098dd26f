"""The test lanes (`make test-unit`, `make test`): every test gets one marker, `unit`,
`integration` or `browser`, by its folder, its file's name or the fixtures it needs; a test
that starts a process by itself says `@pytest.mark.integration`.

Nothing else lives here: the broker's tests (tests/broker) run without Django, so the game's
fixtures are in tests/game_fixtures.py, which the game's test folders take."""

from __future__ import annotations

import pytest

# Fixtures that start a process (a broker, a site, a virtualenv) or serve over sockets.
PROCESS_FIXTURES = {
    "broker_process",
    "game_broker",
    "rabbitmq",
    "live_server",
    "fresh_settings",
    "wheel",
}
# Folders and files whose tests run processes: the site on PostgreSQL, on RabbitMQ,
# `make run`, `make bench`, the broker's command line, pytest again without the site.
PROCESS_PLACES = {
    "concurrency",
    "rabbitmq",
    "test_make_run.py",
    "test_bench_smoke.py",
    "test_cli.py",
    "test_broker_stands_alone.py",
}


def lane(item: pytest.Item) -> str:
    path = item.path
    if "e2e" in path.parts:
        return "browser"
    if (
        path.stem.endswith("_integration")
        or PROCESS_PLACES & set(path.parts)
        or PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))
        or item.get_closest_marker("real_publisher")
        or item.get_closest_marker("integration")
    ):
        return "integration"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(lane(item))
