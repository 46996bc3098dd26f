"""The quiz game's Django project."""
