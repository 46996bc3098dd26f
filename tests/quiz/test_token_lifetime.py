"""How long a page's broker token lives: long on our broker, which refuses a kicked player's
earlier tokens, so that idle phones do not come back to the site every minute."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from broker.auth import REVOCATION_SECONDS


def test_on_our_broker_a_token_lives_as_long_as_a_kick_is_remembered(fresh_settings) -> None:
    read = fresh_settings("STOMP_TOKEN_TTL_SECONDS", QUIZ_BROKER="builtin")
    assert int(read.stdout) == REVOCATION_SECONDS


def test_on_rabbitmq_which_forgets_no_token_a_token_lives_ten_minutes(fresh_settings) -> None:
    assert fresh_settings("STOMP_TOKEN_TTL_SECONDS", QUIZ_BROKER="external").stdout == "600\n"


def test_a_token_that_outlives_the_memory_of_a_kick_is_warned_of(settings) -> None:
    settings.QUIZ_BROKER = "builtin"
    settings.STOMP_TOKEN_TTL_SECONDS = int(REVOCATION_SECONDS) + 1
    with pytest.raises(SystemCheckError, match="quiz.W001"):
        call_command("check", fail_level="WARNING")
