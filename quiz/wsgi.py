"""WSGI entry point: the site, and in every process that serves it the game's ticker."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quiz.settings")
application = get_wsgi_application()

from quiz.game.ticker import ticker  # noqa: E402 - needs the apps that the line above loads

ticker.start()
