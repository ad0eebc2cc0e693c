"""Indexes behind the operator admin's default ordering, date filters and IP search."""

from django.conf import settings
from django.db import migrations, models

# SimpleJWT's outstanding-token table has no index on created_at; the admin's newest-first
# date filter needs one. It belongs to another app, so it is added here by schema editor
# (not part of any model state) and removed on reverse.
_TOKEN_CREATED = models.Index(fields=["created_at"], name="accounts_outtoken_created")


def _add_token_index(apps, schema_editor):
    schema_editor.add_index(apps.get_model("token_blacklist", "OutstandingToken"), _TOKEN_CREATED)


def _remove_token_index(apps, schema_editor):
    schema_editor.remove_index(apps.get_model("token_blacklist", "OutstandingToken"), _TOKEN_CREATED)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="session",
            index=models.Index(fields=["created_at"], name="accounts_session_created"),
        ),
        migrations.AddIndex(
            model_name="session",
            index=models.Index(fields=["ip"], name="accounts_session_ip"),
        ),
        migrations.AddIndex(
            model_name="signinfamily",
            index=models.Index(fields=["created_at"], name="accounts_family_created"),
        ),
        migrations.AddIndex(
            model_name="signinfamily",
            index=models.Index(fields=["ip"], name="accounts_family_ip"),
        ),
        migrations.RunPython(_add_token_index, _remove_token_index),
    ]
