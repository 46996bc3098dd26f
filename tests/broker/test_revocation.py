"""A user an administrator cut off (broker.admin) cannot come back with the tokens it holds:
each CONNECT with one is refused until the revocation runs out (broker.auth), on the bytes of
the sans-I/O broker and a fake clock."""

from stomp_bytes import SECRET, Client, on_a_clock

from broker.admin import close_connections_of
from broker.auth import REVOCATION_SECONDS
from broker.tokens import issue_token

TOPIC = "/topic/games.1.status"
REVOKED = "token revoked: an administrator cut 'player:7' off after this token was issued"


def token(now: float, subject: str = "player:7") -> str:
    return issue_token(
        secret=SECRET, subject=subject, read=(TOPIC,), write=(), ttl_seconds=7200, now=now
    )


def test_a_token_issued_before_the_cut_is_refused_and_one_issued_after_is_taken() -> None:
    clock, broker, player = on_a_clock()
    held = token(clock.wall)
    assert player.connect(login="player:7", passcode=held).command == "CONNECTED"
    assert close_connections_of(broker, "player:7", "kicked") == 1

    back = Client(broker).connect(login="x", passcode=held)
    assert (back.command, back.headers["message"][: len(REVOKED)]) == ("ERROR", REVOKED)
    clock.advance(broker.config.tokens.clock_skew_seconds + 1)  # past the issuer's allowed skew
    assert Client(broker).connect(passcode=token(clock.wall)).command == "CONNECTED"
    assert Client(broker).connect(passcode=token(clock.wall - 5, "player:8")).command == (
        "CONNECTED"
    )


def test_a_revocation_runs_out() -> None:
    clock, broker, _ = on_a_clock()
    held = token(clock.wall)
    close_connections_of(broker, "player:7", "kicked")
    clock.advance(REVOCATION_SECONDS + 1)
    assert Client(broker).connect(passcode=held).command == "CONNECTED"


def test_a_token_from_an_issuer_whose_clock_is_ahead_is_refused_after_the_cut() -> None:
    clock, broker, player = on_a_clock()
    held = token(clock.wall + 5)  # the app's clock is 5 s ahead of the broker's
    assert player.connect(login="player:7", passcode=held).command == "CONNECTED"
    close_connections_of(broker, "player:7", "kicked")
    back = Client(broker).connect(login="x", passcode=held)
    assert (back.command, back.headers["message"][: len(REVOKED)]) == ("ERROR", REVOKED)
