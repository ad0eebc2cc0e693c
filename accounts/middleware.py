"""Record who is behind each browser session (IP, user agent, last activity); end idle or too-old ones."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse

from accounts.audit import serving
from accounts.conf import accounts_settings
from accounts.models import Session
from accounts.request_meta import client_ip, user_agent
from accounts.services.revocation_state import state

# Session-data key holding when the row's activity columns were last written.
ACTIVITY_KEY = "_accounts_activity"
# Session-data key holding when the user last authenticated with a password (unix time).
AUTH_AT_KEY = "_accounts_auth_at"


class AccountsMiddleware:
    """Hand request metadata to the session store; refresh activity at most once a minute.

    It also makes the request known to revocations triggered during it (accounts.audit).

    Place after SessionMiddleware and AuthenticationMiddleware. The refresh marks
    the session modified, so SessionMiddleware saves it through the engine, which
    writes last_activity, IP and user agent and extends the idle expiry.

    Before the view it ends a signed-in session that has been idle longer than
    SESSION_COOKIE_AGE or lived longer than ACCOUNTS SESSION_ABSOLUTE_LIFETIME since
    the user last entered a password (login or password change: both rotate the key),
    and one signed in before the emergency switch's global cutoff (read from the
    revocation snapshot: no query), even while the switch's sweep has not deleted it yet.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        key_before = None
        if session is not None:
            session.client_ip = client_ip(request)
            session.user_agent = user_agent(request)
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                self._end_if_expired(request, session)
            key_before = session.session_key
        with serving(request):
            response = self.get_response(request)
        if session is not None:
            self._stamp_auth(session, rotated=session.session_key != key_before)
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                self._touch(session)
        return response

    @staticmethod
    def _end_if_expired(request: HttpRequest, session) -> None:  # a SessionBase
        if SESSION_KEY not in session:
            return
        now = int(time.time())
        last, auth_at = session.get(ACTIVITY_KEY), session.get(AUTH_AT_KEY)
        idle = isinstance(last, int) and now - last > settings.SESSION_COOKIE_AGE
        limit = accounts_settings.SESSION_ABSOLUTE_LIFETIME
        too_old = bool(limit) and isinstance(auth_at, int) and now - auth_at > limit
        if idle or too_old or _signed_in_before_global_cutoff(session, auth_at):
            session.flush()  # deletes the row (and cache entry) through the engine
            request.user = AnonymousUser()

    @staticmethod
    def _stamp_auth(session, *, rotated: bool) -> None:  # a SessionBase
        """Start the absolute clock at sign-in (the key rotates) or on first sight of a session."""
        if session.session_key is None or SESSION_KEY not in session:
            return
        if rotated or not isinstance(session.get(AUTH_AT_KEY), int):
            session[AUTH_AT_KEY] = session[ACTIVITY_KEY] = int(time.time())

    @staticmethod
    def _touch(session) -> None:  # a SessionBase
        if session.session_key is None or SESSION_KEY not in session:
            return
        now = int(time.time())
        last = session.get(ACTIVITY_KEY)
        if not isinstance(last, int) or now - last >= accounts_settings.SESSION_ACTIVITY_INTERVAL:
            session[ACTIVITY_KEY] = now


def _signed_in_before_global_cutoff(session, auth_at: object) -> bool:  # a SessionBase
    """Whether the session's sign-in is older than the emergency switch's cutoff second."""
    cutoff = state.global_cutoff()
    if cutoff is None:
        return False
    if isinstance(auth_at, int):
        return auth_at < cutoff
    # Not stamped yet (made without this middleware, e.g. force_login): its row says, once.
    created = (
        Session.objects.filter(session_key=session.session_key).values_list("created_at", flat=True).first()
    )
    return created is not None and created.timestamp() < cutoff
