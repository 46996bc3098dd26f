"""The default broker of a broker test module: user guest/guest with every right, who may
also read /stats."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from real_broker import BrokerProcess, start_broker


@pytest.fixture(scope="module")
def broker_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    toml = '[http]\nstats_users = ["guest"]\n'
    with start_broker(tmp_path_factory.mktemp("broker"), toml=toml) as broker:
        yield broker
