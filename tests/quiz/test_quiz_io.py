"""Quizzes survive export and import unchanged; bad documents change nothing."""

import copy
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quiz.game.models import Quiz
from quiz.game.quiz_io import export_quiz, import_quiz


def test_export_import_round_trip(quiz: Quiz, author) -> None:
    copy = import_quiz(author=author, data=export_quiz(quiz=quiz))
    assert export_quiz(quiz=copy) == export_quiz(quiz=quiz)


@pytest.mark.parametrize(
    "change",
    [
        {"time_limit": 4},
        {"points": 500},
        {"choices": [{"text": "only", "correct": True}]},
        {"choices": [{"text": "a", "correct": False}, {"text": "b", "correct": False}]},
    ],
)
def test_import_refuses_invalid_question(quiz: Quiz, author, change: dict) -> None:
    data = export_quiz(quiz=quiz)
    data["questions"][0].update(change)
    with pytest.raises(ValidationError):
        import_quiz(author=author, data=data)
    assert Quiz.objects.count() == 1


def test_author_can_host_from_quiz_list(client, quiz: Quiz, author) -> None:
    client.force_login(author)
    assert client.get("/quizzes/").status_code == 200
    response = client.post(f"/quizzes/{quiz.id}/host/")
    assert response.status_code == 302 and "/host/" in response["Location"]


def document() -> dict:
    return {
        "title": "Capitals",
        "description": "",
        "questions": [
            {
                "text": "Capital of France?",
                "image_url": "",
                "time_limit": 20,
                "points": 1000,
                "choices": [{"text": "Paris", "correct": True}, {"text": "Rome", "correct": False}],
            }
        ],
    }


def set_title(d: dict, value: object) -> None:
    d["title"] = value


def set_question(d: dict, name: str, value: object) -> None:
    d["questions"][0][name] = value


def set_choice(d: dict, name: str, value: object) -> None:
    d["questions"][0]["choices"][0][name] = value


# Each case of a malformed quiz file, and what the author is told.
BAD_DOCUMENTS = {
    "title_not_text": (lambda d: set_title(d, 123), "title: must be text."),
    "choice_without_correct": (
        lambda d: d["questions"][0]["choices"][0].pop("correct"),
        "question 1, choice 1, correct: is missing.",
    ),
    "image_url_null": (
        lambda d: set_question(d, "image_url", None),
        "question 1, image_url: must be text.",
    ),
    "description_null": (lambda d: d.update(description=None), "description: must be text."),
    "title_too_long": (
        lambda d: set_title(d, "x" * 5000),
        "title: Ensure this value has at most 200 characters (it has 5000).",
    ),
    "question_too_long": (
        lambda d: set_question(d, "text", "x" * 5000),
        "question 1, text: Ensure this value has at most 500 characters",
    ),
    "choice_too_long": (
        lambda d: set_choice(d, "text", "x" * 5000),
        "question 1, choice 1, text: Ensure this value has at most 200",
    ),
    "correct_as_text": (
        lambda d: set_choice(d, "correct", "false"),
        "question 1, choice 1, correct: must be true or false.",
    ),
    "javascript_url": (
        lambda d: set_question(d, "image_url", "javascript:alert(1)"),
        "question 1, image_url: Enter a valid URL.",
    ),
    "ftp_url": (
        lambda d: set_question(d, "image_url", "ftp://example.org/a.png"),
        "question 1, image_url: Enter an http:// or https:// address.",
    ),
    "time_limit_as_text": (
        lambda d: set_question(d, "time_limit", "20"),
        "question 1, time_limit: must be a whole number.",
    ),
    "question_not_object": (lambda d: d["questions"].append("?"), "question 2: must be an object."),
    "no_questions": (
        lambda d: d.update(questions=[]),
        "questions: a quiz needs at least one question.",
    ),
    "more_questions_than_the_limit": (
        lambda d: d.update(questions=d["questions"] * 101),
        "questions: A quiz has at most 100 questions.",
    ),
    "description_too_long": (
        lambda d: d.update(description="x" * 2001),
        "description: Ensure this value has at most 2000 characters (it has 2001).",
    ),
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS)
def test_upload_refuses_each_violation_with_400_naming_the_field(client, author, case: str) -> None:
    import io
    import json

    change, message = BAD_DOCUMENTS[case]
    data = document()
    change(data)
    client.force_login(author)
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "quiz.json"
    response = client.post("/quizzes/", {"file": upload})
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Quiz.objects.exists()


@pytest.mark.parametrize("case", BAD_DOCUMENTS)
def test_import_command_refuses_each_violation_naming_the_field(
    tmp_path, author, case: str
) -> None:
    import json

    from django.core.management import CommandError, call_command

    change, message = BAD_DOCUMENTS[case]
    data = document()
    change(data)
    (tmp_path / "quiz.json").write_text(json.dumps(data))
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_quiz", str(tmp_path / "quiz.json"), "--author", "author")
    assert not Quiz.objects.exists()


def test_upload_of_a_file_that_is_not_json_is_400(client, author) -> None:
    import io

    client.force_login(author)
    upload = io.BytesIO(b"\xff not json")
    upload.name = "quiz.json"
    response = client.post("/quizzes/", {"file": upload})
    assert response.status_code == 400
    assert b"The file is not a JSON document." in response.content


