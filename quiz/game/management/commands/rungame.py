"""`make run`: write the broker config, start the broker, then the site on gunicorn; with
QUIZ_BROKER=external only the site, publishing to the broker the STOMP_* settings name."""

import ctypes
import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication

from broker.processes import listening, wait_for_port
from quiz.balanced_worker import balanced_options
from quiz.game.management.commands.seed_demo import demo_login


def ws_address(site_host: str) -> tuple[str, int]:
    """Where the broker's WebSocket listener goes: STOMP_WS_URL's address, else the same
    interface as the site on STOMP_WS_PORT."""
    if settings.STOMP_WS_URL:
        url = urlsplit(settings.STOMP_WS_URL)
        return url.hostname or "127.0.0.1", url.port or settings.STOMP_WS_PORT
    return site_host, settings.STOMP_WS_PORT


def lan_address() -> str | None:
    """This machine's address on its local network, for the phones' join link."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent
            return probe.getsockname()[0]
        except OSError:
            return None


def site_origins(site_host: str, site_port: int) -> list[str]:
    """The origins the site's pages are loaded from, as far as this machine can tell: this
    computer's names, its address on the local network when the site listens on every
    interface (the address `make run` prints for phones), the host names ALLOWED_HOSTS
    spells out, and CSRF_TRUSTED_ORIGINS (a proxy's https origin)."""
    hosts = ["127.0.0.1", "localhost"]
    if site_host in ("0.0.0.0", "::"):
        hosts.append(lan_address() or "")
    elif not is_loopback(site_host):
        hosts.append(site_host)
    hosts += [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    origins = [f"http://{host}:{site_port}" for host in hosts if host]
    return list(dict.fromkeys([*origins, *settings.CSRF_TRUSTED_ORIGINS]))


def broker_config(site_host: str, site_port: int) -> str:
    """The TOML the broker reads: our publisher user, the token secret, the admin user a
    kick closes the kicked player's connections as (quiz.game.revocation), the site's origins
    (a page of another site gets no WebSocket or HTTP subscription with a visitor's browser),
    and the status topics' history."""
    from broker.auth import hash_passcode

    ws_host, ws_port = ws_address(site_host)
    origins = ", ".join(f'"{origin}"' for origin in site_origins(site_host, site_port))
    return "\n".join(
        [
            f'tcp = "{settings.STOMP_HOST}:{settings.STOMP_PORT}"',
            f'ws = "{ws_host}:{ws_port}"',
            "",
            "[[users]]",
            f'login = "{settings.STOMP_LOGIN}"',
            f'passcode_hash = "{hash_passcode(settings.STOMP_PASSCODE)}"',
            'read = ["/topic/games.*"]',
            'write = ["/topic/games.*"]',
            # only the site publishes: over TCP (from this machine when it listens on loopback)
            'listeners = ["tcp"]',
            f"loopback_only = {'true' if is_loopback(settings.STOMP_HOST) else 'false'}",
            "",
            # no STOMP rights at all: it only calls DELETE /api/connections/username/<login>
            "[[users]]",
            f'login = "{settings.STOMP_ADMIN_LOGIN}"',
            f'passcode_hash = "{hash_passcode(settings.STOMP_ADMIN_PASSCODE)}"',
            "read = []",
            "write = []",
            "",
            "[tokens]",
            f'secret = "{settings.STOMP_TOKEN_SECRET}"',
            f'resource_server_id = "{settings.STOMP_TOKEN_RESOURCE_SERVER_ID}"',
            "",
            "[http]",
            f'admin_users = ["{settings.STOMP_ADMIN_LOGIN}"]',
            f"allowed_origins = [{origins}]",
            "",
            *STATUS_HISTORY,
        ]
    )


# Every screen's status topic keeps a short history, so a page back from a drop of up to two
# minutes catches up from the broker instead of reloading its snapshot (docs/game.md).
STATUS_HISTORY_MESSAGES = 50
STATUS_HISTORY = (
    "[[history]]",
    'pattern = "/topic/games.*.status"',
    f"max_messages = {STATUS_HISTORY_MESSAGES}",
    "max_age_seconds = 120",
    "",
)


def is_loopback(host: str) -> bool:
    """Only this computer can reach an address on the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def refuse_known_key_beyond_loopback(*hosts: str) -> None:
    """A key from the repository signs sessions and derives the broker's publisher passcode
    and token secret: with it, anyone who can reach the ports could publish and read games."""
    exposed = [host for host in hosts if not is_loopback(host)]
    if exposed and settings.SECRET_KEY in settings.KNOWN_SECRET_KEYS:
        raise CommandError(
            f"Refusing to listen on {exposed[0]} with the SECRET_KEY published in the repository. "
            "Unset SECRET_KEY (the site then makes its own in var/secret_key) or set it to a "
            "long random value."
        )


def cannot_listen(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port now (taken, or no such address), or None.
    Tried by binding, as the server will, so a port taken on another interface counts."""
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return "already in use" if error.errno == errno.EADDRINUSE else str(error)
    return None


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the broker is stopped on the way out (gunicorn, once it
    runs, handles SIGTERM itself and also returns through the same cleanup)."""

    def exit_now(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_now)


def wait_for_broker(
    broker: subprocess.Popen[bytes], host: str, port: int, timeout: float = 15.0
) -> None:
    """Until the broker listens; its own error (printed above) if it exits first."""
    try:
        wait_for_port(broker, port, timeout, host=host)
    except RuntimeError:
        if broker.poll() is not None:
            raise CommandError(
                f"The broker exited with status {broker.returncode} (see above)."
            ) from None
        raise CommandError(
            f"The broker did not listen on {host}:{port} in {timeout:.0f} s."
        ) from None


def remove_stale_configs(directory: Path) -> None:
    """The configs of runs that were killed before they could remove theirs (they hold the
    token secret): every broker-<pid>.toml whose process is gone."""
    for stale in directory.glob("broker-*.toml"):
        pid = stale.stem.removeprefix("broker-")
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            stale.unlink(missing_ok=True)
        except PermissionError:
            pass  # another user's process: alive


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in the broker's process before it starts: the kernel sends it SIGTERM when
    rungame's thread that started it ends, even if rungame is killed outright (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class BrokerSupervisor:
    """The built-in broker as rungame's child: started, started again when it dies (a line in
    the log each time), and given up on when it dies more than `restarts` times in `window`
    seconds, which stops the site too: a game whose screens cannot follow is no game."""

    def __init__(
        self, config: Path, say: Callable[[str], None], *, restarts: int = 3, window: float = 60.0
    ) -> None:
        self.config = config
        self.say = say
        self.restarts = restarts
        self.window = window
        self.process: subprocess.Popen[bytes] | None = None
        self.gave_up = False
        self._deaths: deque[float] = deque()
        self._stopping = threading.Event()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "broker", "--config", str(self.config)],
            cwd=settings.BASE_DIR,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        wait_for_broker(self.process, settings.STOMP_HOST, settings.STOMP_PORT)

    def watch(self, give_up: Callable[[], None]) -> None:
        """Check twice a second in a thread of its own until `stop()`."""
        threading.Thread(
            target=self._watch, args=(give_up,), name="broker-supervisor", daemon=True
        ).start()

    def _watch(self, give_up: Callable[[], None]) -> None:
        while not self._stopping.wait(0.5):
            if self.process is None or self.process.poll() is None:
                continue
            now = time.monotonic()
            self._deaths.append(now)
            while self._deaths and self._deaths[0] < now - self.window:
                self._deaths.popleft()
            if len(self._deaths) > self.restarts:
                self.gave_up = True
                self.say(
                    f"The broker died {len(self._deaths)} times in {self.window:.0f} s; "
                    "stopping the site (the broker's errors are above)."
                )
                give_up()
                return
            # no status: gunicorn's arbiter reaps every child of its process, the broker too
            self.say("The broker exited; starting it again.")
            try:
                self.start()
            except CommandError as error:
                self.say(str(error))

    def stop(self) -> None:
        self._stopping.set()
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def default_workers() -> int:
    """One process per core: Python runs one thread at a time in a process. On SQLite their
    writers queue for the database in turn (quiz/sqlite_backend)."""
    return os.cpu_count() or 1


class GameSite(BaseApplication):
    """gunicorn serving quiz.wsgi with threads: each worker keeps its phones' connections
    open in one poller and runs requests on a pool of threads (gunicorn's gthread worker),
    taking no more than its share of the connections (quiz/balanced_worker)."""

    def __init__(self, options: dict[str, object]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> object:
        from quiz.wsgi import application

        return application


class Command(BaseCommand):
    help = "Start the built-in broker and the site (gunicorn, threaded workers); Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="where the site listens (default: %(default)s)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", 0)) or default_workers(),
            help="site processes (default: WEB_CONCURRENCY, else one per core: %(default)s)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=32,
            help="request threads per process (default: %(default)s)",
        )

    def handle(self, *args: object, **options: object) -> None:
        addr = str(options["addr"])
        site_host, _, site_port = addr.rpartition(":")
        if not site_host or not site_port.isdigit():
            raise CommandError(f"--addr: expected HOST:PORT, got {addr!r}")
        self.server_options = {"workers": options["workers"], "threads": options["threads"]}
        refuse_known_key_beyond_loopback(site_host, ws_address(site_host)[0])
        listeners = [("the site", site_host, int(site_port))]
        if settings.QUIZ_BROKER == "builtin":
            listeners += [
                ("the broker's STOMP port", settings.STOMP_HOST, settings.STOMP_PORT),
                ("the broker's WebSocket port", *ws_address(site_host)),
            ]
        for what, host, port in listeners:
            if why := cannot_listen(host, port):
                raise CommandError(
                    f"{host}:{port}, for {what}, is {why} (an earlier `make run`?). Stop what "
                    "holds it, or choose other ports: ADDR=HOST:PORT for the site, STOMP_PORT "
                    "and STOMP_WS_PORT for the broker (or use a running broker: "
                    "QUIZ_BROKER=external)."
                )
        if settings.QUIZ_BROKER == "external":
            self.use_external_broker()
            self.serve(addr)
            return
        stop_on_sigterm()
        # This run's own config (it holds the token secret: 0600), so a second `make run`
        # never rewrites the one a running broker reads.
        config = Path(settings.BASE_DIR) / "var" / f"broker-{os.getpid()}.toml"
        remove_stale_configs(config.parent)
        broker = BrokerSupervisor(config, lambda line: self.stderr.write(line))
        # gunicorn's workers are forks of this process: one that exits unwinds this very stack,
        # and must leave the broker and its config to the process that started them.
        starter = os.getpid()
        try:
            config.parent.mkdir(exist_ok=True)
            config.touch(mode=0o600)
            config.chmod(0o600)
            config.write_text(broker_config(site_host, int(site_port)))
            broker.start()
            # gunicorn stops on SIGTERM and returns through the `finally` below
            broker.watch(give_up=lambda: os.kill(os.getpid(), signal.SIGTERM))
            self.serve(addr)
        except SystemExit:
            if broker.gave_up and os.getpid() == starter:
                raise CommandError("Stopped: the broker kept dying (see above).") from None
            raise
        finally:
            if os.getpid() == starter:
                broker.stop()
                config.unlink(missing_ok=True)

    def use_external_broker(self) -> None:
        """QUIZ_BROKER=external: say where the broker is; the game runs even while it is down."""
        where = f"{settings.STOMP_HOST}:{settings.STOMP_PORT}"
        browsers = settings.STOMP_WS_URL or f"ws://<the page's host>:{settings.STOMP_WS_PORT}/ws"
        self.stdout.write(
            f"Broker: external, STOMP at {where} as {settings.STOMP_LOGIN}, browsers at {browsers}"
        )
        if not listening(settings.STOMP_PORT, settings.STOMP_HOST):
            self.stderr.write(
                f"Nothing listens on {where} yet: frames are dropped until it "
                "does (for RabbitMQ: make services)."
            )

    def serve(self, addr: str) -> None:
        """Print how to reach the game, then run the site until Ctrl-C."""
        site_host, _, site_port = addr.rpartition(":")
        shown = "127.0.0.1" if site_host in ("0.0.0.0", "::") else site_host
        self.stdout.write(f"Quiz Live: http://{shown}:{site_port}/")
        lan = lan_address() if site_host in ("0.0.0.0", "::") else None
        if lan:
            self.stdout.write(
                f"Phones on this network: http://{lan}:{site_port}/ "
                "(open the host screen at this address so its QR code works)"
            )
        else:
            self.stdout.write(
                "Only this computer can join; for phones on the same network: "
                f"make run ADDR=0.0.0.0:{site_port}"
            )
        if login := demo_login():
            self.stdout.write(
                f"Demo author login: {login} (yours alone: each teacher signs up at "
                "/accounts/signup/)"
            )
        call_command("check")
        connections.close_all()  # the workers are forked: each opens its own
        GameSite(
            {
                "bind": addr,
                **balanced_options(workers=self.server_options["workers"]),
                **self.server_options,
                # every phone keeps its connection: a big game's fit in one worker's poller
                "worker_connections": 4000,
                "keepalive": 20,
                "backlog": 4096,
                "graceful_timeout": 5,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "info",
            }
        ).run()
