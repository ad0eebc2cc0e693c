"""Per-request cost of this project's revocation-checking JWT auth vs SimpleJWT's stateless auth.

    .venv/bin/python bench/auth_overhead.py [--requests 20000] [--clients 500] [--json FILE]

Creates its own PostgreSQL database (server from BENCH_PG_URL or DATABASE_URL), migrates it,
uses Redis at BENCH_REDIS_URL or REDIS_URL under a per-run key prefix, and drops both at the end.
Both variants authenticate the same DRF requests (APIRequestFactory + Request, Bearer access
tokens issued by accounts.services.families.family_start), interleaved in blocks of 100 calls.
"""

import argparse
import os
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

TARGET = 1.10


def make_families(count: int, *, revoked: int = 10) -> tuple[list[Any], list[str]]:
    """Start `count` sign-in families (one user each) and revoke `revoked` more, as live data."""
    from django.contrib.auth import get_user_model

    from accounts.services import families, revocation

    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        [user_model(username=f"ovh{i}", email=f"ovh{i}@example.com") for i in range(count + revoked)]
    )
    pairs = [families.family_start(user=u, ip="127.0.0.1", user_agent="bench") for u in users]
    for pair in pairs[count:]:
        revocation.family_revoke(family=pair.family, reason="bench: a non-empty revocation set")
    return [p.family for p in pairs[:count]], [p.access for p in pairs[:count]]


def mint_access(family: Any) -> str:
    """Return a new valid access token of the family (what a refresh would hand out)."""
    from rest_framework_simplejwt.settings import api_settings

    from accounts.tokens import FAMILY_CLAIM, AccessToken

    token = AccessToken()
    token[api_settings.USER_ID_CLAIM] = str(family.user_id)
    token[FAMILY_CLAIM] = str(family.pk)
    return str(token)


def bearer_requests(tokens: list[str]) -> list[Any]:
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    factory = APIRequestFactory()
    return [Request(factory.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {t}")) for t in tokens]


def run(*, requests: int, clients: int, block: int = 100, warmup_blocks: int = 5) -> dict[str, Any]:
    """Measure both variants on a repeated-token mix and on all-distinct tokens; return the figures."""
    from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

    from accounts import authentication
    from accounts.authentication import RevocationCheckingJWTAuthentication

    fams, first_tokens = make_families(clients)
    stateless = JWTStatelessUserAuthentication()
    ours = RevocationCheckingJWTAuthentication()
    total = (-(-requests // block) + warmup_blocks) * block

    # Realistic mix: `clients` clients, each reusing its one access token (as for its 5 minutes).
    rng = random.Random(8)
    client_requests = bearer_requests(first_tokens)
    mix = [client_requests[rng.randrange(clients)] for _ in range(total)]
    for request in client_requests:  # every token authenticates, as the right user, both ways
        a, b = stateless.authenticate(request), ours.authenticate(request)
        assert a is not None and b is not None and a[0].pk == b[0].pk

    authentication._verified.clear()
    variants = {"stateless": (stateless.authenticate, mix), "revocation": (ours.authenticate, mix)}
    repeated = common.interleaved(variants, requests=requests, block=block, warmup_blocks=warmup_blocks)

    # Worst case: every request carries a token never seen before (no verified-token cache hit).
    distinct = bearer_requests([mint_access(fams[i % clients]) for i in range(total)])
    authentication._verified.clear()
    variants = {"stateless": (stateless.authenticate, distinct), "revocation": (ours.authenticate, distinct)}
    worst = common.interleaved(variants, requests=requests, block=block, warmup_blocks=warmup_blocks)

    seen = len(set(mix[warmup_blocks * block :]))
    result: dict[str, Any] = {
        "requests_per_variant": requests,
        "block": block,
        "mix": {
            "clients": clients,
            "distinct_tokens_timed": seen,
            "repeat_share": 1 - seen / requests,
        },
    }
    for label, samples in (("repeated", repeated), ("distinct", worst)):
        s = {name: common.summary(ns) for name, ns in samples.items()}
        s["ratio"] = s["revocation"]["median_us"] / s["stateless"]["median_us"]
        result[label] = s
    return result


def report(result: dict[str, Any]) -> str:
    mix = result["mix"]
    lines = [
        f"authenticate() per request, median of {result['requests_per_variant']:,} calls per variant, "
        f"interleaved in blocks of {result['block']}:",
    ]
    titles = {
        "repeated": f"realistic mix ({mix['clients']} clients each reusing one access token; "
        f"{mix['repeat_share']:.1%} of requests repeat a token already seen)",
        "distinct": "worst case (every request a token never seen before)",
    }
    for label in ("repeated", "distinct"):
        s = result[label]
        verdict = "PASS" if s["ratio"] <= TARGET else "FAIL"
        if label == "distinct":  # the bar is for the realistic mix; say where the worst case lands
            verdict = ("within" if s["ratio"] <= TARGET else "above") + " it (informational)"
        lines += [
            f"  {titles[label]}:",
            f"    SimpleJWT JWTStatelessUserAuthentication  {s['stateless']['median_us']:8.2f} us"
            f"  (p99 {s['stateless']['p99_us']:.1f})",
            f"    RevocationCheckingJWTAuthentication       {s['revocation']['median_us']:8.2f} us"
            f"  (p99 {s['revocation']['p99_us']:.1f})",
            f"    ratio ours / stateless                    {s['ratio']:8.3f}"
            f"   target <= {TARGET}: {verdict}",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000, help="timed calls per variant")
    parser.add_argument("--clients", type=int, default=500, help="distinct clients in the realistic mix")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    ready = os.environ.get("BENCH_DATABASE_URL")  # set by bench/run.py: already migrated
    try:
        if ready:
            common.django_setup(ready)
            result = run(requests=args.requests, clients=args.clients)
        else:
            with common.scratch_database("_overhead") as url:
                common.django_setup(url)
                common.migrate()
                result = run(requests=args.requests, clients=args.clients)
                from django.db import connections

                connections.close_all()
    finally:
        common.drop_cache_keys()
    return common.emit(report(result), result, args.json)


if __name__ == "__main__":
    sys.exit(main())
