"""The bare project really is bare, and accounts needs nothing from `api/` or `project/`."""

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

from django.urls import URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = ROOT / "accounts"
BARE_URLCONF = "tests.bare_project.urls"
FOREIGN = ("api", "project")

# Imports every accounts module under the bare settings, runs the system checks,
# then prints any module of api/ or project/ that got imported along the way.
PROBE = """
import pkgutil, sys
import django
django.setup()
import accounts
from django.core.management import call_command
from django.urls import resolve
for module in pkgutil.walk_packages(accounts.__path__, "accounts."):
    __import__(module.name)
call_command("check", fail_level="WARNING", verbosity=0)
assert resolve("/accounts/sessions/").url_name == "accounts-sessions"
print(sorted(m for m in sys.modules if m.split(".")[0] in ("api", "project")))
"""


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_accounts_source_imports_nothing_from_api_or_project() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in ACCOUNTS.rglob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] in FOREIGN
    }
    assert not offenders
    dotted = re.compile(r"""["'](?:api|project)\.\w""")  # e.g. a dotted path in a setting default
    assert not [p for p in ACCOUNTS.rglob("*.py") if dotted.search(p.read_text())]


def test_accounts_loads_in_the_bare_project_without_api_or_project() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "tests.bare_project.settings"
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_bare_settings_add_only_accounts_and_simplejwt_blacklist() -> None:
    bare = importlib.import_module("tests.bare_project.settings")
    assert bare.INSTALLED_APPS == [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "rest_framework_simplejwt.token_blacklist",
        "accounts",
    ]
    middleware = bare.MIDDLEWARE
    auth = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert middleware[auth + 1] == "accounts.middleware.AccountsMiddleware"
    assert not [m for m in middleware if m.split(".")[0] not in ("django", "accounts")]
    assert bare.SESSION_ENGINE in ("accounts.backends.db", "accounts.backends.cached_db")
    assert bare.TEMPLATES[0]["DIRS"] == []  # every page accounts serves comes from the app itself


def test_bare_urlconf_is_the_admin_and_one_include() -> None:
    urls = importlib.import_module(BARE_URLCONF)
    assert len(urls.urlpatterns) == 2
    admin, accounts = urls.urlpatterns
    assert isinstance(admin, URLResolver) and admin.namespace == "admin"
    assert isinstance(accounts, URLResolver) and str(accounts.pattern) == "accounts/"
    assert accounts.urlconf_name.__name__ == "accounts.urls"


def test_accounts_templates_reverse_only_urls_the_bare_project_has() -> None:
    """A page of accounts never links to a URL name only some project defines (e.g. "home")."""
    resolver = get_resolver(BARE_URLCONF)
    names = {k for k in resolver.reverse_dict if isinstance(k, str)}
    for namespace, (_, sub) in resolver.namespace_dict.items():
        names |= {f"{namespace}:{k}" for k in sub.reverse_dict if isinstance(k, str)}
    used = {
        name
        for path in (ACCOUNTS / "templates").rglob("*.html")
        for name in re.findall(r"""{%\s*url\s+['"]([\w:-]+)['"]""", path.read_text())
    }
    assert used  # the pattern matches how the templates link
    assert used <= names, used - names


def _doc() -> str:
    return (ROOT / "docs" / "integrating.md").read_text()


def test_integrating_doc_lists_every_accounts_setting_with_its_default() -> None:
    from accounts.conf import DEFAULTS

    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", _doc(), flags=re.M))
    assert set(rows) == set(DEFAULTS)
    for key, default in rows.items():
        assert ast.literal_eval(default) == DEFAULTS[key], key


def test_integrating_doc_settings_are_the_bare_projects() -> None:
    bare = importlib.import_module("tests.bare_project.settings")
    documented: dict[str, object] = {}
    for block in re.findall(r"```python\n(.*?)```", _doc(), flags=re.S):
        for node in ast.parse(block).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name in (
                    "INSTALLED_APPS",
                    "MIDDLEWARE",
                    "LOGIN_URL",
                    "LOGIN_REDIRECT_URL",
                    "LOGOUT_REDIRECT_URL",
                ):
                    documented[name] = ast.literal_eval(node.value)
    assert len(documented) == 5
    for name, value in documented.items():
        assert getattr(bare, name) == value, name
