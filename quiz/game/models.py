"""Quizzes (authored content) and games (one live run of a quiz)."""

import functools
import unicodedata

from confusable_homoglyphs.utils import load as load_unicode_data
from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

# The longest nickname, in characters: the join form, the join service and the column agree.
NICKNAME_MAX = 20
# A question's points, as the author picks them: (value, name).
POINTS_CHOICES = ((0, "No points"), (1000, "Standard"), (2000, "Double"))
DEFAULT_POINTS = 1000


@functools.cache
def ascii_look_alikes() -> dict[str, str]:
    """Each non-ASCII character that Unicode lists as confusable with one ASCII character, and
    that character (Cyrillic "А" and Greek "Α" are "A"). Built once per process from the
    table confusable-homoglyphs ships; the table itself is let go."""
    table = {}
    for char, glyphs in load_unicode_data("confusables.json").items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_glyph = next((g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii()), None)
        if ascii_glyph is not None:
            table[char] = ascii_glyph
    return table


# Characters a screen shows as nothing at all, or as a blank, though they are letters or
# symbols to Unicode (so str.isprintable() lets them through): Unicode's
# Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt: fillers, joiners, variation
# selectors, tags), and the blank Braille pattern.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def is_invisible(char: str) -> bool:
    """Whether `char` shows as nothing or as a blank (_INVISIBLE_RANGES)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def visible_text(text: str) -> str:
    """`text` as a reader sees it: invisible characters dropped, blanks run together into one
    space and none at either end."""
    return " ".join("".join(char for char in text if not is_invisible(char)).split())


def nickname_key(nickname: str) -> str:
    """What makes two nicknames the same to a reader: NFKC folds compatibility forms
    (full-width "Ａｎｎ" is "Ann"), invisible characters go and blanks run together ("Ann"
    with a Hangul filler is "Ann"), then letters of other scripts that look like ASCII ones
    become those (Cyrillic "Аnn" is "Ann"), and case folding drops the case ("ANN", "ann",
    "ß"/"ss"). ASCII look-alikes among themselves ("l" and "I") stay apart."""
    folded = visible_text(unicodedata.normalize("NFKC", nickname)).casefold()
    look_alikes = ascii_look_alikes()
    return "".join(look_alikes.get(char, char) for char in folded).casefold()


def typed_answer_key(text: str) -> str:
    """What makes a typed answer match an accepted one: case, accents and surrounding spaces
    do not count ("  Éclair " is "eclair"): NFKD splits accented letters into letter and
    combining mark, the marks are dropped, then case folding and the strip."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.casefold().strip()


class Quiz(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quizzes"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "quizzes"

    def __str__(self) -> str:
        return self.title

    # Django's cached_property, not functools': on Python 3.11 that one holds a lock shared by
    # every instance while it counts, and the site's threads queued on it (py-spy, bench).
    @cached_property
    def question_count(self) -> int:
        """Counted once per instance: a snapshot or a frame names it twice."""
        return self.questions.count()


class Kind(models.TextChoices):
    """A question's kind: how it is asked, answered and scored. Each has its rules in
    quiz/game/kinds/ and its answer screen in static/js/answer-kinds.js."""

    CHOICE = "choice", "Multiple choice"  # 2–4 choices, one or more right
    TRUE_FALSE = "true_false", "True or false"  # the choices "True" and "False", one right
    # 2–4 choices, none right: no points, the distribution is the result
    POLL = "poll", "Poll (no right answer, no points)"
    TYPE_ANSWER = "type_answer", "Type answer"  # the player types; choices: accepted answers
    ORDER = "order", "Put in order"  # 3–4 items; the choices' positions are the right order


class Question(models.Model):
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    text = models.CharField(max_length=500)
    image_url = models.URLField(blank=True)
    image = models.FileField(upload_to="questions/", blank=True)
    time_limit = models.PositiveIntegerField(default=20)
    points = models.PositiveIntegerField(choices=POINTS_CHOICES, default=DEFAULT_POINTS)
    # how it is asked, answered and scored; its choices depend on it
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHOICE)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def picture_url(self) -> str | None:
        if self.image:
            return self.image.url
        return self.image_url or None


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveIntegerField(default=0)
    text = models.CharField(max_length=200)
    is_correct = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class Game(models.Model):
    class State(models.TextChoices):
        LOBBY = "lobby"
        QUESTION_OPEN = "question_open"
        QUESTION_CLOSED = "question_closed"
        FINISHED = "finished"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="games")
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hosted_games"
    )
    pin = models.CharField(max_length=6)
    state = models.CharField(max_length=20, choices=State.choices, default=State.LOBBY)
    version = models.PositiveIntegerField(default=1)
    question_index = models.IntegerField(default=-1)
    current_question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The host's room (services.set_room_options, lock_game): no joins while locked; a player
    # who joins while a question is open plays from the next one (latecomers_wait) or at once;
    # players get a generated nickname instead of their own; words refused in nicknames on
    # top of the site's list (one a line).
    locked = models.BooleanField(default=False)
    latecomers_wait = models.BooleanField(default=True)
    generated_nicknames = models.BooleanField(default=False)
    blocked_words = models.TextField(blank=True, default="")
    # Play again: the game this one follows (its players follow into this one), and the first
    # game of that run of games, whose kicks stand in every game of it.
    previous_game = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_game"
    )
    room = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pin"],
                condition=~models.Q(state="finished"),
                name="unique_pin_among_live_games",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quiz} ({self.pin})"


