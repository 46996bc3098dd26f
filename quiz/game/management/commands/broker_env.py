"""`make services`: the broker settings as shell assignments, so RabbitMQ gets the same ones;
with --toml, the built-in broker's config for them (the bench starts its broker with it)."""

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from quiz.live.broker_config import broker_config

NAMES = (
    "STOMP_LOGIN",
    "STOMP_PASSCODE",
    "STOMP_TOKEN_SECRET",
    "STOMP_TOKEN_RESOURCE_SERVER_ID",
    "STOMP_ADMIN_LOGIN",
    "STOMP_ADMIN_PASSCODE",
    "STOMP_ANSWER_QUEUE",
)


class Command(BaseCommand):
    help = "Print the publisher credentials and token settings as `export NAME=value` lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--toml",
            action="store_true",
            help="print the built-in broker's config instead (its listeners left to its "
            "command line)",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["toml"]:
            self.stdout.write(broker_config(), ending="")
            return
        for name in NAMES:
            self.stdout.write(f"export {name}={shlex.quote(str(getattr(settings, name)))}")
