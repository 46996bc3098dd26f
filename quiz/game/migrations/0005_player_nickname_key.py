"""Nicknames compared by nickname_key (NFKC, case folded) instead of lower(): the key is
filled in for the players already there, then made unique per game in place of the old
constraint. Two existing players whose nicknames only now look the same keep both: the later
one's key gets its id."""

from django.db import migrations, models

from quiz.game.models import nickname_key


def fill_keys(apps: object, schema_editor: object) -> None:
    Player = apps.get_model("game", "Player")
    seen: set[tuple[int, str]] = set()
    for player in Player.objects.order_by("id").iterator():
        key = nickname_key(player.nickname)
        if (player.game_id, key) in seen:
            key = f"{key}#{player.id}"
        seen.add((player.game_id, key))
        player.nickname_key = key
        player.save(update_fields=["nickname_key"])


class Migration(migrations.Migration):
    dependencies = [("game", "0004_player_address")]

    operations = [
        migrations.AddField(
            model_name="player",
            name="nickname_key",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="player", name="unique_nickname_per_game"),
        migrations.AddConstraint(
            model_name="player",
            constraint=models.UniqueConstraint(
                fields=["game", "nickname_key"], name="unique_nickname_key_per_game"
            ),
        ),
    ]
