"""Free space in each page of objectives and key results (PostgreSQL's fillfactor).

Every check-in and the nightly roll-up rewrite these rows' progress, confidence and
dates, none of which is indexed: with room left in the page, PostgreSQL writes the new
row version beside the old one and leaves all nine indexes alone (a "HOT" update). With
full pages, each update also wrote an entry into every index."""

from django.db import migrations

TABLES = ("goals_objective", "goals_keyresult")
FILLFACTOR = 80


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("goals", "0006_objective_attention_columns"),
    ]

    operations = [migrations.RunPython(leave_room, fill_pages, elidable=False)]
