"""GET /healthz: 200 while the database answers; the cache may be degraded."""

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    try:
        cache.set("healthz", "1", 5)
        cache_ok = cache.get("healthz") == "1"
    except Exception:  # noqa: BLE001 - any cache failure means degraded, not down
        cache_ok = False
    return JsonResponse({"status": "ok", "database": "ok", "cache": "ok" if cache_ok else "degraded"})
