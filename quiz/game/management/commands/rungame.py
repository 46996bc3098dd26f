"""`make run`: write the broker config, start the broker, then the site on gunicorn beside it
(each a child of this process: BrokerSupervisor); with QUIZ_BROKER=external only the site, in
this process, publishing to the broker the STOMP_* settings name."""

import errno
import gc
import os
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker

from quiz.balanced_worker import balanced_options
from quiz.game.management.commands.seed_demo import demo_login
from quiz.live.broker_config import broker_config, is_loopback
from quiz.live.broker_process import (
    BrokerSupervisor,
    broker_listens,
    die_with_parent,
    remove_stale_configs,
)


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
    """SIGTERM unwinds like Ctrl-C, so a broker already started is stopped on the way out;
    once the site runs, BrokerSupervisor.run_beside takes SIGTERM and SIGINT instead."""

    def exit_now(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_now)


def stop_the_master(worker: Worker) -> None:
    """A worker asked to stop (SIGTERM, SIGINT or SIGQUIT: each goes through gunicorn's
    worker_int, see quiz/balanced_worker) asks its master to stop too, so a `kill` of one
    worker stops the site where gunicorn would start another; a worker that crashes (kill
    -9, an error) is still replaced. A master stopping already (it sent the signal) takes no
    notice; one retiring workers on HUP or TTOU, which `make run` does not use, would stop."""
    if os.getppid() == worker.ppid:  # not orphaned: its master's pid is no one else's
        os.kill(worker.ppid, signal.SIGTERM)


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
            "--stop-with-parent",
            action="store_true",
            help="stop when the process that started this one ends, even killed outright "
            "(make run passes it: stopping make stops the site)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=32,
            help="request threads per process (default: %(default)s)",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["stop_with_parent"]:
            die_with_parent()
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
            self.announce(addr)
            self.site(addr).run()
            return
        stop_on_sigterm()
        # This run's own config (it holds the token secret: 0600), so a second `make run`
        # never rewrites the one a running broker reads.
        config = Path(settings.BASE_DIR) / "var" / f"broker-{os.getpid()}.toml"
        remove_stale_configs(config.parent)
        supervisor = BrokerSupervisor(config, lambda line: self.stderr.write(line))
        try:
            config.parent.mkdir(exist_ok=True)
            config.touch(mode=0o600)
            config.chmod(0o600)
            ws_host, ws_port = ws_address(site_host)
            config.write_text(
                broker_config(
                    tcp=f"{settings.STOMP_HOST}:{settings.STOMP_PORT}",
                    ws=f"{ws_host}:{ws_port}",
                    origins=site_origins(site_host, int(site_port)),
                )
            )
            supervisor.start()
            self.announce(addr)
            status = supervisor.run_beside(self.site(addr).run)
        finally:
            supervisor.stop_broker()
            config.unlink(missing_ok=True)
        if supervisor.gave_up:
            raise CommandError("Stopped: the broker kept dying (see above).")
        raise SystemExit(status)

    def use_external_broker(self) -> None:
        """QUIZ_BROKER=external: say where the broker is; the game runs even while it is down."""
        where = f"{settings.STOMP_HOST}:{settings.STOMP_PORT}"
        browsers = settings.STOMP_WS_URL or f"ws://<the page's host>:{settings.STOMP_WS_PORT}/ws"
        self.stdout.write(
            f"Broker: external, STOMP at {where} as {settings.STOMP_LOGIN}, browsers at {browsers}"
        )
        if not broker_listens():
            self.stderr.write(
                f"Nothing listens on {where} yet: frames are dropped until it "
                "does (for RabbitMQ: make services)."
            )

    def announce(self, addr: str) -> None:
        """Print how to reach the game, and check the project before serving it."""
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

    def site(self, addr: str) -> GameSite:
        """The site on gunicorn, to run until it is stopped."""
        connections.close_all()  # the workers are forked: each opens its own
        # What is loaded by now (and in each worker once the site is: post_worker_init) lives
        # as long as the process: kept out of the garbage collector's sight, it costs no
        # collection, and a process on its way out no longer spends ~2 s collecting it.
        gc.freeze()
        return GameSite(
            {
                "bind": addr,
                **balanced_options(workers=self.server_options["workers"]),
                **self.server_options,
                # every phone keeps its connection: a big game's fit in one worker's poller
                "worker_connections": 4000,
                "keepalive": 20,
                "backlog": 4096,
                "graceful_timeout": 5,
                # a worker whose master is killed outright stops at once, not a second later
                "post_fork": lambda _arbiter, _worker: die_with_parent(),
                "worker_int": stop_the_master,
                "post_worker_init": lambda _worker: gc.freeze(),  # see gc.freeze() above
                # one fixed path (~/.gunicorn/gunicorn.ctl) that every run on the machine shares
                "control_socket_disable": True,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "info",
            }
        )
