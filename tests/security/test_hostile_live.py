"""Hostile inputs X01-X44 (docs/security.md) against a real gunicorn server with DEBUG off.

Invariant for every case: the documented status (4xx, or 200 where the checklist says so),
JSON bodies under /api/, no traceback and no secret (signing key, secret key, session key).
"""

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.services import families, revocation
from tests.factories import PASSWORD, make_user
from tests.live import ROOT, AppServer, app_server
from tests.security.hostile import (
    Reply,
    Req,
    assert_safe,
    b64,
    claims_like,
    hs256,
    json_body,
    now,
    raw_token,
    send,
    sign,
)

# django_db: the test database exists for this module; the data is committed by the module fixture.
pytestmark = [pytest.mark.services, pytest.mark.django_db]

JWT_KEY = settings.SIMPLE_JWT["SIGNING_KEY"]  # the live server signs with the same key
SECRET_KEY = "live-" + secrets.token_urlsafe(40)
ATTACKER_KEY = "attacker-" + secrets.token_urlsafe(32)
AUTH_4XX = {401}
PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
JSON = [("Content-Type", "application/json")]


@pytest.fixture(scope="module")
def server(django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """One gunicorn server for the module, configured like production but over plain HTTP."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, **_env(), "DJANGO_SETTINGS_MODULE": "project.settings"},
    )
    with app_server(log_dir=tmp_path_factory.mktemp("hostile"), **_env()) as live:
        yield live


def _env() -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "JWT_SIGNING_KEY": JWT_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SESSION_COOKIE_SECURE": "0",
        "DJANGO_CSRF_COOKIE_SECURE": "0",
        "DJANGO_LOG_LEVEL": "ERROR",
    }


@dataclass
class Ctx:
    """Data committed once for the module, so the server sees it."""

    url: str
    user: Any
    access: str
    refresh: str
    used_refresh: str
    revoked_access: str
    inactive_access: str
    deleted_access: str

    def payload(self, **changes: Any) -> dict[str, Any]:
        return claims_like(self.access, **changes)


@pytest.fixture(scope="module")
def ctx(server: AppServer, django_db_blocker: Any) -> Iterator[Ctx]:
    """Commit the module's users and tokens (outside any test transaction); empty the tables after."""
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        user = make_user("alice")
        first = families.family_start(user=user, ip="127.0.0.1", user_agent="hostile")
        rotated = families.family_rotate(raw_refresh=first.refresh)
        victim = families.family_start(user=user, ip="127.0.0.1", user_agent="revoked")
        revocation.family_revoke(family=victim.family, reason="test")
        inactive = make_user("inactive")
        inactive_pair = families.family_start(user=inactive, ip=None, user_agent="")
        inactive.is_active = False
        inactive.save()
        gone = make_user("gone")
        gone_pair = families.family_start(user=gone, ip=None, user_agent="")
        gone.delete()
        make_user("carol")
        make_user("dave")
    yield Ctx(
        url=server.url,
        user=user,
        access=rotated.access,
        refresh=rotated.refresh,
        used_refresh=first.refresh,
        revoked_access=victim.access,
        inactive_access=inactive_pair.access,
        deleted_access=gone_pair.access,
    )
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def bearer(value: str | bytes) -> Req:
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    return Req("GET", "/api/me/", [("Authorization", b"Bearer " + raw)])


def post_json(path: str, body: Any) -> Req:
    return Req("POST", path, list(JSON), body if isinstance(body, bytes) else json_body(body))


def login_json(username: Any, password: Any) -> Req:
    return post_json("/api/token/", {"username": username, "password": password})


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Each case: id -> (request builder, allowed statuses). The builders get the test's Ctx.
Builder = Callable[[Ctx], Req | list[Req]]
CASES: dict[str, tuple[Builder, set[int]]] = {
    "X01-no-auth": (lambda c: Req("GET", "/api/me/"), AUTH_4XX),
    "X02-bearer-empty": (lambda c: Req("GET", "/api/me/", [("Authorization", "Bearer")]), AUTH_4XX),
    "X02-bearer-three-parts": (lambda c: Req("GET", "/api/me/", [("Authorization", "Bearer a b")]), AUTH_4XX),
    "X03-lowercase-scheme": (
        lambda c: Req("GET", "/api/me/", [("Authorization", f"bearer {c.access}")]),
        AUTH_4XX,
    ),
    "X03-basic": (lambda c: Req("GET", "/api/me/", [("Authorization", "Basic dXNlcjpwYXNz")]), AUTH_4XX),
    "X04-bad-base64": (lambda c: bearer("!!!.@@@.###"), AUTH_4XX),
    "X05-two-segments": (lambda c: bearer("a.b"), AUTH_4XX),
    "X05-extra-segment": (lambda c: bearer(c.access + ".x"), AUTH_4XX),
    "X05-jwe-shape": (lambda c: bearer("a.b.c.d.e"), AUTH_4XX),
    "X06-dots": (lambda c: bearer(".."), AUTH_4XX),
    "X06-empty": (lambda c: Req("GET", "/api/me/", [("Authorization", "Bearer ")]), AUTH_4XX),
    **{
        f"X07-alg-{alg}": (
            lambda c, alg=alg: bearer(raw_token(f'{{"alg":"{alg}","typ":"JWT"}}', json_body(c.payload()))),
            AUTH_4XX,
        )
        for alg in ("none", "None", "NONE")
    },
    "X08-signature-stripped": (lambda c: bearer(c.access.rsplit(".", 1)[0] + "."), AUTH_4XX),
    "X09-wrong-key": (lambda c: bearer(sign(c.payload(), ATTACKER_KEY)), AUTH_4XX),
    "X10-tampered-payload": (
        lambda c: bearer(
            c.access.split(".")[0]
            + "."
            + b64(json_body(c.payload(user_id="1")))
            + "."
            + c.access.split(".")[2]
        ),
        AUTH_4XX,
    ),
    "X11-hs512": (lambda c: bearer(sign(c.payload(), JWT_KEY, algorithm="HS512")), AUTH_4XX),
    "X11-hs384": (lambda c: bearer(sign(c.payload(), JWT_KEY, algorithm="HS384")), AUTH_4XX),
    "X12-hs256-with-a-pem": (
        lambda c: bearer(hs256(raw_token('{"alg":"HS256","typ":"JWT"}', json_body(c.payload()))[:-1], PEM)),
        AUTH_4XX,
    ),
    "X13-jwk-jku-x5u": (
        lambda c: bearer(
            sign(
                c.payload(),
                ATTACKER_KEY,
                headers={
                    "jwk": {"kty": "oct", "k": b64(ATTACKER_KEY)},
                    "jku": "http://127.0.0.1:9/keys",
                    "x5u": "http://127.0.0.1:9/cert",
                },
            )
        ),
        AUTH_4XX,
    ),
    "X13-kid-injection": (
        lambda c: bearer(sign(c.payload(), ATTACKER_KEY, headers={"kid": "../../etc/passwd' OR 1=1--"})),
        AUTH_4XX,
    ),
    "X14-crit": (lambda c: bearer(sign(c.payload(), JWT_KEY, headers={"crit": ["x"], "x": 1})), AUTH_4XX),
    "X14-b64-false": (
        lambda c: bearer(sign(c.payload(), JWT_KEY, headers={"b64": False, "crit": ["b64"]})),
        AUTH_4XX,
    ),
    "X15-duplicate-alg": (
        lambda c: bearer(
            hs256(raw_token('{"alg":"HS256","alg":"none"}', json_body(c.payload()))[:-1], JWT_KEY)
        ),
        AUTH_4XX,
    ),
    "X16-expired": (lambda c: bearer(sign(c.payload(exp=now() - 1), JWT_KEY)), AUTH_4XX),
    "X16-expired-beyond-leeway": (lambda c: bearer(sign(c.payload(exp=now() - 61), JWT_KEY)), AUTH_4XX),
    "X17-nbf-future": (lambda c: bearer(sign(c.payload(nbf=now() + 3600), JWT_KEY)), AUTH_4XX),
    "X17-iat-future": (lambda c: bearer(sign(c.payload(iat=now() + 3600), JWT_KEY)), AUTH_4XX),
    **{
        f"X18-missing-{claim}": (
            lambda c, claim=claim: bearer(sign(c.payload(**{claim: None}), JWT_KEY)),
            AUTH_4XX,
        )
        for claim in ("exp", "jti", "token_type")
    },
    "X19-refresh-as-bearer": (lambda c: bearer(c.refresh), AUTH_4XX),
    "X19-sliding": (lambda c: bearer(sign(c.payload(token_type="sliding"), JWT_KEY)), AUTH_4XX),
    "X20-inactive-user": (lambda c: bearer(c.inactive_access), AUTH_4XX),
    "X20-deleted-user": (lambda c: bearer(c.deleted_access), AUTH_4XX),
    "X21-exp-as-string": (lambda c: bearer(sign(c.payload(exp="9999999999"), JWT_KEY)), AUTH_4XX),
    "X21-user-id-object": (lambda c: bearer(sign(c.payload(user_id={"$gt": ""}), JWT_KEY)), AUTH_4XX),
    "X21-sid-list": (lambda c: bearer(sign(c.payload(sid=["x"]), JWT_KEY)), AUTH_4XX),
    "X22-non-ascii": (lambda c: bearer("é.ü.ß"), {400, 401}),
    "X22-nul": (lambda c: bearer(c.access[:20].encode() + b"\x00" + c.access[20:].encode()), {400, 401}),
    "X22-control": (lambda c: bearer(b"\x01\x02\x7f." + c.access.encode()), {400, 401}),
    "X22-crlf": (lambda c: bearer(c.access[:20].encode() + b"\r\n" + c.access[20:].encode()), {400, 401}),
    "X23-revoked-access-padded": (lambda c: bearer(c.revoked_access + "=="), AUTH_4XX),
    "X23-revoked-access": (lambda c: bearer(c.revoked_access), AUTH_4XX),
    "X23-used-refresh-padded": (
        lambda c: post_json("/api/token/refresh/", {"refresh": c.used_refresh + "="}),
        {401},
    ),
    "X23-used-refresh-trailing-bits": (
        lambda c: post_json("/api/token/refresh/", {"refresh": _flip_last_char(c.used_refresh)}),
        {401},
    ),
    "X24-200kb-token": (lambda c: bearer("a" * 200_000), {400, 401, 431}),
    "X24-5000-digit-number": (
        lambda c: bearer(
            hs256(raw_token('{"alg":"HS256","n":' + "9" * 5000 + "}", json_body(c.payload()))[:-1], JWT_KEY)
        ),
        {400, 401, 431},
    ),
    "X25-json-bomb-header": (
        lambda c: bearer(raw_token(nested(50_000), json_body(c.payload()))),
        {400, 401, 431},
    ),
    "X25-json-bomb-header-in-body": (
        lambda c: post_json(
            "/api/token/verify/", {"token": raw_token(nested(50_000), json_body(c.payload()))}
        ),
        {400, 401},  # 400: longer than any token we issue
    ),
    "X26-refresh-missing": (lambda c: post_json("/api/token/refresh/", {}), {400}),
    "X26-refresh-null": (lambda c: post_json("/api/token/refresh/", {"refresh": None}), {400}),
    "X26-refresh-list": (lambda c: post_json("/api/token/refresh/", {"refresh": [c.refresh]}), {400}),
    "X26-refresh-object": (lambda c: post_json("/api/token/refresh/", {"refresh": {"a": 1}}), {400}),
    "X27-refresh-number": (lambda c: post_json("/api/token/refresh/", {"refresh": 12345}), {400, 401}),
    "X27-access-as-refresh": (lambda c: post_json("/api/token/refresh/", {"refresh": c.access}), {401}),
    "X28-replay-rotated": (lambda c: post_json("/api/token/refresh/", {"refresh": c.used_refresh}), {401}),
    "X30-malformed-json": (lambda c: post_json("/api/token/refresh/", b"{not json"), {400}),
    "X31-nested-json-refresh": (lambda c: post_json("/api/token/refresh/", nested(1000)), {400}),
    "X31-nested-json-obtain": (
        lambda c: post_json("/api/token/", b'{"a":' * 5000 + b"1" + b"}" * 5000),
        {400},
    ),
    "X31-nested-json-blacklist": (lambda c: post_json("/api/token/blacklist/", nested(100_000)), {400}),
    "X32-body-over-limit": (
        lambda c: post_json("/api/token/refresh/", b'{"refresh":"' + b"a" * 2_700_000 + b'"}'),
        {400, 413},
    ),
    "X33-text-plain": (
        lambda c: Req("POST", "/api/token/", [("Content-Type", "text/plain")], b"username=alice"),
        {415},
    ),
    "X33-xml": (
        lambda c: Req("POST", "/api/token/", [("Content-Type", "application/xml")], b"<a>alice</a>"),
        {415},
    ),
    "X35-username-list": (lambda c: login_json(["alice"], PASSWORD), {400}),
    "X35-password-object": (lambda c: login_json("alice", {"p": PASSWORD}), {400}),
    "X36-nul-username": (lambda c: login_json("ali\x00ce", PASSWORD), {400}),
    "X36-nul-password": (lambda c: login_json("alice", "pass\x00word"), {400}),
    "X37-1mb-password": (lambda c: login_json("alice", "p" * 1_000_000), {401}),
    "X38-3mb-password": (lambda c: login_json("alice", "p" * 3_000_000), {400, 413}),
    "X39-fullwidth": (lambda c: login_json("\uff41\uff4c\uff49\uff43\uff45", PASSWORD), {401}),
    "X39-zero-width": (lambda c: login_json("alice\u200b", PASSWORD), {401}),
    "X39-lookalike": (lambda c: login_json("\u0430lice", PASSWORD), {401}),  # Cyrillic a
    "X39-100k-username": (lambda c: login_json("\u00e9" * 100_000, PASSWORD), {400, 401}),
    "X40-sql": (lambda c: login_json("' OR 1=1--", PASSWORD), {401}),
    "X40-ldap": (lambda c: login_json("*)(uid=*))(|(uid=*", PASSWORD), {401}),
    "X42-site-login-no-csrf": (
        lambda c: Req(
            "POST",
            "/accounts/login/",
            [("Content-Type", "application/x-www-form-urlencoded")],
            b"username=alice&password=" + PASSWORD.encode(),
        ),
        {403},
    ),
    "X42-site-login-forged-csrf": (
        lambda c: Req(
            "POST",
            "/accounts/login/",
            [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "csrftoken=" + "a" * 32)],
            b"csrfmiddlewaretoken=" + b"b" * 32 + b"&username=alice&password=x",
        ),
        {403},
    ),
    "X43-unknown-session": (lambda c: Req("GET", "/", [("Cookie", "sessionid=" + "z" * 32)]), {200}),
    "X43-overlong-session": (lambda c: Req("GET", "/", [("Cookie", "sessionid=" + "q" * 4096)]), {200}),
    "X43-sql-session": (lambda c: Req("GET", "/", [("Cookie", "sessionid=x'%20OR%201=1--")]), {200}),
    "X43-session-on-api": (
        lambda c: Req("GET", "/api/me/", [("Cookie", "sessionid=" + "z" * 32)]),
        {401, 403},
    ),
    "X44-bad-host": (lambda c: Req("GET", "/", host="evil.example"), {400}),
    "X44-bad-host-api": (lambda c: Req("GET", "/api/me/", host="evil.example"), {400}),
    "R05-token-in-query": (
        lambda c: Req("GET", f"/api/me/?token={c.access}&access_token={c.access}"),
        AUTH_4XX,
    ),
    "R21-trace": (lambda c: Req("TRACE", "/api/token/"), {405}),
    "R21-get-on-token": (lambda c: Req("GET", "/api/token/"), {405}),
}


