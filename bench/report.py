"""Turn the bench results into docs/benchmarks.md and a PNG chart, with the machine and versions."""

import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import common
from bench.http_load import LABELS as HTTP_LABELS
from bench.inprocess import LABELS as INPROC_LABELS

PACKAGES = [
    "Django",
    "djangorestframework",
    "djangorestframework-simplejwt",
    "PyJWT",
    "psycopg",
    "redis",
    "django-redis",
    "hiredis",
    "gunicorn",
    "matplotlib",
]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _run(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return ""
    return (done.stdout or done.stderr).strip()


def _server_versions() -> dict[str, str]:
    out = {}
    try:
        import psycopg

        with psycopg.connect(common.with_db(common.pg_server_url(), "postgres"), connect_timeout=5) as c:
            out["PostgreSQL"] = c.execute("SHOW server_version").fetchone()[0]
    except Exception as e:  # noqa: BLE001 - the report says what it could not read
        out["PostgreSQL"] = f"unknown ({e.__class__.__name__})"
    try:
        import redis

        out["Redis"] = redis.Redis.from_url(common.redis_url()).info("server")["redis_version"]
    except Exception as e:  # noqa: BLE001
        out["Redis"] = f"unknown ({e.__class__.__name__})"
    wrk = _run(["wrk", "-v"]).splitlines()
    out["wrk"] = wrk[0].split(" [")[0] if wrk else "not installed"
    return out


def machine_info(*, command: str, invoked: str, quick: bool, timings: dict[str, float]) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "invoked": invoked,
        "quick": quick,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_mem_gib(), 1),
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "servers": _server_versions(),
        "git": _run(["git", "-C", str(common.ROOT), "rev-parse", "--short", "HEAD"]),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
    }


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def _get(results: dict[str, Any], *keys: str) -> Any:
    cur: Any = results
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """Return (target, measured, bar, pass?) rows."""
    rows: list[tuple[str, str, str, bool | None]] = []
    ratio = _get(results, "overhead", "repeated", "ratio")
    rows.append(
        (
            "In process: JWT + revocation vs SimpleJWT stateless (realistic token mix)",
            "n/a" if ratio is None else f"{ratio:.3f}x",
            "<= 1.10x",
            None if ratio is None else ratio <= 1.10,
        )
    )
    http = _get(results, "http", "rows") or {}
    ours, stateless, session = (
        _get(http, "jwt-revocation", "rps"),
        _get(http, "jwt-stateless", "rps"),
        _get(http, "session-db", "rps"),
    )
    for label, other, bar in (
        ("HTTP /api/me/: JWT + revocation vs SimpleJWT stateless, requests/s", stateless, 0.9),
        ("HTTP /api/me/: JWT + revocation vs DB session on PostgreSQL, requests/s", session, 2.5),
    ):
        r = ours / other if ours and other else None
        rows.append(
            (label, "n/a" if r is None else f"{r:.2f}x", f">= {bar}x", None if r is None else r >= bar)
        )
    users = _get(results, "scale", "users")
    size = "" if users is None else f" ({users * 10:,} sessions + {users * 10:,} tokens)"
    for label, key in (
        ("list one user's credentials", "list_one_user"),
        ("sign one user out everywhere", "sign_out_everywhere"),
    ):
        ms = _get(results, "scale", key, "median_ms")
        worst = _get(results, "scale", key, "max_ms")
        rows.append(
            (
                f"Scale{size}: {label}, median (max)",
                "n/a" if ms is None else f"{ms:.1f} ms ({worst:.1f} ms)",
                "< 50 ms",
                None if ms is None else ms < 50,
            )
        )
    p99 = _get(results, "latency", "from_answer_ms", "p99")
    gave_up = _get(results, "latency", "gave_up")
    rows.append(
        (
            "Revocation latency across servers, p99",
            "n/a" if p99 is None else f"{p99:.0f} ms",
            "< 1000 ms",
            None if p99 is None else (p99 < 1000 and not gave_up),
        )
    )
    return rows


