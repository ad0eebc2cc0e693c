"""Exit 0 when the PostgreSQL and Redis URLs given as arguments both answer, else 1."""

import sys

import psycopg
import redis


def main(pg_url: str, redis_url: str) -> int:
    try:
        # Connect to the maintenance database: the test run creates its own.
        with psycopg.connect(pg_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            pass
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        print(f"services check failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
