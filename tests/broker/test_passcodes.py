"""A passcode costs a guesser the broker's rounds of PBKDF2; the tests' users cost one round,
since the tests on bytes connect thousands of times (20 ms of CPU each at the broker's cost)."""

from __future__ import annotations

from stomp_bytes import GUEST_HASH

from broker.auth import HASH_ITERATIONS, hash_passcode, verify_passcode


def rounds(passcode_hash: str) -> int:
    return int(passcode_hash.split("$")[1])


def test_a_passcode_is_hashed_with_the_brokers_rounds_unless_told_otherwise() -> None:
    made = hash_passcode("pw")
    assert (rounds(made), verify_passcode("pw", made), verify_passcode("px", made)) == (
        HASH_ITERATIONS,
        True,
        False,
    )


def test_the_users_of_the_tests_on_bytes_take_one_round_to_check() -> None:
    assert (rounds(GUEST_HASH), verify_passcode("guest", GUEST_HASH)) == (1, True)
