"""Authors' pages: sign up, list quizzes, host a game, import and export."""

import json

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from quiz.game import services
from quiz.game.models import Quiz
from quiz.game.quiz_io import export_quiz, import_quiz
from quiz.game.services import GameError


def signup(request: HttpRequest) -> HttpResponse:
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save())
        return redirect("quiz_list")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def quiz_list(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST" and request.FILES.get("file"):
        try:
            import_quiz(author=request.user, data=json.load(request.FILES["file"]))
            return redirect("quiz_list")
        except (ValueError, ValidationError) as exc:
            error = getattr(exc, "messages", [str(exc)])[0]
    quizzes = Quiz.objects.filter(author=request.user).prefetch_related("questions")
    return render(request, "game/quiz_list.html", {"quizzes": quizzes, "error": error})


@login_required
def quiz_export(request: HttpRequest, quiz_id: int) -> JsonResponse:
    quiz = get_object_or_404(Quiz, pk=quiz_id, author=request.user)
    response = JsonResponse(export_quiz(quiz=quiz), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="quiz-{quiz.id}.json"'
    return response


@login_required
@require_POST
def host_new_game(request: HttpRequest, quiz_id: int) -> HttpResponse:
    quiz = get_object_or_404(Quiz, pk=quiz_id, author=request.user)
    try:
        game = services.create_game(quiz=quiz, host=request.user)
    except GameError as error:
        return HttpResponse(error.detail, status=error.status)
    return redirect("host", game_id=game.id)
