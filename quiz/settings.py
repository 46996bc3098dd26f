"""Settings: the environment is read here and only here, with defaults that work on a laptop."""

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from quiz.local_secrets import secret_from_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def _derived(label: str) -> str:
    """A stable secret derived from SECRET_KEY, so a laptop needs no setup."""
    return hashlib.sha256(f"{label}:{SECRET_KEY}".encode()).hexdigest()


# Keys anyone can read in this repository or its history: never good enough to serve with.
KNOWN_SECRET_KEYS = frozenset({"dev-insecure-quiz-live-secret-key-change-me"})
SECRET_KEY_FILE = VAR_DIR / "secret_key"
SECRET_KEY_BYTES = 50
# The demo author's password (`manage.py seed_demo`, run by `make run`): this installation's
# own, made on first use, as the secret key is.
QUIZ_DEMO_PASSWORD_FILE = VAR_DIR / "demo_password"

# Off unless DEBUG=1 (`make run DEBUG=1` to develop): however the site is started (`make run`,
# `manage.py rungame`, gunicorn), a site that others reach shows them no tracebacks.
DEBUG = _env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY")
if SECRET_KEY is None:
    SECRET_KEY = secret_from_file(SECRET_KEY_FILE, nbytes=SECRET_KEY_BYTES)
if not DEBUG and (not SECRET_KEY or SECRET_KEY in KNOWN_SECRET_KEYS):
    raise ImproperlyConfigured(
        "SECRET_KEY is empty or a key published in the repository: with DEBUG off the site "
        f"will not serve with it. Set SECRET_KEY to a long random value, or unset it to use "
        f"this installation's own key in {SECRET_KEY_FILE}."
    )
# Any host name by default, so phones reach a laptop by its LAN address (`make run` serves
# with DEBUG off). The site uses the Host only in links it shows back on the same site and
# sends no e-mail; behind a domain name, name it here.
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h]

