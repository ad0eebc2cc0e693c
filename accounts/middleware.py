"""Record who is behind each browser session (IP, user agent, last activity), throttled."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

from accounts.audit import serving
from accounts.conf import accounts_settings
from accounts.request_meta import client_ip, user_agent

# Session-data key holding when the row's activity columns were last written.
ACTIVITY_KEY = "_accounts_activity"


class AccountsMiddleware:
    """Hand request metadata to the session store; refresh activity at most once a minute.

    It also makes the request known to revocations triggered during it (accounts.audit).

    Place after SessionMiddleware and AuthenticationMiddleware. The refresh marks
    the session modified, so SessionMiddleware saves it through the engine, which
    writes last_activity, IP and user agent and extends the idle expiry.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None:
            session.client_ip = client_ip(request)
            session.user_agent = user_agent(request)
        with serving(request):
            response = self.get_response(request)
        if session is not None and settings.SESSION_COOKIE_NAME in request.COOKIES:
            self._touch(session)
        return response

    @staticmethod
    def _touch(session) -> None:  # a SessionBase
        if session.session_key is None or SESSION_KEY not in session:
            return
        now = int(time.time())
        last = session.get(ACTIVITY_KEY)
        if not isinstance(last, int) or now - last >= accounts_settings.SESSION_ACTIVITY_INTERVAL:
            session[ACTIVITY_KEY] = now
