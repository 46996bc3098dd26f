"""The configuration is read from the dataclasses' own declaration (broker.config): every
key's type is the field's, and a key of the wrong type is refused by name, in every table."""

from __future__ import annotations

import pytest

from broker.config import ConfigError, config_from_dict


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"limits": {"heartbeat_grace": True}}, "limits.heartbeat_grace: expected int or float"),
        ({"limits": {"max_headers": True}}, "limits.max_headers: expected int"),
        ({"tokens": {"clock_skew_seconds": True}}, "tokens.clock_skew_seconds: expected int"),
        (
            {"history": [{"pattern": "/topic/a", "max_age_seconds": True}]},
            "history[0].max_age_seconds: expected int or float",
        ),
    ],
)
def test_a_bool_is_no_number_in_any_table(data: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=r"^" + named.replace("[", r"\[").replace("]", r"\]")):
        config_from_dict(data)


def test_a_number_may_be_zero_only_where_its_field_says_so() -> None:
    assert config_from_dict({"tokens": {"clock_skew_seconds": 0}}).tokens.clock_skew_seconds == 0
    with pytest.raises(ConfigError, match="limits.max_headers: must be positive, got 0"):
        config_from_dict({"limits": {"max_headers": 0}})


def test_a_table_given_as_something_else_says_what_it_needs() -> None:
    with pytest.raises(
        ConfigError, match=r"^users\[0\]: expected a table with login and passcode_hash"
    ):
        config_from_dict({"users": ["guest"]})
