"""The game on RabbitMQ: the game tests' fixtures."""

# The game tests' fixtures: pytest finds fixtures in the conftest that holds their names.
from game_fixtures import *  # noqa: F403
