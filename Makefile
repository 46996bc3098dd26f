# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
ADDR ?= 127.0.0.1:8000
# `make run` serves as a site that stays up should: no tracebacks to visitors and no query
# log kept per request. `make run DEBUG=1` to develop.
DEBUG ?= 0

.PHONY: setup services run broker test test-unit test-broker test-scale fuzz lint bench clean \
	screenshots

setup: $(STAMP) node_modules/.installed

$(STAMP): pyproject.toml broker/pyproject.toml
	@echo "==> Python packages into $(VENV)"
	$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ./broker -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> npm packages into node_modules"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Playwright drives Debian's Chromium; its own browser download does not work here.
$(CHROMIUM):
	@echo "==> Chromium from Debian's packages"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The phone's streak (🔥) is an emoji: without a colour emoji font the screenshots show a box.
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
$(EMOJI_FONT):
	@echo "==> An emoji font from Debian's packages"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji

# The README's screenshots: tests/e2e/test_screens.py plays a whole game on two projectors and
# two phones (every screen lands in test-artifacts/screens/); a few go to docs/screenshots/.
SCREENSHOTS := lobby-projector-1366 question-phone-390 reveal-projector-1366 verdict-phone-360 \
	podium-projector-1366 editor-typed-projector-1366
screenshots: setup $(CHROMIUM) $(EMOJI_FONT)
	$(PY) -m pytest tests/e2e/test_screens.py -q -k whole_game
	$(PY) -m pytest tests/e2e/test_question_editor.py -q -k follows_the_typing
	mkdir -p docs/screenshots
	for name in $(SCREENSHOTS); do cp test-artifacts/screens/$$name.png docs/screenshots/; done

# RabbitMQ and PostgreSQL from Debian's packages, configured and running (see the script).
# RabbitMQ gets the publisher credentials and token secret of Django's settings.
services: setup
	@eval "$$($(PY) manage.py broker_env)" && scripts/services.sh

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	DEBUG=$(DEBUG) exec $(PY) manage.py rungame --addr $(ADDR) --stop-with-parent

broker: setup
	$(PY) -m broker

# The test lanes (markers set by tests/conftest.py from a test's folder, file, fixtures and
# its own integration marker):
#   unit         no process, socket or browser of its own: the broker on bytes, the game's rules,
#                views through Django's test client, the pages' modules under node. Under a minute.
#   integration  real processes over real sockets: brokers, `make run`, the bench, the site on
#                PostgreSQL and RabbitMQ.
#   browser      whole games in Chromium (tests/e2e).
# `make test` runs every lane: first the broker's tests as a checkout of the broker alone runs
# them (nothing of Django or the site importable: devtools/without_the_site.py), then the rest.
test: setup $(CHROMIUM) test-broker
	$(PY) manage.py check
	$(PY) -m pytest --ignore=tests/broker

# The fast lane runs the broker's fuzz tests with 20 examples each (150 in `make test`).
test-unit: setup
	FUZZ_EXAMPLES=20 $(PY) -m pytest -m unit -q

test-broker: setup
	$(PY) -m devtools.without_the_site tests/broker

# The game's integration and browser tests again, on the setup for more than one machine:
# PostgreSQL and RabbitMQ from `make services` (they fail, not skip, when those are absent).
SCALE_DATABASE_URL ?= postgres://quiz:quiz@127.0.0.1:5432/quiz
test-scale: setup $(CHROMIUM)
	DATABASE_URL=$(SCALE_DATABASE_URL) QUIZ_TEST_BROKER=rabbitmq QUIZ_REQUIRE_SERVICES=1 \
		$(PY) -m pytest tests/quiz tests/e2e

# The broker's property-based fuzz tests with many more examples than `make test` runs.
FUZZ_EXAMPLES ?= 20000
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/broker/test_fuzz.py -q -o timeout=0

# One house style: ruff's checks, and its formatting left as it is.
lint: setup
	$(VENV)/bin/ruff check broker quiz tests bench devtools
	$(VENV)/bin/ruff format --check .

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules var db.sqlite3 staticfiles test-artifacts
