"""The token format other apps rely on: RabbitMQ-style scopes in an HS256 JWT."""

from __future__ import annotations

import jwt
import pytest

from broker.config import Permissions
from broker.tokens import TokenError, issue_token, looks_like_token, verify_token

SECRET = "token-unit-test-secret-long-enough-for-hs256"
NOW = 1_800_000_000


def test_issued_token_carries_rabbitmq_style_scopes() -> None:
    token = issue_token(
        secret=SECRET,
        subject="ann",
        read=("/topic/games.42.*",),
        write=("/queue/jobs",),
        ttl_seconds=300,
        now=NOW,
    )
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="broker",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["scope"] == ["broker.read:*/amq.topic/games.42.*", "broker.write:*/jobs"]
    assert (claims["sub"], claims["exp"], claims["aud"]) == ("ann", NOW + 300, "broker")


def test_verified_token_grants_destination_patterns() -> None:
    token = issue_token(
        secret=SECRET, subject="ann", read=("*",), write=("/topic/a",), ttl_seconds=60, now=NOW
    )
    grant = verify_token(token, secret=SECRET, now=NOW)
    assert grant.permissions == Permissions(read=("/topic/*", "/queue/*"), write=("/topic/a",))
    assert (grant.subject, grant.expires_at) == ("ann", NOW + 60)


def test_a_token_written_by_another_app_with_a_space_separated_scope() -> None:
    claims = {
        "sub": "app",
        "exp": NOW + 60,
        "aud": "broker",
        "scope": "broker.read:%2F/amq.topic/x.* other.read:*/amq.topic/y broker.write:vh/q",
    }
    grant = verify_token(jwt.encode(claims, SECRET, algorithm="HS256"), secret=SECRET, now=NOW)
    assert grant.permissions == Permissions(read=("/topic/x.*",), write=())


@pytest.mark.parametrize(
    ("claims", "secret", "reason"),
    [
        (
            {"sub": "a", "exp": NOW + 60, "aud": "broker"},
            "some-other-secret-long-enough-xx",
            "signature",
        ),
        ({"sub": "a", "exp": NOW - 1, "aud": "broker"}, SECRET, "expired"),
        ({"sub": "a", "exp": NOW + 60, "aud": "elsewhere"}, SECRET, "aud must be 'broker'"),
        ({"sub": "a", "aud": "broker"}, SECRET, "'exp'"),
    ],
    ids=["forged", "expired", "other-audience", "no-expiry"],
)
def test_bad_tokens_say_what_is_wrong(claims: dict, secret: str, reason: str) -> None:
    token = jwt.encode(claims, secret, algorithm="HS256")
    with pytest.raises(TokenError) as caught:
        verify_token(token, secret=SECRET, now=NOW)
    assert reason in str(caught.value)


def test_only_jwt_shaped_passcodes_are_taken_for_tokens() -> None:
    token = issue_token(secret=SECRET, subject="a", read=(), write=(), ttl_seconds=1)
    assert looks_like_token(token)
    assert not looks_like_token("guest") and not looks_like_token(None)
