from django.contrib import admin

from quiz.game.models import Choice, Game, Player, Question, Quiz


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0
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
