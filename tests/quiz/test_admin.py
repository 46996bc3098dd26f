"""The admin writes questions under the authors' rules: the same form and choice formset."""

import pytest
from django.test import Client

from quiz.game.models import Question, Quiz

ADD_QUESTION = "/admin/game/question/add/"


def question_post(quiz: Quiz, *, time_limit: int, choices: list[tuple[str, bool]]) -> dict:
    """The admin's add-question form, with its inline choices."""
    data = {
        "quiz": quiz.id,
        "position": 5,
        "text": "Capital of Spain?",
        "image_url": "",
        "time_limit": time_limit,
        "points": 1000,
        "choices-TOTAL_FORMS": len(choices),
        "choices-INITIAL_FORMS": 0,
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 4,
    }
    for index, (text, correct) in enumerate(choices):
        data[f"choices-{index}-text"] = text
        data[f"choices-{index}-position"] = index
        if correct:
            data[f"choices-{index}-is_correct"] = "on"
    return data


@pytest.mark.django_db
def test_the_admin_refuses_a_question_the_authoring_rules_refuse(
    admin_client: Client, quiz: Quiz
) -> None:
    page = admin_client.post(
        ADD_QUESTION, question_post(quiz, time_limit=500, choices=[("Madrid", True)])
    ).content.decode()
    for rule in ("The time limit is 5 to 120 seconds.", "A question has 2 to 4 choices."):
        assert rule in page
    assert not Question.objects.filter(text="Capital of Spain?").exists()


@pytest.mark.django_db
def test_the_admin_adds_a_question_with_its_choices(admin_client: Client, quiz: Quiz) -> None:
    admin_client.post(
        ADD_QUESTION,
        question_post(quiz, time_limit=30, choices=[("Madrid", True), ("Lisbon", False)]),
    )
    question = Question.objects.get(text="Capital of Spain?")
    assert [(c.text, c.is_correct) for c in question.choices.all()] == [
        ("Madrid", True),
        ("Lisbon", False),
    ]


@pytest.mark.django_db
def test_the_admin_checks_the_choices_by_the_questions_kind(
    admin_client: Client, quiz: Quiz
) -> None:
    poll = question_post(quiz, time_limit=30, choices=[("Madrid", False), ("Lisbon", False)])
    admin_client.post(ADD_QUESTION, {**poll, "kind": "poll"})
    question = Question.objects.get(text="Capital of Spain?")
    assert (question.kind, question.choices.filter(is_correct=True).count()) == ("poll", 0)
    true_false = question_post(quiz, time_limit=30, choices=[("Yes", True), ("No", False)])
    page = admin_client.post(
        ADD_QUESTION, {**true_false, "kind": "true_false", "text": "Spain is big."}
    ).content.decode()
    assert "The choices are &quot;True&quot; and &quot;False&quot;, one of them correct." in page
    assert not Question.objects.filter(text="Spain is big.").exists()
