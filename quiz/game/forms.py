"""Authors' forms. The rules live in validators.py; these forms attach them to the fields."""

from django import forms

from quiz.game.authoring import ChoiceInput
from quiz.game.models import Choice, Question, Quiz
from quiz.game.validators import (
    IMAGE_EXTENSIONS,
    MAX_CHOICES,
    MAX_TIME,
    MIN_TIME,
    POINTS_CHOICES,
    validate_choices,
    validate_image_upload,
    validate_picture_url,
    validate_points,
    validate_time_limit,
)


class QuizForm(forms.ModelForm):
    class Meta:
        model = Quiz
        fields = ["title", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class QuestionForm(forms.ModelForm):
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
        fields = ["text", "image", "image_url", "time_limit", "points"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("image") and cleaned.get("image_url"):
            self.add_error(
                "image_url",
                "Upload a picture or give its address, not both "
                "(tick Clear to drop an uploaded one).",
            )
        return cleaned


class BaseChoiceFormSet(forms.BaseInlineFormSet):
    """A question's choices: blank rows are ignored, the rest must pass `validate_choices`."""

    def choice_inputs(self) -> list[ChoiceInput]:
        """The choices to keep, in the order shown; call after `is_valid()`."""
        return [
            ChoiceInput(
                text=form.cleaned_data["text"],
                is_correct=form.cleaned_data["is_correct"],
                id=form.instance.pk,
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        validate_choices([(c.text, c.is_correct) for c in self.choice_inputs()])


ChoiceFormSet = forms.inlineformset_factory(
    Question,
    Choice,
    formset=BaseChoiceFormSet,
    fields=["text", "is_correct"],
    labels={"is_correct": "Correct"},
    extra=MAX_CHOICES,
    max_num=MAX_CHOICES,
    can_delete=True,
    can_delete_extra=False,
)
