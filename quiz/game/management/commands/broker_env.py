"""`make services`: the broker settings as shell assignments, so RabbitMQ gets the same ones."""

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand

NAMES = (
    "STOMP_LOGIN",
    "STOMP_PASSCODE",
    "STOMP_TOKEN_SECRET",
    "STOMP_TOKEN_RESOURCE_SERVER_ID",
    "STOMP_ADMIN_LOGIN",
    "STOMP_ADMIN_PASSCODE",
)


class Command(BaseCommand):
    help = "Print the publisher credentials and token settings as `export NAME=value` lines."

    def handle(self, *args: object, **options: object) -> None:
        for name in NAMES:
            self.stdout.write(f"export {name}={shlex.quote(str(getattr(settings, name)))}")