def _flip_last_char(token: str) -> str:
    last = token[-1]
    return (
        token[:-1] + ("B" if last == "A" else "A")
        if last not in "AEIMQUYcgkosw048"
        else token[:-1] + chr(ord(last) + 1)
    )


def check(ctx: Ctx, req: Req, allowed: set[int]) -> Reply:
    reply = send(ctx.url, req)
    sent_cookie = dict(req.headers).get("Cookie", "")
    secrets_ = [SECRET_KEY, JWT_KEY, sent_cookie.split("=", 1)[-1] if "session" in str(sent_cookie) else ""]
    front = (
        reply.status in (400, 431)
        and "content-type" in reply.headers
        and "html" in reply.headers["content-type"]
    )
    path = req.path if not front or reply.body.startswith((b"{", b"[")) else "/"
    # A request gunicorn itself refuses (e.g. an oversized header line) never reaches Django: not JSON.
    if reply.status == 400 and not reply.headers.get("content-type", "").startswith(
        ("application/json", "text/html")
    ):
        path = "/"
    assert_safe(
        reply.status,
        reply.body,
        reply.headers.get("content-type", ""),
        path=path,
        secrets=secrets_,
        allowed=allowed,
    )
    return reply


@pytest.mark.parametrize("case", CASES)
def test_hostile_input(ctx: Ctx, case: str) -> None:
    build, allowed = CASES[case]
    reply = check(ctx, build(ctx), allowed)
    if case == "X01-no-auth":
        assert reply.headers["www-authenticate"] == 'Bearer realm="api"'
    if case.startswith("X43") and reply.status == 200:
        assert "sessionid=" + "z" * 32 not in reply.headers.get("set-cookie", "")
        assert b"Sign out" not in reply.body  # anonymous
    if case == "X37-1mb-password":
        assert reply.elapsed < 15


