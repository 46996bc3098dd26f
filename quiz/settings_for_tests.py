"""The settings every Django test runs with (pyproject.toml's DJANGO_SETTINGS_MODULE, which
the sites and commands a test starts inherit): the site's own, but for a fast password hasher,
as Django's docs advise for tests. Most game tests make a user, and PBKDF2's million rounds
cost a fifth of a second of CPU per hash."""

from quiz.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
