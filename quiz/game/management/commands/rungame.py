"""`make run`: write the broker config, start the broker, then Django's dev server."""

import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from quiz.game.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERNAME


def broker_config() -> str:
    """The TOML the broker reads: our publisher user and the token secret."""
    from broker.auth import hash_passcode

    ws = settings.STOMP_WS_URL.split("://", 1)[-1].split("/", 1)[0]
    return "\n".join([
        f'tcp = "{settings.STOMP_HOST}:{settings.STOMP_PORT}"',
        f'ws = "{ws}"',
        "",
        "[[users]]",
        f'login = "{settings.STOMP_LOGIN}"',
        f'passcode_hash = "{hash_passcode(settings.STOMP_PASSCODE)}"',
        'read = ["/topic/games.*"]',
        'write = ["/topic/games.*"]',
        "",
        "[tokens]",
        f'secret = "{settings.STOMP_TOKEN_SECRET}"',
        f'resource_server_id = "{settings.STOMP_TOKEN_RESOURCE_SERVER_ID}"',
        "",
    ])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise CommandError(f"The broker did not listen on {host}:{port} in {timeout:.0f} s.")


class Command(BaseCommand):
    help = "Start the built-in broker and the development server; Ctrl-C stops both."

    def handle(self, *args: object, **options: object) -> None:
        config = Path(settings.BASE_DIR) / "var" / "broker.toml"
        config.parent.mkdir(exist_ok=True)
        config.write_text(broker_config())
        broker = subprocess.Popen([sys.executable, "-m", "broker", "--config", str(config)],
                                  cwd=settings.BASE_DIR)
        try:
            wait_for_port(settings.STOMP_HOST, settings.STOMP_PORT)
            self.stdout.write("Quiz Live: http://127.0.0.1:8000/")
            self.stdout.write(f"Author login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
            call_command("runserver", "127.0.0.1:8000", use_reloader=False)
        finally:
            broker.terminate()
            try:
                broker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                broker.kill()
