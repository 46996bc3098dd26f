"""The default broker of a broker test module: user guest/guest with every right, who may
also read /stats; and no time limit on a property-based test's example."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings
from real_broker import BrokerProcess, start_broker

# The machine is shared: an example slowed past hypothesis's 200 ms deadline is not a failure.
settings.register_profile("broker", deadline=None)
settings.load_profile("broker")


@pytest.fixture(scope="module")
def broker_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    toml = '[http]\nstats_users = ["guest"]\n'
    with start_broker(tmp_path_factory.mktemp("broker"), toml=toml) as broker:
        yield broker
