"""The rule by which gunicorn's workers share the phones' connections (quiz/balanced_worker);
tests/test_make_run.py shows it on a real crowd."""

from quiz.balanced_worker import SLACK, ConnectionShares


def test_a_worker_ahead_of_the_least_loaded_by_more_than_the_slack_stops_accepting() -> None:
    shares = ConnectionShares(4)
    first, second = shares.claim(), shares.claim()
    assert shares.may_accept(second, SLACK)
    assert not shares.may_accept(second, SLACK + 1)
    assert shares.may_accept(first, 0)  # the least loaded always may


def test_a_worker_alone_or_beside_exited_ones_accepts() -> None:
    shares = ConnectionShares(4)
    first = shares.claim()
    assert shares.may_accept(first, 500)
    second = shares.claim()
    assert not shares.may_accept(first, 500)
    shares.release(second)
    assert shares.may_accept(first, 500)
    assert shares.claim() == second  # its slot goes to the worker that replaces it
