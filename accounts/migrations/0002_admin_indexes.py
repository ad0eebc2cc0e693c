"""Indexes behind the operator admin's default ordering, date filters and IP search."""

from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Upper

# Indexes on other apps' tables, added by schema editor (they are in no model's state) and
# removed on reverse: SimpleJWT's outstanding tokens by creation and expiry (newest-first date
# filter, "expired" status), and the user table by case-insensitive email (admin search).
_TOKEN_INDEXES = [
    models.Index(fields=["created_at"], name="accounts_outtoken_created"),
    models.Index(fields=["expires_at"], name="accounts_outtoken_expires"),
]
_EMAIL_INDEX = models.Index(Upper("email"), name="accounts_user_email_upper")


def _user_model(apps):
    model = apps.get_model(settings.AUTH_USER_MODEL)
    return model if any(f.name == "email" for f in model._meta.fields) else None


def _add_indexes(apps, schema_editor):
    for index in _TOKEN_INDEXES:
        schema_editor.add_index(apps.get_model("token_blacklist", "OutstandingToken"), index)
    if _user_model(apps) is not None:
        schema_editor.add_index(_user_model(apps), _EMAIL_INDEX)


def _remove_indexes(apps, schema_editor):
    for index in _TOKEN_INDEXES:
        schema_editor.remove_index(apps.get_model("token_blacklist", "OutstandingToken"), index)
    if _user_model(apps) is not None:
        schema_editor.remove_index(_user_model(apps), _EMAIL_INDEX)


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
            index=models.Index(fields=["ip", "created_at"], name="accounts_session_ip"),
        ),
        migrations.AddIndex(
            model_name="signinfamily",
            index=models.Index(fields=["created_at"], name="accounts_family_created"),
        ),
        migrations.AddIndex(
            model_name="signinfamily",
            index=models.Index(fields=["ip", "created_at"], name="accounts_family_ip"),
        ),
        migrations.RunPython(_add_indexes, _remove_indexes),
    ]
