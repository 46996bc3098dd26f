from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from quiz.game.models import Choice, Game, Player, Question, Quiz
from quiz.game.validators import validate_question


class ChoiceFormSet(BaseInlineFormSet):
    """Apply the authoring rules to a question and its choices together."""

    def clean(self) -> None:
        super().clean()
        question = self.instance
        choices = [
            (f.cleaned_data.get("text", ""), f.cleaned_data.get("is_correct", False))
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        try:
            validate_question(
                text=question.text,
                time_limit=question.time_limit,
                points=question.points,
                choices=choices,
            )
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = ChoiceFormSet
    extra = 2
    max_num = 4


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "created_at"]
    inlines = [QuestionInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "quiz", "position", "time_limit", "points"]
    inlines = [ChoiceInline]


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["pin", "quiz", "host", "state", "version", "created_at"]
    list_filter = ["state"]


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ["nickname", "game", "score", "kicked"]