def test_x29_parallel_refresh_yields_one_pair(ctx: Ctx) -> None:
    fresh = send(ctx.url, login_json("dave", PASSWORD)).json()
    replies: list[Reply] = []
    req = post_json("/api/token/refresh/", {"refresh": fresh["refresh"]})
    threads = [
        threading.Thread(target=lambda: replies.append(check(ctx, req, {200, 401}))) for _ in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in replies) == [200] + [401] * 9


def test_x34_no_enumeration_by_status_or_body(ctx: Ctx) -> None:
    answers = [
        check(ctx, login_json(name, "wrong-password"), {401}).json()
        for name in ("alice", "nobody-like-this", "inactive")
    ]
    assert answers[0] == answers[1] == answers[2]


def test_x41_rotating_forwarded_for_hits_the_account_limit(ctx: Ctx) -> None:
    statuses = []
    for i in range(8):
        req = login_json("alice", f"guess-{i}")
        req.headers.append(("X-Forwarded-For", f"10.{i}.{i}.{i}"))
        statuses.append(check(ctx, req, {401, 429}).status)
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 3
    final = login_json("alice", PASSWORD)
    final.headers.append(("X-Forwarded-For", "192.0.2.200"))
    reply = check(ctx, final, {429})
    assert int(reply.headers["retry-after"]) > 0


def test_x42_valid_csrf_with_a_foreign_origin_is_refused(ctx: Ctx) -> None:
    page = send(ctx.url, Req("GET", "/accounts/login/"))
    cookie = page.headers["set-cookie"].split("csrftoken=", 1)[1].split(";", 1)[0]
    token = page.body.split(b'name="csrfmiddlewaretoken" value="', 1)[1].split(b'"', 1)[0]
    form = b"csrfmiddlewaretoken=" + token + b"&username=carol&password=" + PASSWORD.encode()
    headers: list[tuple[str, bytes | str]] = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", f"csrftoken={cookie}"),
    ]
    evil = Req("POST", "/accounts/login/", [*headers, ("Origin", "https://evil.example")], form)
    assert check(ctx, evil, {403}).status == 403
    same = Req("POST", "/accounts/login/", [*headers, ("Origin", ctx.url)], form)
    assert send(ctx.url, same).status == 302  # the same form from our own origin signs in
