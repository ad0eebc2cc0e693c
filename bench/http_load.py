"""Over HTTP: gunicorn serving /api/me/ with each authentication variant, loaded by wrk.

    .venv/bin/python bench/http_load.py [--runs 3] [--duration 5] [--json FILE]

Every variant is the project's MeApi (it reads the user row, as /api/me/ does) with only its
authentication class changed (bench/urls.py); the ceiling does the same read with no auth.
Each client presents one credential (a browser cookie, an access token, a DRF token).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, servers

LABELS = {
    "none": "no authentication (ceiling)",
    "session-sqlite": "DB session, SQLite",
    "session-db": "DB session, PostgreSQL",
    "session-cached": "cached_db session, Redis",
    "jwt-user": "SimpleJWT JWTAuthentication (loads the user)",
    "jwt-stateless": "SimpleJWT JWTStatelessUserAuthentication",
    "jwt-revocation": "this project: JWT + revocation check",
    "drf-token": "DRF TokenAuthentication",
}
# The same variants on a view that answers from the credential alone (no user read).
WHOAMI = ["session-db", "jwt-stateless", "jwt-revocation"]
for _name in WHOAMI:
    LABELS[f"whoami:{_name}"] = f"{LABELS[_name]}, no user read"
WRK_THREADS, WRK_CONNECTIONS = 1, 4


def credentials() -> dict[str, list[str]]:
    """Create one signed-in user per variant; return each variant's request headers."""
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    from accounts.services import families
    from bench.inprocess import _session_keys, _users

    user = _users(1, prefix="http")[0]
    cookie = settings.SESSION_COOKIE_NAME
    headers: dict[str, list[str]] = {"none": []}
    if "sqlite" in settings.DATABASES:
        key = _session_keys("accounts.backends.db", [user], "sqlite")[0]
        headers["session-sqlite"] = [f"Cookie: {cookie}={key}"]
    headers["session-db"] = [f"Cookie: {cookie}={_session_keys('accounts.backends.db', [user], None)[0]}"]
    key = _session_keys("accounts.backends.cached_db", [user], None)[0]
    headers["session-cached"] = [f"Cookie: {cookie}={key}"]
    access = families.family_start(user=user, ip="127.0.0.1", user_agent="wrk").access
    for name in ("jwt-user", "jwt-stateless", "jwt-revocation"):
        headers[name] = [f"Authorization: Bearer {access}"]
    headers["drf-token"] = [f"Authorization: Token {Token.objects.create(user=user).key}"]
    for name in WHOAMI:
        headers[f"whoami:{name}"] = headers[name]
    return headers


def _path(name: str) -> str:
    if name.startswith("whoami:"):
        return f"/bench/{name.split(':', 1)[1]}/whoami/"
    return f"/bench/{name}/me/"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str | None) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text or "")
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def wrk(url: str, headers: list[str], duration: float) -> dict[str, float]:
    """Run wrk once; return requests/s, p50/p99 latency (ms) and the count of non-2xx answers."""
    cmd = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{duration:g}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    latency = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(latency.get("50")),
        "p99_ms": _ms(latency.get("99")),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock.group(1).strip() if sock else "",
    }


def run(*, runs: int, duration: float, log_dir: Path) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (make bench installs it with apt-get)"}
    headers = credentials()
    names = list(headers)
    samples: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    with servers.app_server(workers=2, log_dir=log_dir) as base:
        for name in names:  # warm every worker's connections and caches
            wrk(base + _path(name), headers[name], 1)
        for r in range(runs):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                samples[name].append(wrk(base + _path(name), headers[name], duration))
    rows = {}
    for name, runs_ in samples.items():
        rows[name] = {
            "rps": statistics.median(s["rps"] for s in runs_),
            "p50_ms": statistics.median(s["p50_ms"] for s in runs_),
            "p99_ms": statistics.median(s["p99_ms"] for s in runs_),
            "rps_runs": [s["rps"] for s in runs_],
            "non_2xx": sum(s["non_2xx"] for s in runs_),
            "socket_errors": [s["socket_errors"] for s in runs_ if s["socket_errors"]],
        }
    return {
        "runs": runs,
        "duration_s": duration,
        "workers": 2,
        "wrk": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{duration:g}s --latency",
        "rows": rows,
    }


def report(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"HTTP: skipped: {result['skipped']}"
    lines = [f"HTTP /api/me/, gunicorn 2 sync workers, {result['wrk']}, median of {result['runs']} runs:"]
    for name, row in result["rows"].items():
        lines.append(
            f"  {LABELS[name]:45s} {row['rps']:8.0f} req/s  p50 {row['p50_ms']:6.2f} ms  "
            f"p99 {row['p99_ms']:6.2f} ms  non-2xx {row['non_2xx']}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if os.environ.get("BENCH_DATABASE_URL"):
                common.django_setup(
                    os.environ["BENCH_DATABASE_URL"], sqlite_path=os.environ.get("BENCH_SQLITE_PATH", "")
                )
                result = run(runs=args.runs, duration=args.duration, log_dir=Path(tmp))
            else:
                with common.scratch_database("_http") as url:
                    common.django_setup(url, sqlite_path=str(Path(tmp) / "bench.sqlite3"))
                    common.migrate("default", "sqlite")
                    result = run(runs=args.runs, duration=args.duration, log_dir=Path(tmp))
                    from django.db import connections

                    connections.close_all()
        finally:
            common.drop_cache_keys()
    return common.emit(report(result), result, args.json)


if __name__ == "__main__":
    sys.exit(main())
