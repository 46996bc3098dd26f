"""Authors create and edit their own quizzes on their own pages; nobody else can see them."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from quiz.game import authoring
from quiz.game.models import Choice, Question, Quiz

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def question_post(
    text: str = "Largest planet?",
    time_limit: int = 30,
    points: int = 1000,
    choices: list[tuple[str, bool]] | None = None,
    ids: list[int] | None = None,
    **extra: object,
) -> dict[str, object]:
    """The POST body of the question page: the question and four choice rows."""
    choices = choices if choices is not None else [("Jupiter", True), ("Mars", False)]
    ids = ids or []
    data: dict[str, object] = {
        "text": text,
        "time_limit": time_limit,
        "points": points,
        "image_url": "",
        "choices-TOTAL_FORMS": 4,
        "choices-INITIAL_FORMS": len(ids),
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 4,
        **extra,
    }
    for i in range(4):
        data[f"choices-{i}-text"] = choices[i][0] if i < len(choices) else ""
        if i < len(choices) and choices[i][1]:
            data[f"choices-{i}-is_correct"] = "on"
        if i < len(ids):
            data[f"choices-{i}-id"] = ids[i]
    return data


def texts(quiz: Quiz) -> list[str]:
    return [q.text for q in quiz.questions.order_by("position")]


@pytest.fixture
def author_client(client: Client, author: User) -> Client:
    client.force_login(author)
    return client


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def test_author_creates_a_quiz_and_lands_on_its_edit_page(
    author_client: Client, author: User
) -> None:
    response = author_client.post(
        "/quizzes/new/", {"title": "Planets", "description": "Space"}, follow=True
    )
    quiz = Quiz.objects.get(title="Planets")
    assert quiz.author == author
    assert response.redirect_chain == [(f"/quizzes/{quiz.id}/edit/", 302)]
    assert "Created “Planets”" in response.content.decode()


def test_a_quiz_without_a_title_is_not_created(author_client: Client) -> None:
    response = author_client.post("/quizzes/new/", {"title": "", "description": "x"})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not Quiz.objects.exists()


def test_quiz_list_links_to_the_edit_page_and_new_quiz(author_client: Client, quiz: Quiz) -> None:
    page = author_client.get("/quizzes/").content.decode()
    assert f'href="/quizzes/{quiz.id}/edit/"' in page
    assert 'href="/quizzes/new/"' in page
    assert "/admin/" not in page


def test_staff_still_get_an_admin_link_on_the_quiz_list(
    client: Client, quiz: Quiz, author: User
) -> None:
    author.is_staff = True
    author.save()
    client.force_login(author)
    assert f"/admin/game/quiz/{quiz.id}/change/" in client.get("/quizzes/").content.decode()


def test_editing_title_and_description(author_client: Client, quiz: Quiz) -> None:
    response = author_client.post(
        f"/quizzes/{quiz.id}/edit/", {"title": "World capitals", "description": "Geography"}
    )
    assert response.status_code == 302
    quiz.refresh_from_db()
    assert (quiz.title, quiz.description) == ("World capitals", "Geography")


def test_edit_page_lists_questions_in_order_with_their_actions(
    author_client: Client, quiz: Quiz
) -> None:
    first, second = quiz.questions.order_by("position")
    page = author_client.get(f"/quizzes/{quiz.id}/edit/").content.decode()
    assert page.index(first.text) < page.index(second.text)
    for url in (
        f"/quizzes/{quiz.id}/questions/{second.id}/edit/",
        f"/quizzes/{quiz.id}/questions/{second.id}/move/",
        f"/quizzes/{quiz.id}/questions/{second.id}/delete/",
        f"/quizzes/{quiz.id}/questions/new/",
    ):
        assert url in page


def test_adding_a_question_saves_it_last_with_its_choices_in_order(
    author_client: Client, quiz: Quiz
) -> None:
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/",
        question_post(points=2000, choices=[("Jupiter", True), ("Mars", False), ("Io", False)]),
        follow=True,
    )
    assert response.redirect_chain == [(f"/quizzes/{quiz.id}/edit/", 302)]
    assert "Question saved." in response.content.decode()
    question = quiz.questions.get(text="Largest planet?")
    assert (question.position, question.time_limit, question.points) == (2, 30, 2000)
    assert [(c.text, c.is_correct, c.position) for c in question.choices.all()] == [
        ("Jupiter", True, 0),
        ("Mars", False, 1),
        ("Io", False, 2),
    ]


def test_editing_a_question_updates_kept_choices_in_place(
    author_client: Client, quiz: Quiz
) -> None:
    question = quiz.questions.get(text="Even numbers?")
    two, three, four = question.choices.all()
    data = question_post(
        text="Even numbers below 5?",
        time_limit=15,
        choices=[("2", True), ("3", False), ("4", True), ("0", True)],
        ids=[two.id, three.id, four.id],
    )
    data["choices-1-DELETE"] = "on"
    response = author_client.post(f"/quizzes/{quiz.id}/questions/{question.id}/edit/", data)
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.text, question.time_limit) == ("Even numbers below 5?", 15)
    assert [(c.id, c.text) for c in question.choices.all()][:2] == [(two.id, "2"), (four.id, "4")]
    assert [c.text for c in question.choices.all()] == ["2", "4", "0"]
    assert not Choice.objects.filter(pk=three.id).exists()


def test_invalid_question_shows_every_error_and_saves_nothing(
    author_client: Client, quiz: Quiz
) -> None:
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/",
        question_post(time_limit=3, choices=[("Jupiter", False)]),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The time limit is 5 to 120 seconds." in page
    assert "A question has 2 to 4 choices." in page
    assert "At least one choice must be correct." in page
    assert quiz.questions.count() == 2
    assert not Choice.objects.filter(text="Jupiter").exists()


def test_invalid_edit_leaves_the_question_unchanged(author_client: Client, quiz: Quiz) -> None:
    question = quiz.questions.get(text="Capital of France?")
    paris, rome = question.choices.all()
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/{question.id}/edit/",
        question_post(
            text="Changed", choices=[("Paris", False), ("Rome", False)], ids=[paris.id, rome.id]
        ),
    )
    assert "At least one choice must be correct." in response.content.decode()
    question.refresh_from_db()
    paris.refresh_from_db()
    assert (question.text, paris.is_correct) == ("Capital of France?", True)


def test_uploaded_picture_is_stored_under_media(
    author_client: Client, quiz: Quiz, settings
) -> None:
    picture = SimpleUploadedFile("planet.png", PNG, content_type="image/png")
    author_client.post(f"/quizzes/{quiz.id}/questions/new/", question_post(image=picture))
    question = quiz.questions.get(text="Largest planet?")
    assert question.picture_url.startswith("/media/questions/planet")
    assert (Path(settings.MEDIA_ROOT) / question.image.name).read_bytes() == PNG


def test_a_picture_cannot_be_both_uploaded_and_linked(author_client: Client, quiz: Quiz) -> None:
    picture = SimpleUploadedFile("planet.png", PNG, content_type="image/png")
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/",
        question_post(image=picture, image_url="https://example.org/p.png"),
    )
    assert "not both" in response.content.decode()
    assert quiz.questions.count() == 2


def test_an_upload_that_is_not_a_picture_is_refused(author_client: Client, quiz: Quiz) -> None:
    page = SimpleUploadedFile("page.svg", b"<svg onload='alert(1)'/>", content_type="image/svg")
    response = author_client.post(f"/quizzes/{quiz.id}/questions/new/", question_post(image=page))
    assert "The image must be one of" in response.content.decode()
    assert quiz.questions.count() == 2


def test_a_picture_over_the_size_limit_is_refused_naming_it(
    author_client: Client, quiz: Quiz, settings
) -> None:
    settings.QUIZ_MAX_PICTURE_BYTES = len(PNG) - 1
    picture = SimpleUploadedFile("planet.png", PNG, content_type="image/png")
    page = author_client.post(f"/quizzes/{quiz.id}/questions/new/", question_post(image=picture))
    assert f"The image is larger than {len(PNG) - 1}\xa0bytes." in page.content.decode()
    assert quiz.questions.count() == 2


def test_a_quiz_at_the_question_limit_takes_no_more_questions(
    author_client: Client, quiz: Quiz, settings
) -> None:
    settings.QUIZ_MAX_QUESTIONS = quiz.questions.count()
    response = author_client.post(f"/quizzes/{quiz.id}/questions/new/", question_post())
    assert f"A quiz has at most {settings.QUIZ_MAX_QUESTIONS} questions." in (
        response.content.decode()
    )
    assert quiz.questions.count() == settings.QUIZ_MAX_QUESTIONS


def test_moving_a_question_up_swaps_it_with_the_one_before(
    author_client: Client, quiz: Quiz
) -> None:
    second = quiz.questions.get(text="Even numbers?")
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/{second.id}/move/", {"direction": "up"}
    )
    assert response["Location"] == f"/quizzes/{quiz.id}/edit/#question-{second.id}"
    assert texts(quiz) == ["Even numbers?", "Capital of France?"]


def test_moving_the_last_question_down_changes_nothing(author_client: Client, quiz: Quiz) -> None:
    last = quiz.questions.get(text="Even numbers?")
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/{last.id}/move/", {"direction": "down"}, follow=True
    )
    assert "is already last" in response.content.decode()
    assert texts(quiz) == ["Capital of France?", "Even numbers?"]


def test_move_needs_a_direction(author_client: Client, quiz: Quiz) -> None:
    question = quiz.questions.first()
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/{question.id}/move/", {"direction": "sideways"}
    )
    assert response.status_code == 400


def test_move_is_post_only(author_client: Client, quiz: Quiz) -> None:
    question = quiz.questions.last()
    response = author_client.get(f"/quizzes/{quiz.id}/questions/{question.id}/move/")
    assert response.status_code == 405


def test_deleting_a_question_asks_first_then_closes_the_gap(
    author_client: Client, quiz: Quiz
) -> None:
    first = quiz.questions.get(text="Capital of France?")
    url = f"/quizzes/{quiz.id}/questions/{first.id}/delete/"
    assert "Delete this question?" in author_client.get(url).content.decode()
    assert quiz.questions.count() == 2
    response = author_client.post(url)
    assert response["Location"] == f"/quizzes/{quiz.id}/edit/"
    assert [(q.text, q.position) for q in quiz.questions.all()] == [("Even numbers?", 0)]


def test_deleting_a_quiz_asks_first_then_returns_to_the_list(
    author_client: Client, quiz: Quiz
) -> None:
    url = f"/quizzes/{quiz.id}/delete/"
    assert "its 2 questions" in author_client.get(url).content.decode()
    response = author_client.post(url, follow=True)
    assert response.redirect_chain == [("/quizzes/", 302)]
    assert "Deleted “Capitals”." in response.content.decode()
    assert not Quiz.objects.exists()


def test_a_question_added_after_a_delete_goes_last(quiz: Quiz) -> None:
    authoring.delete_question(question=quiz.questions.first())
    question = authoring.save_question(
        question=Question(quiz=quiz, text="New", time_limit=20, points=0),
        choices=[
            authoring.ChoiceInput(text="a", is_correct=True),
            authoring.ChoiceInput(text="b", is_correct=False),
        ],
    )
    assert [(q.text, q.position) for q in quiz.questions.all()] == [
        ("Even numbers?", 0),
        (question.text, 1),
    ]


def own_pages(quiz: Quiz) -> list[tuple[str, str]]:
    question = quiz.questions.first()
    q = f"/quizzes/{quiz.id}/questions/{question.id}"
    return [
        ("get", f"/quizzes/{quiz.id}/edit/"),
        ("post", f"/quizzes/{quiz.id}/edit/"),
        ("get", f"/quizzes/{quiz.id}/delete/"),
        ("post", f"/quizzes/{quiz.id}/delete/"),
        ("get", f"/quizzes/{quiz.id}/questions/new/"),
        ("post", f"/quizzes/{quiz.id}/questions/new/"),
        ("get", f"{q}/edit/"),
        ("post", f"{q}/edit/"),
        ("get", f"{q}/delete/"),
        ("post", f"{q}/delete/"),
        ("post", f"{q}/move/"),
    ]


def test_another_author_gets_404_everywhere_and_changes_nothing(client: Client, quiz: Quiz) -> None:
    client.force_login(User.objects.create_user("rival", password="pw-123456"))
    before = (texts(quiz), list(Choice.objects.values_list("id", "text", "is_correct")))
    for method, url in own_pages(quiz):
        data = {"direction": "up", "title": "Mine now", **question_post(text="Mine now")}
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)
        assert (method, url, response.status_code) == (method, url, 404)
    quiz.refresh_from_db()
    assert quiz.title == "Capitals"
    assert (texts(quiz), list(Choice.objects.values_list("id", "text", "is_correct"))) == before


def test_a_question_of_another_quiz_is_404_under_my_quiz(
    author_client: Client, quiz: Quiz, author: User
) -> None:
    mine = Quiz.objects.create(author=author, title="Mine")
    theirs = quiz.questions.first()
    other = Quiz.objects.create(author=User.objects.create_user("rival"), title="Theirs")
    theirs.quiz = other
    theirs.save()
    response = author_client.get(f"/quizzes/{mine.id}/questions/{theirs.id}/edit/")
    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_login(client: Client, quiz: Quiz) -> None:
    for method, url in [("get", "/quizzes/new/"), ("post", "/quizzes/new/"), *own_pages(quiz)]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"/accounts/login/?next={url}")
    assert Quiz.objects.count() == 1


@pytest.mark.parametrize("truth, right", [("true", "True"), ("false", "False")])
def test_true_or_false_is_written_by_picking_the_right_answer(
    author_client: Client, quiz: Quiz, truth: str, right: str
) -> None:
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/",
        question_post(text="Venus is hot.", choices=[], kind="true_false", truth=truth),
    )
    assert response.status_code == 302
    question = quiz.questions.get(text="Venus is hot.")
    assert question.kind == "true_false"
    assert [(c.text, c.is_correct) for c in question.choices.all()] == [
        ("True", right == "True"),
        ("False", right == "False"),
    ]
    page = author_client.get(f"/quizzes/{quiz.id}/questions/{question.id}/edit/").content
    assert f'name="truth" value="{truth}" id="id_truth_{0 if truth == "true" else 1}" checked' in (
        page.decode()
    )


def test_true_or_false_without_its_answer_is_refused(author_client: Client, quiz: Quiz) -> None:
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/",
        question_post(text="Venus is hot.", choices=[], kind="true_false"),
    )
    assert "Pick the right answer: True or False." in response.content.decode()
    assert not quiz.questions.filter(text="Venus is hot.").exists()


@pytest.mark.parametrize(
    "kind, rows, saved",
    [
        ("type_answer", [("Tokyo", False), ("Edo", False)], [("Tokyo", True), ("Edo", True)]),
        ("poll", [("Tea", True), ("Coffee", False)], [("Tea", False), ("Coffee", False)]),
        (
            "order",
            [("1", False), ("2", True), ("3", False)],
            [("1", False), ("2", False), ("3", False)],
        ),
    ],
)
def test_the_kinds_rows_take_its_correctness_whatever_is_ticked(
    author_client: Client, quiz: Quiz, kind: str, rows: list, saved: list
) -> None:
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/", question_post(text="Q?", choices=rows, kind=kind)
    )
    assert response.status_code == 302
    question = quiz.questions.get(text="Q?")
    assert (question.kind, [(c.text, c.is_correct) for c in question.choices.all()]) == (
        kind,
        saved,
    )


def test_a_poll_is_saved_with_no_points_whatever_the_hidden_field_held(
    author_client: Client, quiz: Quiz
) -> None:
    """The page hides Points for a kind that scores nothing, and its field still posts."""
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/",
        question_post(
            text="Tea or coffee?",
            choices=[("Tea", False), ("Coffee", False)],
            kind="poll",
            points=2000,
        ),  # fmt: skip
    )
    assert response.status_code == 302
    assert quiz.questions.get(text="Tea or coffee?").points == 0


def test_an_order_of_two_items_is_refused(author_client: Client, quiz: Quiz) -> None:
    response = author_client.post(
        f"/quizzes/{quiz.id}/questions/new/",
        question_post(text="Q?", choices=[("1", False), ("2", False)], kind="order"),
    )
    assert "A question has 3 to 4 items to order." in response.content.decode()
    assert not quiz.questions.filter(text="Q?").exists()
