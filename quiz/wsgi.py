"""WSGI entry point: the site, and in every process that serves it the game's ticker and,
with STOMP_ANSWERS, a consumer of the answers pages send over the broker."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quiz.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402

from quiz.game.ticker import ticker  # noqa: E402 - needs the apps that the line above loads
from quiz.live.answers import consumer  # noqa: E402

ticker.start()
if settings.STOMP_ANSWERS:
    consumer.start()
