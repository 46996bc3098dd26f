"""`python -m bench`: fan-out, latency and memory of the built-in broker, next to RabbitMQ's."""
