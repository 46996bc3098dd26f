from django.apps import AppConfig


class GameConfig(AppConfig):
    name = "quiz.game"
    label = "game"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from quiz.live import checks  # noqa: F401 - registers the broker settings' checks