def chart(results: dict[str, Any], meta: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(11, 15), gridspec_kw={"height_ratios": [1.1, 1.1, 0.6]})
    inproc = _get(results, "inprocess", "rows") or {}
    names = [n for n in INPROC_LABELS if n in inproc]
    ax = axes[0]
    colors = [
        "#c0392b" if n == "jwt-revocation" else ("#95a5a6" if n.startswith("floor") else "#2c7fb8")
        for n in names
    ]
    ax.barh([INPROC_LABELS[n] for n in names], [inproc[n]["median_us"] for n in names], color=colors)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("median µs per request (log scale; lower is better)")
    ax.set_title("In process: authentication cost")
    for i, n in enumerate(names):
        ax.text(inproc[n]["median_us"], i, f" {inproc[n]['median_us']:.1f}", va="center", fontsize=8)
    http = _get(results, "http", "rows") or {}
    names = [n for n in HTTP_LABELS if n in http]
    ax = axes[1]
    colors = [
        "#c0392b" if n.endswith("jwt-revocation") else ("#95a5a6" if n == "none" else "#2c7fb8")
        for n in names
    ]
    ax.barh([HTTP_LABELS[n] for n in names], [http[n]["rps"] for n in names], color=colors)
    ax.invert_yaxis()
    ax.set_xlabel("requests/s, median of runs (higher is better)")
    ax.set_title("HTTP: gunicorn /api/me/, 2 workers")
    for i, n in enumerate(names):
        ax.text(http[n]["rps"], i, f" {http[n]['rps']:.0f}", va="center", fontsize=8)
    ax = axes[2]
    lat = _get(results, "latency")
    if lat and "from_answer_ms" in lat:
        keys = ["min", "p50", "p99", "max"]
        ax.bar(keys, [lat["from_answer_ms"][k] for k in keys], color="#c0392b")
        ax.axhline(1000, color="black", linestyle="--", linewidth=1)
        ax.text(0, 1000, " 1 s bound", va="bottom", fontsize=8)
        ax.set_ylabel("ms from revocation on A to refusal on B")
        ax.set_title(f"Revocation latency ({lat['trials']} trials)")
    fig.suptitle(
        f"{meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB; {meta['date']}"
        + (" (QUICK smoke run: small sizes)" if meta["quick"] else ""),
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], meta: dict[str, Any], out: Path) -> tuple[Path, Path]:
    png = out / "benchmarks.png"
    try:
        chart(results, meta, png)
    except Exception as e:  # noqa: BLE001 - the text report is still worth writing
        print(f"chart failed: {e!r}")
    md = out / "benchmarks.md"
    md.write_text(markdown(results, meta, png.name))
    return md, png


def markdown(results: dict[str, Any], meta: dict[str, Any], png_name: str) -> str:
    from bench.reading import reading

    v = meta["versions"]
    s = meta["servers"]
    lines = [
        "# Benchmarks: sessions vs JWT vs JWT with instant revocation",
        "",
        f"Produced by `{meta['command']}` (`{meta['invoked']}`) on {meta['date']}, commit `{meta['git']}`,"
        f" in {meta['timings_s'].get('total', 0):.0f} s.",
        "",
    ]
    if meta["quick"]:
        lines += ["> **Quick smoke run**: small sizes, not the published figures.", ""]
    reused = [name for name, r in results.items() if isinstance(r, dict) and r.get("reused")]
    if reused:
        lines += [
            f"> Steps taken from the previous run of this mode (not re-run this time): {', '.join(reused)}.",
            "",
        ]
    lines += [
        "## Machine and versions",
        "",
        f"- CPU: {meta['cpu']}, {meta['cores']} cores; memory {meta['memory_gib']} GiB; {meta['os']}",
        f"- Load average when the run ended (1, 5, 15 min): {', '.join(map(str, meta['load_after']))}",
        f"- Python {meta['python']}; PostgreSQL {s['PostgreSQL']}; Redis {s['Redis']}; {s['wrk']}",
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "- Steps (s): " + ", ".join(f"{k} {val}" for k, val in meta["timings_s"].items()),
        "",
        f"![benchmark chart]({png_name})",
        "",
        "## Targets",
        "",
        "| target | measured | bar | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {t} | {m} | {b} | {_verdict(ok)} |" for t, m, b, ok in targets(results)]
    lines += ["", *_overhead_section(results), *_inprocess_section(results), *_http_section(results)]
    lines += [*_scale_section(results), *_latency_section(results), *reading(results, meta)]
    return "\n".join(lines) + "\n"


def _error(results: dict[str, Any], name: str) -> list[str]:
    r = results.get(name)
    if r is None:
        return ["(not run)", ""]
    if "error" in r:
        return [f"**Did not complete**: {r['error']}", ""]
    if "skipped" in r:
        return [f"Skipped: {r['skipped']}", ""]
    return []


def _overhead_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Revocation check overhead, in process (`bench/auth_overhead.py`)", ""]
    if err := _error(results, "overhead"):
        return lines + err
    r = results["overhead"]
    mix = r["mix"]
    lines += [
        f"`authenticate()` on DRF requests (APIRequestFactory + Request) carrying Bearer access tokens"
        f" from `family_start`; median of {r['requests_per_variant']:,} calls per variant, the two"
        f" variants alternating in blocks of {r['block']}.",
        "",
        "| token mix | SimpleJWT stateless (µs) | ours (µs) | ratio |",
        "|---|---|---|---|",
    ]
    titles = {
        "repeated": f"realistic: {mix['clients']} clients reusing their token"
        f" ({mix['repeat_share']:.1%} repeats)",
        "distinct": "worst case: every token new",
    }
    for label in ("repeated", "distinct"):
        x = r[label]
        lines.append(
            f"| {titles[label]} | {x['stateless']['median_us']:.1f} | {x['revocation']['median_us']:.1f}"
            f" | {x['ratio']:.3f} |"
        )
    return [*lines, ""]


