from django.urls import path, register_converter

from quiz.game import author_views, views


class IdConverter:
    """A row id: at most 18 digits, so always within the database's 64-bit integers (a longer
    one matches no URL: a 404, not an overflow in the query)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("join/", views.join, name="join"),
    path("play/<id:game_id>/", views.play, name="play"),
    path("games/<id:game_id>/host/", views.host, name="host"),
    path("games/<id:game_id>/results.csv", views.results_csv, name="results_csv"),
    path("games/<id:game_id>/report/", author_views.game_report, name="game_report"),
    path("api/games/<id:game_id>/snapshot/", views.snapshot, name="api_snapshot"),
    path("api/games/<id:game_id>/token/", views.token, name="api_token"),
    path("api/games/<id:game_id>/answer/", views.answer, name="api_answer"),
    path("api/games/<id:game_id>/start/", views.start, name="api_start"),
    path("api/games/<id:game_id>/next/", views.next_question, name="api_next"),
    path("api/games/<id:game_id>/close/", views.close, name="api_close"),
    path("api/games/<id:game_id>/end/", views.end, name="api_end"),
    path("api/games/<id:game_id>/leave/", views.leave, name="api_leave"),
    path("api/games/<id:game_id>/players/<id:player_id>/kick/", views.kick, name="api_kick"),
    path("api/games/<id:game_id>/kick/", views.kick_many, name="api_kick_many"),
    path("api/games/<id:game_id>/lock/", views.lock, name="api_lock"),
    path("api/games/<id:game_id>/unlock/", views.unlock, name="api_unlock"),
    path("api/games/<id:game_id>/room/", views.room, name="api_room"),
    path("api/games/<id:game_id>/follow/", views.follow, name="api_follow"),
    path("games/<id:game_id>/play-again/", author_views.play_again, name="play_again"),
]

urlpatterns += [
    path("accounts/signup/", author_views.signup, name="signup"),
    path("quizzes/", author_views.quiz_list, name="quiz_list"),
    path("quizzes/<id:quiz_id>/export.json", author_views.quiz_export, name="quiz_export"),
    path("quizzes/<id:quiz_id>/host/", author_views.host_new_game, name="host_new_game"),
    path("quizzes/new/", author_views.quiz_create, name="quiz_create"),
    path("quizzes/<id:quiz_id>/edit/", author_views.quiz_edit, name="quiz_edit"),
    path("quizzes/<id:quiz_id>/delete/", author_views.quiz_delete, name="quiz_delete"),
    path(
        "quizzes/<id:quiz_id>/questions/new/", author_views.question_create, name="question_create"
    ),
    path(
        "quizzes/<id:quiz_id>/questions/<id:question_id>/edit/",
        author_views.question_edit,
        name="question_edit",
    ),
    path(
        "quizzes/<id:quiz_id>/questions/<id:question_id>/delete/",
        author_views.question_delete,
        name="question_delete",
    ),
    path(
        "quizzes/<id:quiz_id>/questions/<id:question_id>/move/",
        author_views.question_move,
        name="question_move",
    ),
]
