from django.contrib import admin

from quiz.game.forms import BaseChoiceFormSet, QuestionForm
from quiz.game.kinds.base import MAX_CHOICES
from quiz.game.models import Choice, Game, Player, Question, Quiz

# The authors' question fields, and the position that only the admin sets by hand.
QUESTION_FIELDS = ["position", "kind", "text", "image", "image_url", "time_limit", "points"]


class QuestionInline(admin.StackedInline):
    model = Question
    form = QuestionForm
    fields = QUESTION_FIELDS
    extra = 0


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = BaseChoiceFormSet
    extra = 2
    max_num = MAX_CHOICES


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "created_at"]
    inlines = [QuestionInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    form = QuestionForm
    fields = ["quiz", *QUESTION_FIELDS]
    list_display = ["text", "quiz", "kind", "position", "time_limit", "points"]
    inlines = [ChoiceInline]


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["pin", "quiz", "host", "state", "version", "created_at"]
    list_filter = ["state"]


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ["nickname", "game", "score", "kicked"]