# Behind a reverse proxy that terminates TLS: the proxy says the request came over https in
# X-Forwarded-Proto (only trust it when every request passes through that proxy), and the
# site's https origin is named, so POSTs from its pages pass Django's origin check.
if _env_bool("QUIZ_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# The API's refusals are JSON, the CSRF check's too (quiz/urls.py has the other errors').
CSRF_FAILURE_VIEW = "quiz.game.views.api_csrf_failure"

# builtin: `make run` starts our broker with the settings below. external: a broker that is
# already running (e.g. RabbitMQ from `make services`) takes them as they are.
QUIZ_BROKER = os.environ.get("QUIZ_BROKER", "builtin")
if QUIZ_BROKER not in ("builtin", "external"):
    raise ImproperlyConfigured(f"QUIZ_BROKER must be builtin or external, not {QUIZ_BROKER!r}")
STOMP_HOST = os.environ.get("STOMP_HOST", "127.0.0.1")
STOMP_PORT = int(os.environ.get("STOMP_PORT", "61613"))
STOMP_LOGIN = os.environ.get("STOMP_LOGIN", "quiz")
STOMP_PASSCODE = os.environ.get("STOMP_PASSCODE") or _derived("stomp-passcode")
# Where browsers reach the broker. Unset: the host name the page was loaded from, on
# STOMP_WS_PORT at /ws, so a phone that opened http://192.168.1.20:8000/ gets that address too.
STOMP_WS_URL = os.environ.get("STOMP_WS_URL", "")
STOMP_WS_PORT = int(os.environ.get("STOMP_WS_PORT", "15674"))
STOMP_TOKEN_SECRET = os.environ.get("STOMP_TOKEN_SECRET") or _derived("stomp-token")
STOMP_TOKEN_RESOURCE_SERVER_ID = os.environ.get("STOMP_TOKEN_RESOURCE_SERVER_ID", "broker")
# How long a browser's broker token lives; pages renew theirs 10 s before it runs out. A kick
# cuts the kicked page off at once and refuses it a new token (quiz.live.revocation), and our
# broker refuses that player's earlier tokens for an hour (broker.auth.REVOCATION_SECONDS), so
# there a token may live that long: 2,000 idle phones renew once an hour, not 2,000 a minute.
# RabbitMQ refuses no earlier token, so there tokens live ten minutes: a kicked page could
# reconnect and watch (never answer: the site refuses it) until its token runs out.
STOMP_TOKEN_TTL_SECONDS = int(
    os.environ.get("STOMP_TOKEN_TTL_SECONDS", "3600" if QUIZ_BROKER == "builtin" else "600")
)
# Where a kick cuts the kicked player off the broker at once (quiz.live.revocation): the HTTP
# API of RabbitMQ's management plugin (DELETE /api/connections/username/<name>), which our
# broker answers on its WebSocket port. The login needs RabbitMQ's administrator tag there
# (and configure on the players' subscription queues), and `[http] admin_users` in our
# broker's config: `make services` and `make run` set both up.
STOMP_ADMIN_URL = os.environ.get("STOMP_ADMIN_URL") or (
    f"http://127.0.0.1:{STOMP_WS_PORT}"
    if QUIZ_BROKER == "builtin"
    else f"http://{STOMP_HOST}:15672"
)
STOMP_ADMIN_LOGIN = os.environ.get("STOMP_ADMIN_LOGIN", "quiz-admin")
# Whether the broker has presence (broker/GUIDE.md, "Presence"): players' pages announce
# themselves and the host screen marks who is connected. Ours does; RabbitMQ does not, so an
# external broker goes without unless STOMP_PRESENCE=1 says it is ours.
STOMP_PRESENCE = _env_bool("STOMP_PRESENCE", QUIZ_BROKER == "builtin")
# Whether players' pages may fall back to the broker's Server-Sent Events when WebSockets are
# blocked (docs/game.md, "When WebSockets are blocked"): ours serves them from the status
# topic's history; RabbitMQ has no such thing, so an external broker goes without unless
# STOMP_HTTP_FALLBACK=1 says it is ours.
STOMP_HTTP_FALLBACK = _env_bool("STOMP_HTTP_FALLBACK", QUIZ_BROKER == "builtin")
# Whether the broker keeps the status topics' history and replays it on a SUBSCRIBE's
# `x-stream-offset` (broker/GUIDE.md, "History and resume"): ours does, so a player's page
# that came with its snapshot asks for every frame kept and needs no snapshot request.
# RabbitMQ refuses that header on a topic's subscription (a classic queue) with an ERROR.
STOMP_HISTORY = _env_bool("STOMP_HISTORY", QUIZ_BROKER == "builtin")
STOMP_ADMIN_PASSCODE = os.environ.get("STOMP_ADMIN_PASSCODE") or _derived("stomp-admin-passcode")
# Players' pages send their answers on the broker connection they hold, each to a topic of
# its own that only its token may write to; the broker puts them in one queue, which every
# site process consumes in batches (quiz.live.answers, docs/game.md "Answers"). Ours binds
# that queue to the topics (`[[bindings]]`, quiz.live.broker_config); on RabbitMQ the site's
# consumers declare it, durable, bound to amq.topic. STOMP_ANSWERS=0: pages POST them.
STOMP_ANSWERS = _env_bool("STOMP_ANSWERS", True)
STOMP_ANSWER_QUEUE = os.environ.get("STOMP_ANSWER_QUEUE", "quiz-answers")
# Whether the broker binds that queue to the answer topics itself (ours, from its config);
# RabbitMQ's is declared by the consumers' SUBSCRIBE, durable, and bound to amq.topic.
STOMP_ANSWER_BINDING = _env_bool("STOMP_ANSWER_BINDING", QUIZ_BROKER == "builtin")
# Whether the broker stamps when each answer reached it (timestamp_in_ms), which the answer is
# then timed by: ours does, and RabbitMQ 3.12+ with its message timestamp interceptor set to
# overwrite (`message_interceptors.incoming.set_header_timestamp.overwrite = true`). Where it
# does not (RabbitMQ 3.10, or the interceptor keeping a client's own header), a client could
# set the header itself, so the time the site's consumer received the answer counts instead.
STOMP_ARRIVAL_STAMP = _env_bool("STOMP_ARRIVAL_STAMP", QUIZ_BROKER == "builtin")
# Where the game's frames and kicks go (quiz.live), as EMAIL_BACKEND chooses where mail goes:
# the broker above, or quiz.live.backends.locmem.MemoryBackend, a list, in tests.
QUIZ_LIVE_BACKEND = "quiz.live.backends.stomp.StompBackend"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "quiz.game",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Every response's Content-Security-Policy, errors' and static files' too.
    "quiz.game.middleware.ContentSecurityPolicyMiddleware",
    # Serves STATIC_ROOT (after collectstatic) from every worker, with no web server in front.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "quiz.urls"
WSGI_APPLICATION = "quiz.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
    )
}
# How the site opens an SQLite database (quiz/sqlite_backend): see below.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Every site thread shares a few connections per process (psycopg's pool), instead of
    # holding one each: 4 workers of 32 threads would want more than PostgreSQL's 100.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": int(os.environ.get("QUIZ_DB_POOL_SIZE", "12")),
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # Many players joining at once: a transaction takes the write lock when it begins (a
    # deferred one that reads, then writes, fails with "database is locked"), the writers of
    # one process queue for it in Python (quiz/sqlite_backend), other processes wait up to
    # 20 s, and WAL lets the snapshot reads go on meanwhile.
    DATABASES["default"]["ENGINE"] = "quiz.sqlite_backend"
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    # Tests too use a file, as the site does: an in-memory database shared between threads
    # (the live server's, the ticker's) locks whole tables and fails where a file waits.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

