from django.urls import path

from quiz.game import author_views, views

urlpatterns = [
    path("", views.join, name="join"),
    path("join/", views.join, name="join_post"),
    path("play/<int:game_id>/", views.play, name="play"),
    path("games/<int:game_id>/host/", views.host, name="host"),
    path("games/<int:game_id>/results.csv", views.results_csv, name="results_csv"),
    path("games/<int:game_id>/report/", author_views.game_report, name="game_report"),
    path("api/games/<int:game_id>/snapshot/", views.snapshot, name="api_snapshot"),
    path("api/games/<int:game_id>/token/", views.token, name="api_token"),
    path("api/games/<int:game_id>/answer/", views.answer, name="api_answer"),
    path("api/games/<int:game_id>/start/", views.start, name="api_start"),
    path("api/games/<int:game_id>/next/", views.next_question, name="api_next"),
    path("api/games/<int:game_id>/close/", views.close, name="api_close"),
    path("api/games/<int:game_id>/end/", views.end, name="api_end"),
    path("api/games/<int:game_id>/leave/", views.leave, name="api_leave"),
    path("api/games/<int:game_id>/players/<int:player_id>/kick/", views.kick, name="api_kick"),
]

urlpatterns += [
    path("accounts/signup/", author_views.signup, name="signup"),
    path("quizzes/", author_views.quiz_list, name="quiz_list"),
    path("quizzes/<int:quiz_id>/export.json", author_views.quiz_export, name="quiz_export"),
    path("quizzes/<int:quiz_id>/host/", author_views.host_new_game, name="host_new_game"),
    path("quizzes/new/", author_views.quiz_create, name="quiz_create"),
    path("quizzes/<int:quiz_id>/edit/", author_views.quiz_edit, name="quiz_edit"),
    path("quizzes/<int:quiz_id>/delete/", author_views.quiz_delete, name="quiz_delete"),
    path(
        "quizzes/<int:quiz_id>/questions/new/", author_views.question_create, name="question_create"
    ),
    path(
        "quizzes/<int:quiz_id>/questions/<int:question_id>/edit/",
        author_views.question_edit,
        name="question_edit",
    ),
    path(
        "quizzes/<int:quiz_id>/questions/<int:question_id>/delete/",
        author_views.question_delete,
        name="question_delete",
    ),
    path(
        "quizzes/<int:quiz_id>/questions/<int:question_id>/move/",
        author_views.question_move,
        name="question_move",
    ),
]