def test_a_valid_document_imports_with_its_values(author) -> None:
    data = document()
    set_question(data, "image_url", "https://example.org/paris.png")
    quiz = import_quiz(author=author, data=data)
    set_question(data, "kind", "choice")  # left out, it is the multiple choice of old
    assert export_quiz(quiz=quiz) == data


# The smallest PNG: one transparent pixel.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_an_uploaded_picture_travels_inside_the_export_and_comes_back_on_import(
    quiz: Quiz, author, settings, tmp_path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path / "this-server"
    question = quiz.questions.first()
    question.image = SimpleUploadedFile("paris.png", PIXEL_PNG, content_type="image/png")
    question.save()
    exported = export_quiz(quiz=quiz)
    assert exported["questions"][0]["image"]["data"].startswith("data:image/png;base64,")

    settings.MEDIA_ROOT = tmp_path / "another-server"
    copy = import_quiz(author=author, data=json.loads(json.dumps(exported)))

    picture = copy.questions.first().image
    assert picture.name.endswith(".png") and picture.read() == PIXEL_PNG
    assert (tmp_path / "another-server" / picture.name).exists()
    assert (
        export_quiz(quiz=copy)["questions"][0]["image"]["data"]
        == (exported["questions"][0]["image"]["data"])
    )


@pytest.mark.parametrize(
    "image, message",
    [
        (
            {"name": "x.png", "data": "https://example.org/x.png"},
            "question 1, image, data: must be a data URL",
        ),
        (
            {"name": "x.png", "data": "data:image/png;base64,%%%"},
            "question 1, image, data: is not valid base64.",
        ),
        (
            {"name": "x.svg", "data": "data:image/svg+xml;base64,PHN2Zz4="},
            "question 1, image: The image must be one of: gif, jpeg, jpg, png, webp.",
        ),
        ({"data": "data:image/png;base64,AA=="}, "question 1, image, name: is missing."),
    ],
)
def test_import_refuses_a_bad_embedded_picture(author, image: dict, message: str) -> None:
    data = document()
    set_question(data, "image", image)
    with pytest.raises(ValidationError, match=re.escape(message)):
        import_quiz(author=author, data=data)


def test_import_refuses_a_picture_both_embedded_and_by_address(author) -> None:
    import base64

    data = document()
    set_question(data, "image_url", "https://example.org/x.png")
    set_question(
        data,
        "image",
        {"name": "x.png", "data": "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()},
    )
    with pytest.raises(ValidationError, match="question 1, image_url: Upload a picture or give"):
        import_quiz(author=author, data=data)


def questions(count: int) -> dict:
    """A valid document of `count` questions."""
    data = document()
    data["questions"] = [copy.deepcopy(data["questions"][0]) for _ in range(count)]
    return data


def test_an_import_checks_the_whole_document_before_it_opens_a_transaction(author) -> None:
    """On SQLite a write transaction holds the one writer's turn that every live game's
    answers and joins wait for: nothing slow may happen inside it."""
    data = questions(3)
    data["questions"][-1]["points"] = 500
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError):
        import_quiz(author=author, data=data)
    assert [query["sql"] for query in queries] == []


def test_an_import_writes_in_as_many_queries_for_twenty_questions_as_for_one(author) -> None:
    def queries_to_import(data: dict) -> int:
        with CaptureQueriesContext(connection) as queries:
            import_quiz(author=author, data=data)
        return len(queries)

    assert queries_to_import(questions(20)) == queries_to_import(questions(1))


def test_the_question_limit_is_a_setting(author, settings) -> None:
    settings.QUIZ_MAX_QUESTIONS = 2
    with pytest.raises(ValidationError, match="questions: A quiz has at most 2 questions."):
        import_quiz(author=author, data=questions(3))
    assert import_quiz(author=author, data=questions(2)).questions.count() == 2


def test_an_embedded_picture_over_the_limit_is_refused_naming_it(author, settings) -> None:
    import base64

    settings.QUIZ_MAX_PICTURE_BYTES = 50
    data = document()
    set_question(
        data,
        "image",
        {"name": "x.png", "data": "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()},
    )
    with pytest.raises(ValidationError, match=r"question 1, image: The image is larger than 50"):
        import_quiz(author=author, data=data)
    assert not Quiz.objects.exists()


def oversize_file(settings) -> bytes:
    """A valid document over QUIZ_IMPORT_MAX_BYTES, which is made 1000."""
    settings.QUIZ_IMPORT_MAX_BYTES = 1000
    return json.dumps(questions(10)).encode()


def test_an_upload_over_the_size_limit_is_400_naming_it(client, author, settings) -> None:
    import io

    upload = io.BytesIO(oversize_file(settings))
    upload.name = "quiz.json"
    client.force_login(author)
    response = client.post("/quizzes/", {"file": upload})
    assert response.status_code == 400
    assert "A quiz file may be at most 1000\xa0bytes." in response.content.decode()
    assert not Quiz.objects.exists()


def test_the_import_command_refuses_a_file_over_the_size_limit_naming_it(
    tmp_path, author, settings
) -> None:
    from django.core.management import CommandError, call_command

    (tmp_path / "quiz.json").write_bytes(oversize_file(settings))
    with pytest.raises(CommandError, match=r"A quiz file may be at most 1000\sbytes\."):
        call_command("import_quiz", str(tmp_path / "quiz.json"), "--author", "author")
    assert not Quiz.objects.exists()
