"""Run every benchmark in one go and write the report: `make bench` (or `make bench-quick`).

    .venv/bin/python bench/run.py [--quick] [--out DIR]

Uses the local PostgreSQL (BENCH_PG_URL, else DATABASE_URL, else postgres@127.0.0.1:5432) and
Redis (BENCH_REDIS_URL, else REDIS_URL, else 127.0.0.1:6379/14). It creates and drops its own
database (authproject_bench_<pid>, prefix from BENCH_DB_PREFIX), keeps its Redis keys under a
per-run prefix and deletes them, and stops every app server it starts. Full mode writes
docs/benchmarks.md and docs/benchmarks.png; --quick (small sizes, a smoke run) writes to
artifacts/bench-quick/ and leaves docs/ alone.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, report

STEPS = {
    # name: (script, full-mode arguments, quick-mode arguments)
    "overhead": ("auth_overhead.py", ["--requests", "20000"], ["--requests", "1000", "--clients", "20"]),
    "inprocess": ("inprocess.py", ["--requests", "20000"], ["--requests", "500", "--clients", "20"]),
    "http": ("http_load.py", ["--runs", "3", "--duration", "5"], ["--runs", "1", "--duration", "1"]),
    "latency": ("revocation_latency.py", ["--trials", "200"], ["--trials", "10"]),
    "scale": ("scale.py", ["--users", "100000"], ["--users", "1000"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes")
    parser.add_argument("--out", type=Path, help="report folder (default docs/, or artifacts/bench-quick/)")
    parser.add_argument(
        "--only",
        nargs="*",
        choices=list(STEPS),
        help="run only these steps; the report reuses the other steps' last results of the same mode",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from the last results; run nothing"
    )
    args = parser.parse_args()
    out = args.out or (common.ROOT / ("artifacts/bench-quick" if args.quick else "docs"))
    raw = (common.ROOT / "artifacts" / ("bench-quick" if args.quick else "bench")) / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    command = "make bench-quick" if args.quick else "make bench"
    invoked = " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/run.py", *sys.argv[1:]])

    if args.report_only:
        results = {
            n: json.loads((raw / f"{n}.json").read_text()) for n in STEPS if (raw / f"{n}.json").exists()
        }
        md, png = report.write(results, json.loads((raw / "meta.json").read_text()), out)
        print(f"wrote {md} and {png}")
        return 0

    started = time.perf_counter()
    results: dict[str, object] = {}
    timings: dict[str, float] = {}
    common.cache_prefix()
    with tempfile.TemporaryDirectory() as tmp, common.scratch_database() as url:
        env = dict(os.environ, BENCH_DATABASE_URL=url, BENCH_SQLITE_PATH=str(Path(tmp) / "bench.sqlite3"))
        env.setdefault("DJANGO_SECRET_KEY", "bench-run-" + os.urandom(16).hex())
        env.setdefault("JWT_SIGNING_KEY", "bench-run-jwt-" + os.urandom(16).hex())
        t0 = time.perf_counter()
        _python(["-c", "from bench import common, run; run.prepare()"], env)
        timings["migrate"] = time.perf_counter() - t0
        for name, (script, full, quick) in STEPS.items():
            if args.only and name not in args.only:
                previous = raw / f"{name}.json"
                if previous.exists():
                    results[name] = json.loads(previous.read_text())
                    results[name]["reused"] = True
                continue
            target = raw / f"{name}.json"
            target.unlink(missing_ok=True)
            t0 = time.perf_counter()
            print(f"== {name}: {script} {' '.join(quick if args.quick else full)}", flush=True)
            code = _python([str(common.ROOT / "bench" / script), *(quick if args.quick else full),
                            "--json", str(target)], env)  # fmt: skip
            timings[name] = time.perf_counter() - t0
            if code == 0 and target.exists():
                results[name] = json.loads(target.read_text())
            else:
                results[name] = {"error": f"{script} exited with status {code}"}
    timings["total"] = time.perf_counter() - started
    meta = report.machine_info(command=command, invoked=invoked, quick=args.quick, timings=timings)
    (raw / "meta.json").write_text(json.dumps(meta, indent=2))
    md, png = report.write(results, meta, out)
    print(f"wrote {md} and {png} in {timings['total']:.0f} s")
    failed = [n for n, r in results.items() if isinstance(r, dict) and "error" in r]
    if failed:
        print(f"steps that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def prepare() -> None:
    """Migrate the run's PostgreSQL database and SQLite file (run in a child process)."""
    common.django_setup(os.environ["BENCH_DATABASE_URL"], sqlite_path=os.environ["BENCH_SQLITE_PATH"])
    common.migrate("default", "sqlite")


def _python(args: list[str], env: dict[str, str]) -> int:
    return subprocess.run([sys.executable, *args], cwd=common.ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
