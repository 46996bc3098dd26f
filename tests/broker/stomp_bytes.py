"""Drive a Broker with bytes and read back the frames it writes: no sockets, a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from broker.auth import Verifier, hash_passcode
from broker.client import read_frames
from broker.config import BrokerConfig, Limits, Permissions, Tokens, User
from broker.frames import Frame
from broker.routing import Broker

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
# One round of PBKDF2: these tests connect thousands of times, each first CONNECT of a broker
# checks its passcode, and at the broker's own cost each check takes 20 ms of CPU.
GUEST_HASH = hash_passcode("guest", iterations=1)


@dataclass
class Clock:
    """Monotonic and wall time that only move when a test says so."""

    monotonic: float = 1000.0
    wall: float = 1_800_000_000.0

    def advance(self, seconds: float) -> None:
        self.monotonic += seconds
        self.wall += seconds


@dataclass
class Client:
    """One session of the broker, seen from the client's side of the wire."""

    broker: Broker
    transport: str = "tcp"
    peer: str = "127.0.0.1:1"
    outputs: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.session = self.broker.open_session(
            transport=self.transport, peer=self.peer, on_output=lambda: self.outputs.append(1)
        )

    def send(self, data: bytes | str) -> None:
        self.session.receive_data(data.encode() if isinstance(data, str) else data)

    def raw(self) -> bytes:
        return b"".join(self.session.data_to_send())

    def flush(self) -> bytes:
        """What a transport does when the session signals output: take it, report the socket
        empty (so held input goes on)."""
        data = self.raw()
        self.session.note_backlog(0)
        return data

    def frames(self) -> list[Frame]:
        return read_frames(self.raw())

    def frame(self) -> Frame:
        frames = self.frames()
        assert len(frames) == 1, frames
        return frames[0]

    def connect(
        self, version: str = "1.2", login: str = "guest", passcode: str = "guest", extra: str = ""
    ) -> Frame:
        self.send(
            f"CONNECT\naccept-version:{version}\nhost:/\nlogin:{login}\n"
            f"passcode:{passcode}\n{extra}\n\x00"
        )
        return self.frame()

    def subscribe(self, destination: str, sid: str = "1", ack: str = "auto") -> None:
        self.send(f"SUBSCRIBE\nid:{sid}\ndestination:{destination}\nack:{ack}\n\n\x00")

    def publish(self, destination: str, body: str = "hi", headers: str = "") -> None:
        self.send(f"SEND\ndestination:{destination}\n{headers}\n{body}\x00")


def make_broker(
    clock: Clock | None = None, verifier: Verifier | None = None, **changes: object
) -> Broker:
    """A broker with user guest/guest (every right), reader (read /topic/public.*), tokens;
    passcodes are checked at once unless a `verifier` says otherwise."""
    config = BrokerConfig(
        users=(
            User("guest", GUEST_HASH),
            User("reader", GUEST_HASH, Permissions(read=("/topic/public.*",), write=())),
        ),
        tokens=Tokens(secret=SECRET),
    )
    if "limits" in changes and isinstance(changes["limits"], dict):
        changes["limits"] = replace(Limits(), **changes["limits"])
    clock = clock or Clock()
    return Broker(
        replace(config, **changes),
        clock=lambda: clock.monotonic,
        wall_clock=lambda: clock.wall,
        verifier=verifier,
    )


def on_a_clock() -> tuple[Clock, Broker, Client]:
    """A broker (make_broker's) on a fake clock, and one client of it, not yet connected."""
    clock = Clock()
    broker = make_broker(clock)
    return clock, broker, Client(broker)
