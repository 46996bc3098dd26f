"""`python -m bench`: the built-in broker measured next to RabbitMQ, and whole games played
on the site as `make run` serves it and on RabbitMQ + PostgreSQL (see bench/cli.py)."""
