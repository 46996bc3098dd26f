"""Authors' forms. The rules live in validators.py; these forms attach them to the fields."""

from django import forms
from django.core.exceptions import ValidationError

from quiz.game import kinds
from quiz.game.authoring import ChoiceInput
from quiz.game.kinds.base import MAX_CHOICES, QuestionKind
from quiz.game.kinds.true_false import TRUE
from quiz.game.models import POINTS_CHOICES, Choice, Kind, Question, Quiz
from quiz.game.validators import (
    DESCRIPTION_MAX,
    IMAGE_EXTENSIONS,
    MAX_TIME,
    MIN_TIME,
    validate_choices,
    validate_image_upload,
    validate_picture_url,
    validate_points,
    validate_question_count,
    validate_time_limit,
)


class QuizForm(forms.ModelForm):
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = Quiz
        fields = ["title", "description"]


class QuestionForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=Kind.choices, required=False)
    truth = forms.TypedChoiceField(
        label="The right answer",
        choices=[("true", "True"), ("false", "False")],
        coerce=lambda value: value == "true",
        required=False,
        widget=forms.RadioSelect,
    )
    image = forms.FileField(
        label="Picture to upload",
        required=False,
        validators=[validate_image_upload],
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(f".{ext}" for ext in IMAGE_EXTENSIONS)}
        ),
    )
    image_url = forms.URLField(
        label="…or the address of a picture",
        required=False,
        assume_scheme="https",
        validators=[validate_picture_url],
    )
    time_limit = forms.IntegerField(
        label="Time limit (seconds)",
        validators=[validate_time_limit],
        widget=forms.NumberInput(attrs={"min": MIN_TIME, "max": MAX_TIME}),
    )
    points = forms.IntegerField(
        validators=[validate_points],
        widget=forms.RadioSelect(
            choices=[(value, f"{value} ({name.lower()})") for value, name in POINTS_CHOICES]
        ),
    )

    class Meta:
        model = Question
        fields = ["kind", "text", "image", "image_url", "time_limit", "points"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and kinds.of(self.instance.kind).written_from_truth:
            self.initial["truth"] = (
                "true"
                if self.instance.choices.filter(text=TRUE, is_correct=True).exists()
                else "false"
            )

    def true_false_answer(self) -> bool | None:
        """The right answer the author picked for a true/false question (after is_valid()),
        or None with the form's error saying to pick one. (An imported document gives its
        choices instead.)"""
        truth = self.cleaned_data.get("truth")
        if truth in (None, ""):
            self.add_error("truth", "Pick the right answer: True or False.")
            return None
        return truth

    def clean_kind(self) -> str:
        """A page or document that names no kind means the multiple choice of old."""
        return self.cleaned_data["kind"] or Kind.CHOICE

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("kind") and not kinds.of(cleaned["kind"]).scored:
            # the page hides Points for a kind nobody scores on; its field posts all the same
            cleaned["points"] = 0
        if cleaned.get("image") and cleaned.get("image_url"):
            self.add_error(
                "image_url",
                "Upload a picture or give its address, not both "
                "(tick Clear to drop an uploaded one).",
            )
        if self.instance.pk is None and self.instance.quiz_id is not None:
            # a question added on the author pages; an import counts its document's itself
            try:
                validate_question_count(self.instance.quiz.questions.count() + 1)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class BaseChoiceFormSet(forms.BaseInlineFormSet):
    """A question's choices: blank rows are ignored, the rest must pass `validate_choices` for
    the question's kind. Validate the question's form first: it puts the posted kind on the
    question (as the admin and the author pages do)."""

    # the rows are a true/false question's choices (the admin); the author pages write them
    # from the question form's answer instead (authoring.true_false_choices)
    true_false_rows = True

    @property
    def kind(self) -> str:
        return self.instance.kind

    @property
    def kind_rules(self) -> QuestionKind:
        return kinds.of(self.kind)

    def labelled_rows(self) -> list[tuple[str, forms.Form]]:
        """Each row with its label as the question's kind names it ("Accepted answer 1")."""
        return [
            (self.kind_rules.row_label(number), form)
            for number, form in enumerate(self.forms, start=1)
        ]

    def choice_inputs(self) -> list[ChoiceInput]:
        """The choices to keep, in the order shown; call after `is_valid()`. Correctness is
        the kind's where it has one (accepted answers are right, poll choices and order items
        are not), so the author ticks boxes only where they mean something."""
        return [
            ChoiceInput(
                text=form.cleaned_data["text"],
                is_correct=kinds.of(self.kind).correctness(form.cleaned_data["is_correct"]),
                id=form.instance.pk,
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or kinds.of(self.kind).written_from_truth and not self.true_false_rows:
            return
        validate_choices([(c.text, c.is_correct) for c in self.choice_inputs()], self.kind)


class AuthorChoiceFormSet(BaseChoiceFormSet):
    """The author pages' rows: a true/false question has none of its own."""

    true_false_rows = False


ChoiceFormSet = forms.inlineformset_factory(
    Question,
    Choice,
    formset=AuthorChoiceFormSet,
    fields=["text", "is_correct"],
    labels={"is_correct": "Correct"},
    extra=MAX_CHOICES,
    max_num=MAX_CHOICES,
    can_delete=True,
    can_delete_extra=False,
)


def kinds_on_the_question_page() -> dict[str, dict[str, object]]:
    """What the question page shows of each kind, for static/js/question-form.js to switch
    to when the author picks another: the rows' legend, hint and labels, whether a row has a
    Correct mark, whether the kind has rows at all (true/false: the right answer instead) and
    whether it takes points."""
    return {
        name: {
            "legend": rules.rows_legend,
            "hint": rules.rows_hint,
            "labels": [rules.row_label(number) for number in range(1, MAX_CHOICES + 1)],
            "marks_correct": rules.marks_correct,
            "rows": not rules.written_from_truth,
            "scored": rules.scored,
        }
        for name, rules in kinds.KINDS.items()
    }