def _inprocess_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Per-request authentication cost, in process (`bench/inprocess.py`)", ""]
    if err := _error(results, "inprocess"):
        return lines + err
    r = results["inprocess"]
    lines += [
        f"Median over {r['requests_per_variant']:,} requests per variant, all variants interleaved in"
        f" blocks of {r['block']}, requests spread over {r['clients']} users. Sessions:"
        " SessionMiddleware + AuthenticationMiddleware resolving `request.user`. Tokens: DRF"
        " `authenticate()`.",
        "",
        "| variant | median µs | p99 µs | ratio to stateless JWT |",
        "|---|---|---|---|",
    ]
    for name, label in INPROC_LABELS.items():
        row = r["rows"].get(name)
        if row:
            lines.append(f"| {label} | {row['median_us']:.1f} | {row['p99_us']:.0f} | {row['ratio']:.2f} |")
    return [*lines, ""]


def _http_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Over HTTP (`bench/http_load.py`)", ""]
    if err := _error(results, "http"):
        return lines + err
    r = results["http"]
    base = _get(r, "rows", "jwt-stateless", "rps")
    lines += [
        f"gunicorn, {r['workers']} sync workers, `{r['wrk']}`, {r['runs']} runs per variant in rotating"
        " order, medians. Every variant is the project's `/api/me/` view (it reads the user row) with"
        " only its authentication class changed; the ceiling does the same read with no authentication."
        ' The rows marked "no user read" use a view answering `{id}` from the credential alone'
        " (ratios there are to stateless JWT on that view): they show how much of the gap the view's"
        " own query hides.",
        "",
        "| variant | requests/s | ratio to stateless JWT | p50 ms | p99 ms | runs (req/s) | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in HTTP_LABELS.items():
        row = r["rows"].get(name)
        if row:
            ref = _get(r, "rows", "whoami:jwt-stateless", "rps") if name.startswith("whoami:") else base
            ratio = f"{row['rps'] / ref:.2f}" if ref else "n/a"
            runs = ", ".join(f"{x:.0f}" for x in row["rps_runs"])
            lines.append(
                f"| {label} | {row['rps']:.0f} | {ratio} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f}"
                f" | {runs} | {row['non_2xx']} |"
            )
    return [*lines, ""]


def _scale_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Scale (`bench/scale.py`)", ""]
    if err := _error(results, "scale"):
        return lines + err
    r = results["scale"]
    b, a = r["rows_before"], r["rows_after"]
    st = r["stock_list_by_decoding"]
    lines += [
        f"{r['users']:,} users; per user 10 browser sessions (5 expired) and 2 API sign-ins x 5 refresh"
        " tokens (1 expired sign-in; 4 of 5 tokens blacklisted as rotated); Django's stock"
        f" `django_session` holds {b['django_session']:,} live rows. Seeded in {r['seed_s']:.0f} s.",
        "",
        "| operation | time |",
        "|---|---|",
        f"| list one user's credentials (`credential_list`, {r['credentials_per_user']} live), median / max"
        f" of {r['list_one_user']['n']} users | {r['list_one_user']['median_ms']:.2f} ms /"
        f" {r['list_one_user']['max_ms']:.2f} ms |",
        f"| sign one user out everywhere (`user_sign_out_everywhere`), median / max of"
        f" {r['sign_out_everywhere']['n']} users | {r['sign_out_everywhere']['median_ms']:.2f} ms /"
        f" {r['sign_out_everywhere']['max_ms']:.2f} ms |",
        f"| stock `django_session`: list one user's sessions by decoding every row ({st['rows_decoded']:,}"
        f" rows, {st['found']} found) | {st['ms'] / 1000:.1f} s |",
        f"| purge expired rows: {r['purge']['how']} | {r['purge']['s']:.1f} s |",
        "",
        "| table | rows before purge | rows after |",
        "|---|---|---|",
    ]
    lines += [f"| `{t}` | {b[t]:,} | {a[t]:,} |" for t in b]
    return [*lines, ""]


def _latency_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Revocation latency across app servers (`bench/revocation_latency.py`)", ""]
    if err := _error(results, "latency"):
        return lines + err
    r = results["latency"]
    x, y = r["from_answer_ms"], r["from_request_ms"]
    lines += [
        f"Two gunicorn servers ({r['workers_per_server']} workers each) on the same PostgreSQL and Redis;"
        f" {r['trials']} trials of: B accepts a fresh access token, the user revokes that sign-in on A"
        " (`DELETE /api/me/sessions/<id>/`), B is polled until it answers 401.",
        "",
        "| measured from | min | p50 | p99 | max |",
        "|---|---|---|---|---|",
        f"| A's 204 answer | {x['min']:.0f} ms | {x['p50']:.0f} ms | {x['p99']:.0f} ms | {x['max']:.0f} ms |",
        f"| sending the revocation to A | {y['min']:.0f} ms | {y['p50']:.0f} ms | {y['p99']:.0f} ms"
        f" | {y['max']:.0f} ms |",
    ]
    if r.get("gave_up"):
        lines.append(f"\n**{r['gave_up']} trials were not refused within 5 s.**")
    return [*lines, ""]
