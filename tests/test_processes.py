"""devtools.processes, the helpers that the tests and the bench start brokers and sites with."""

from devtools.processes import free_port


def test_free_port_never_gives_the_same_port_twice_in_a_row() -> None:
    """A broker's TCP and WebSocket ports come from two calls in a row: the kernel may hand
    out a port again as soon as the probe closes (it did, in CI: both listeners on one port,
    and the broker could not start). 200 calls drew a repeat about half the time before."""
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