# The throttles' counts (quiz/game/throttle.py) and django-axes' lockouts are shared by every
# site process: the database cache, in the site's own database (its table is made by a
# migration), works for one process on SQLite and for several on PostgreSQL.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "quiz_cache",
    }
}
# Per minute. Many clients share one address (a school's NAT, a lecture hall's), so wrong
# PINs count per client (its browser, quiz.game.throttle), and the address's limits are high
# enough for a hall of 300 to join and mistype, yet far too low to try the million PINs
# (about 3.5 days from one address) or to fill games.
QUIZ_PIN_GUESSES_PER_MINUTE = int(os.environ.get("QUIZ_PIN_GUESSES_PER_MINUTE", "20"))
QUIZ_PIN_GUESSES_PER_ADDRESS_PER_MINUTE = int(
    os.environ.get("QUIZ_PIN_GUESSES_PER_ADDRESS_PER_MINUTE", "200")
)
QUIZ_JOINS_PER_MINUTE = int(os.environ.get("QUIZ_JOINS_PER_MINUTE", "600"))  # per address
# Whether a host may bar a kicked player's address from that game too (they ask for it with
# the kick; a kick alone bars the player's browser and nickname). Behind a proxy that does not
# pass each client's own address on (REMOTE_ADDR is the proxy's), turn this off: one such ban
# would bar everyone.
QUIZ_BAN_BY_ADDRESS = _env_bool("QUIZ_BAN_BY_ADDRESS", True)
# Games do not pile up and hold PINs: a host has at most this many games not finished, and a
# lobby nobody started (or a game nobody moved on) this many hours is finished, its PIN free.
QUIZ_LIVE_GAMES_PER_HOST = int(os.environ.get("QUIZ_LIVE_GAMES_PER_HOST", "20"))
QUIZ_ABANDONED_AFTER_HOURS = float(os.environ.get("QUIZ_ABANDONED_AFTER_HOURS", "12"))
# Players in one game (kicked and departed ones make room): well above any class or hall, and
# the 2,000-player game of the benchmarks, yet a bound on a game flooded with players.
QUIZ_MAX_PLAYERS_PER_GAME = int(os.environ.get("QUIZ_MAX_PLAYERS_PER_GAME", "3000"))
# Words refused in nicknames on top of the list the site ships (quiz/game/data/
# blocked_nicknames.txt, in its format: one a line): a school's own, in its own languages.
QUIZ_BLOCKED_NICKNAMES_FILE = os.environ.get("QUIZ_BLOCKED_NICKNAMES_FILE", "")
# How big a quiz may be: its questions, each picture, and a file to import (its pictures
# travel inside it, in base64: a third larger). An import is checked and written while live
# games share the database, so each bound keeps its work short.
QUIZ_MAX_QUESTIONS = int(os.environ.get("QUIZ_MAX_QUESTIONS", "100"))
QUIZ_MAX_PICTURE_BYTES = int(os.environ.get("QUIZ_MAX_PICTURE_BYTES", str(5 * 1024 * 1024)))
QUIZ_IMPORT_MAX_BYTES = int(os.environ.get("QUIZ_IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# django-axes counts failed logins (author login and admin) per username in the database and
# refuses that account's logins for a while after too many. Per username, not per address: a
# class shares its school's address (one pupil's typos would lock the teacher out), and a good
# login resets only its own account's count, never another's that was being guessed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns that without the address a client could rotate User-Agents or cookies to get
# past the lockout: neither is counted here, the username alone is.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "quiz.game.author_views.login_locked_out"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "quiz_list"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/stompjs", BASE_DIR / "node_modules" / "@stomp" / "stompjs" / "esm6"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Gzipped copies made once by collectstatic; no hashed names, so the stompjs modules'
    # relative imports (./client.js) still resolve.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# WhiteNoise also serves the files of STATICFILES_DIRS without collectstatic (`make run`),
# found once at start, not looked up on the disk at every request.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False
# The pages served at the site's root as they are: the join form at `/`, which every phone
# opens, costs the site no view, template or session, and a phone that had it gets a 304.
WHITENOISE_ROOT = BASE_DIR / "public"
WHITENOISE_INDEX_FILE = True
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "quiz": {"handlers": ["console"], "level": "INFO"},
        # with DEBUG off, Django's own logging would print no server error at all
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}

# Fair timing (docs/game.md, "Timing and points"): points come from the reaction time the
# player's page measured, never more than the server saw and never less than that minus the
# allowance for delivery; an answer that left in time counts if it arrives within the grace.
QUIZ_DELIVERY_ALLOWANCE_MS = int(os.environ.get("QUIZ_DELIVERY_ALLOWANCE_MS", "1000"))
QUIZ_ANSWER_GRACE_MS = int(os.environ.get("QUIZ_ANSWER_GRACE_MS", "1000"))
# Each question opens with its text alone for this long (every screen has it before the
# answers show), then the answers and the time limit start together: `opened_at`.
QUIZ_LEAD_IN_MS = int(os.environ.get("QUIZ_LEAD_IN_MS", "3000"))
