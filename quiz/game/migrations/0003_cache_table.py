"""The database cache's table (settings.CACHES), made by `migrate` like every other table, so
the throttles work wherever the site was migrated."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: object, schema_editor: object) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("game", "0002_player_left_at")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
