"""Authors' pages: sign up, list, create and edit quizzes and their questions, host a game,
import and export, a game's report. Every quiz page is its author's alone: anyone else gets 404."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from quiz.game import authoring, kinds, selectors, services
from quiz.game.forms import (
    BaseChoiceFormSet,
    ChoiceFormSet,
    QuestionForm,
    QuizForm,
    kinds_on_the_question_page,
)
from quiz.game.models import Game, Question, Quiz
from quiz.game.quiz_io import export_quiz, import_quiz, read_document
from quiz.game.services import GameError

LOCKED_OUT = "Too many failed logins to this account. Wait 15 minutes, then try again."


def login_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' lockout: the login form again, saying why, with 429 Too Many Requests."""
    form = AuthenticationForm(request)
    return render(
        request, "registration/login.html", {"form": form, "error": LOCKED_OUT}, status=429
    )


def signup(request: HttpRequest) -> HttpResponse:
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save(), backend="django.contrib.auth.backends.ModelBackend")
        return redirect("quiz_list")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def quiz_list(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST" and request.FILES.get("file"):
        try:
            data = read_document(request.FILES["file"])
            quiz = import_quiz(author=request.user, data=data)
            messages.success(request, f"Imported “{quiz.title}”.")
            return redirect("quiz_list")
        except ValidationError as exc:
            error = exc.messages[0]
    quizzes = Quiz.objects.filter(author=request.user).prefetch_related("questions")
    return render(
        request,
        "game/quiz_list.html",
        {"quizzes": quizzes, "error": error},
        status=400 if error else 200,
    )


@login_required
def quiz_export(request: HttpRequest, quiz_id: int) -> JsonResponse:
    quiz = get_object_or_404(Quiz, pk=quiz_id, author=request.user)
    response = JsonResponse(export_quiz(quiz=quiz), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="quiz-{quiz.id}.json"'
    return response


def _host_screen(open_game: Callable[[], Game]) -> HttpResponse:
    """The host screen of the game `open_game` opens, or why it could not."""
    try:
        game = open_game()
    except GameError as error:
        return HttpResponse(error.detail, status=error.status)
    return redirect("host", game_id=game.id)


@login_required
@require_POST
def host_new_game(request: HttpRequest, quiz_id: int) -> HttpResponse:
    quiz = get_object_or_404(Quiz, pk=quiz_id, author=request.user)
    return _host_screen(lambda: services.create_game(quiz=quiz, host=request.user))


@login_required
@require_POST
def play_again(request: HttpRequest, game_id: int) -> HttpResponse:
    """The finished game's Play again: its next game's host screen, its players following."""
    return _host_screen(lambda: services.play_again(game_id=game_id, user=request.user))


@login_required
def game_report(request: HttpRequest, game_id: int) -> HttpResponse:
    """Per question and per player, for the game's host and its quiz's author."""
    game = get_object_or_404(Game.objects.select_related("quiz"), pk=game_id)
    if request.user.pk not in (game.host_id, game.quiz.author_id):
        return HttpResponse("Only the author can see this game's report.", status=403)
    return render(
        request,
        "game/game_report.html",
        {"game": game, "report": selectors.game_report(game=game)},
    )


def _own_quiz(request: HttpRequest, quiz_id: int) -> Quiz:
    return get_object_or_404(Quiz, pk=quiz_id, author=request.user)


def _own_question(request: HttpRequest, quiz_id: int, question_id: int) -> Question:
    return get_object_or_404(
        Question.objects.select_related("quiz"),
        pk=question_id,
        quiz_id=quiz_id,
        quiz__author=request.user,
    )


@login_required
@require_http_methods(["GET", "POST"])
def quiz_create(request: HttpRequest) -> HttpResponse:
    form = QuizForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.author = request.user
        quiz = form.save()
        messages.success(request, f"Created “{quiz.title}”. Now add its questions.")
        return redirect("quiz_edit", quiz_id=quiz.id)
    return render(request, "game/quiz_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def quiz_edit(request: HttpRequest, quiz_id: int) -> HttpResponse:
    quiz = _own_quiz(request, quiz_id)
    form = QuizForm(request.POST or None, instance=quiz)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the title and description.")
        return redirect("quiz_edit", quiz_id=quiz.id)
    questions = quiz.questions.prefetch_related("choices")
    games = quiz.games.annotate(player_total=Count("players")).order_by("-created_at")
    return render(
        request,
        "game/quiz_edit.html",
        {"quiz": quiz, "form": form, "questions": questions, "games": games},
    )


def _quiz_contents(quiz: Quiz) -> str:
    questions, games = quiz.questions.count(), quiz.games.count()
    contents = f"its {questions} question{pluralize(questions)}"
    if games:
        contents += f" and the results of its {games} game{pluralize(games)}"
    return contents


@login_required
@require_http_methods(["GET", "POST"])
def quiz_delete(request: HttpRequest, quiz_id: int) -> HttpResponse:
    quiz = _own_quiz(request, quiz_id)
    if request.method == "POST":
        quiz.delete()
        messages.success(request, f"Deleted “{quiz.title}”.")
        return redirect("quiz_list")
    return render(
        request,
        "game/confirm_delete.html",
        {
            "kind": "quiz",
            "name": quiz.title,
            "quiz": quiz,
            "cancel_url": reverse("quiz_edit", args=[quiz.id]),
            "also": _quiz_contents(quiz),
        },
    )


def _choices_given(
    form: QuestionForm, choices: BaseChoiceFormSet, question: Question
) -> list[authoring.ChoiceInput] | None:
    """The valid page's choices: its rows, or for true/false the two the shortcut writes
    (None, and the form says why, when the author picked neither)."""
    if not kinds.of(form.cleaned_data["kind"]).written_from_truth:
        return choices.choice_inputs()
    truth = form.true_false_answer()
    return None if truth is None else authoring.true_false_choices(question=question, truth=truth)


def _question_page(request: HttpRequest, question: Question) -> HttpResponse:
    """The add and edit pages: one question form and its choice rows, saved together."""
    form = QuestionForm(request.POST or None, request.FILES or None, instance=question)
    choices = ChoiceFormSet(request.POST or None, instance=question, prefix="choices")
    # the form first: it puts the posted kind on the question, which the rows are checked by
    if request.method == "POST" and all([form.is_valid(), choices.is_valid()]):
        given = _choices_given(form, choices, question)
        if given is not None:
            authoring.save_question(question=form.save(commit=False), choices=given)
            messages.success(request, "Question saved.")
            return redirect("quiz_edit", quiz_id=question.quiz_id)
    return render(
        request,
        "game/question_form.html",
        {
            "quiz": question.quiz,
            "question": question,
            "form": form,
            "choices": choices,
            "kinds": kinds_on_the_question_page(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def question_create(request: HttpRequest, quiz_id: int) -> HttpResponse:
    return _question_page(request, Question(quiz=_own_quiz(request, quiz_id)))


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, quiz_id: int, question_id: int) -> HttpResponse:
    return _question_page(request, _own_question(request, quiz_id, question_id))


@login_required
@require_http_methods(["GET", "POST"])
def question_delete(request: HttpRequest, quiz_id: int, question_id: int) -> HttpResponse:
    question = _own_question(request, quiz_id, question_id)
    if request.method == "POST":
        authoring.delete_question(question=question)
        messages.success(request, f"Deleted the question “{question.text}”.")
        return redirect("quiz_edit", quiz_id=quiz_id)
    return render(
        request,
        "game/confirm_delete.html",
        {
            "kind": "question",
            "name": question.text,
            "quiz": question.quiz,
            "cancel_url": reverse("quiz_edit", args=[quiz_id]),
            "also": "its choices",
        },
    )


@login_required
@require_POST
def question_move(request: HttpRequest, quiz_id: int, question_id: int) -> HttpResponse:
    question = _own_question(request, quiz_id, question_id)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest("The direction is up or down.")
    if authoring.move_question(question=question, direction=direction):
        messages.success(request, f"Moved “{question.text}” {direction}.")
    else:
        messages.info(
            request, f"“{question.text}” is already {'first' if direction == 'up' else 'last'}."
        )
    url = reverse("quiz_edit", args=[quiz_id])
    return HttpResponseRedirect(f"{url}#question-{question.id}")
