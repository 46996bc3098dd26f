"""HTTP subscribers without sockets: what a request asks for, and the exact bytes of an event
stream, from a broker driven with STOMP bytes and a fake clock."""

from __future__ import annotations

from stomp_bytes import Client, make_broker
from websockets.datastructures import Headers
from websockets.http11 import Request

from broker.config import History
from broker.http_subscribers import RETRY_MS, parse_ask, read, sse_body
from broker.routing import Broker

STATUS = "/topic/games.7.status"


def history_broker() -> Broker:
    return make_broker(history=(History(pattern="/topic/games.*.status"),))


def request(path: str, **headers: str) -> Request:
    return Request(path=path, headers=Headers(**headers))


def published(broker: Broker, *bodies: str) -> None:
    publisher = Client(broker)
    assert publisher.connect().command == "CONNECTED"
    for body in bodies:
        publisher.publish(STATUS, body)


def test_an_event_sources_last_event_id_wins_over_the_offset_its_url_keeps() -> None:
    ask = parse_ask(request(f"/sse?destination={STATUS}&offset=5", **{"Last-Event-ID": "41"}))
    assert (ask.offset, ask.continuing) == (42, True)


def test_a_bearer_token_wins_over_one_in_the_url() -> None:
    ask = parse_ask(
        request(f"/poll?destination={STATUS}&access_token=url", Authorization="Bearer header")
    )
    assert ask.token == "header"


def test_an_event_stream_gives_each_line_of_a_body_a_data_field_then_ready() -> None:
    broker = history_broker()
    first = broker.history.log_to_read("games.7.status").next_offset  # type: ignore[union-attr]
    published(broker, '{"a": 1,\n "b": 2}', "")
    ask = parse_ask(request(f"/sse?destination={STATUS}&offset={first}"))
    assert sse_body(ask, read(broker, ask, ask.offset)) == (
        f"retry: {RETRY_MS}\n\n"
        f'id: {first}\ndata: {{"a": 1,\ndata:  "b": 2}}\n\n'
        f"id: {first + 1}\ndata: \n\n"
        f'event: ready\nid: {first + 1}\ndata: {{"resume": "resumed", "next_offset": {first + 2}}}'
        "\n\n"
    )


def test_an_event_sources_reconnect_with_nothing_new_gets_only_the_retry_hint() -> None:
    broker = history_broker()
    published(broker, "seen")
    last = broker.history.log_to_read("games.7.status").next_offset - 1  # type: ignore[union-attr]
    ask = parse_ask(request(f"/sse?destination={STATUS}", **{"Last-Event-ID": str(last)}))
    assert sse_body(ask, read(broker, ask, ask.offset)) == f"retry: {RETRY_MS}\n\n"


def test_an_event_stream_keeps_characters_that_python_but_not_sse_ends_lines_at() -> None:
    broker = history_broker()
    first = broker.history.log_to_read("games.7.status").next_offset  # type: ignore[union-attr]
    published(broker, '{"text": "a\u2028b\x0cc"}')
    ask = parse_ask(request(f"/sse?destination={STATUS}&offset={first}"))
    assert 'data: {"text": "a\u2028b\x0cc"}\n' in sse_body(ask, read(broker, ask, ask.offset))


def test_reads_of_topics_nobody_publishes_to_evict_no_history() -> None:
    broker = make_broker(history=(History(pattern="/topic/games.*.status", max_topics=2),))
    first = broker.history.log_to_read("games.7.status").next_offset  # type: ignore[union-attr]
    published(broker, "kept")
    for game in range(100, 140):  # made-up games, read and never published to
        made_up = parse_ask(request(f"/poll?destination=/topic/games.{game}.status&offset=1"))
        read(broker, made_up, made_up.offset)
    ask = parse_ask(request(f"/poll?destination={STATUS}&offset={first}"))
    answer = read(broker, ask, ask.offset)
    assert (answer.resume, [m.body for _, m in answer.messages]) == ("resumed", [b"kept"])
    assert broker.stats()["history"]["topics"] == 1


def test_a_reader_before_the_first_message_is_given_the_offset_that_message_gets() -> None:
    broker = history_broker()
    waiting = parse_ask(request(f"/poll?destination={STATUS}"))
    next_offset = read(broker, waiting, None).next_offset
    published(broker, "first")
    ask = parse_ask(request(f"/poll?destination={STATUS}&offset={next_offset}"))
    assert [m.body for _, m in read(broker, ask, ask.offset).messages] == [b"first"]