class PlayerQuerySet(models.QuerySet["Player"]):
    def active(self) -> "PlayerQuerySet":
        """Players still in the game: neither kicked by the host nor gone of their own accord."""
        return self.filter(kicked=False, left_at__isnull=True)


class Player(models.Model):
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="players")
    nickname = models.CharField(max_length=NICKNAME_MAX)
    # nickname_key(nickname): unique per game, so look-alike nicknames cannot both join.
    # (text: NFKC may make a nickname of NICKNAME_MAX characters 18 times longer)
    nickname_key = models.TextField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.IntegerField(default=0)
    correct_count = models.PositiveIntegerField(default=0)
    # correct answers in a row, up to the last closed question (Kahoot's answer streak)
    streak = models.PositiveIntegerField(default=0)
    kicked = models.BooleanField(default=False)
    # Where the player joined from: joins are counted by address (selectors.recent_joins).
    address = models.GenericIPAddressField(null=True, blank=True)
    # The host kicked the player and asked to bar their address from this game too (a class
    # behind one address shares it, so a kick alone does not).
    address_banned = models.BooleanField(default=False)
    left_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    # joined while a question was open in a game whose latecomers wait: plays from the next
    # question on (not counted among those who answer this one, and refused its answer)
    waiting = models.BooleanField(default=False)

    objects = PlayerQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["game", "nickname_key"], name="unique_nickname_key_per_game"
            ),
        ]
        indexes = [
            # the join throttle: joins from one address in the last minute
            models.Index(fields=["address", "joined_at"], name="player_address_joined"),
            # the players still in, by rank: the top of the ranking, and the counts every join
            # and snapshot makes (join_sql), read from the index alone, not from each row of a
            # room of thousands (it holds every column those counts test)
            models.Index(
                fields=["game", "-score", "joined_at", "id", "waiting", "kicked", "left_at"],
                condition=models.Q(kicked=False, left_at__isnull=True),
                name="player_active_by_rank",
            ),
            # the kicked players of a game, whose address a join checks: a few, whatever the
            # room's size
            models.Index(
                fields=["game", "address", "address_banned"],
                condition=models.Q(kicked=True),
                name="player_kicked_address",
            ),
        ]

    def __str__(self) -> str:
        return self.nickname


class Answer(models.Model):
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    choices = models.ManyToManyField(Choice, related_name="+")
    # what a type-answer question's player typed, as typed (trimmed)
    text = models.CharField(max_length=100, blank=True, default="")
    # an order question's items as the player put them: choice ids, comma-separated
    order_ids = models.CharField(max_length=100, blank=True, default="")
    answered_at = models.DateTimeField()
    response_ms = models.PositiveIntegerField()
    correct = models.BooleanField(default=False)
    # for the speed of a correct answer (services.score_answer); the streak's on top
    points = models.PositiveIntegerField(default=0)
    streak_bonus = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["player", "question"], name="one_answer_per_question"),
        ]
