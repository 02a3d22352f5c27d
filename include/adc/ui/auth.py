"""Who is asking, what they may do, and the CSRF guard on what changes the register.

Airflow authenticates (plugins/adc_register_ui.py turns its user into a ``Person``); this module
decides. Reading needs ``can_read`` (what Airflow's role "viewer" may do to DAGs), not just a login.
Changing the register needs ``can_change`` (Airflow's role "user" or above). A browser's session is
a cookie, which a browser also sends with a form posted from another site; so a change that arrives
with the cookie must carry a token only our own pages hold: an HMAC of the person and the time,
keyed by the api-server's secret and bound to the session. Only a request that a Bearer token
authenticated cannot be forged that way and needs none (``browser_session`` tells which it was).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

CSRF_FIELD = "csrf_token"  # the form field
CSRF_HEADER = "X-CSRF-Token"  # or the header, for scripts using the session
CSRF_MAX_AGE = 12 * 3600  # seconds a page's token stays valid


@dataclass(frozen=True)
class Person:
    """The logged-in user, as Airflow authenticated them."""

    user_id: str  # recorded in history as the actor
    name: str
    can_change: bool  # may change the register: Airflow's role "user" or above
    session: str | None = None  # the session cookie, unless a Bearer token authenticated the request
    can_read: bool = False  # may read the register: Airflow's role "viewer" or above
    groups: tuple[str, ...] = ()  # the auth manager's teams or roles (organisations.yaml's groups)

    def __post_init__(self) -> None:
        # FAB's user.get_id() is an int: history, CSRF tokens and the audit pack take text
        object.__setattr__(self, "user_id", str(self.user_id))


def groups_of(user: object) -> tuple[str, ...]:
    """The groups an auth manager puts a user in: SimpleAuthManager's teams, FAB's and Keycloak's roles
    (objects with a name, or names). Airflow's BaseUser promises none of them, so each is looked for."""
    found = [*(getattr(user, "teams", None) or ()), *(getattr(user, "roles", None) or ())]
    return tuple(dict.fromkeys(str(getattr(group, "name", group)) for group in found))


def browser_session(request: Request, bearer: HTTPAuthorizationCredentials | None, cookie: str) -> str | None:
    """The session a change must prove with a CSRF token, or None when a Bearer token authenticated
    the request.

    ``bearer`` is what Airflow's login read from the Authorization header (fastapi's HTTPBearer): a
    Bearer token there is what Airflow authenticated, or it refused the request. Anything else in
    the header ("Bearer " with no token, another scheme) leaves the cookie as the login, so the
    request is a browser's and needs the token, whatever header came with it.
    """
    if bearer is not None and bearer.scheme.lower() == "bearer":  # as Airflow's get_user decides
        return None
    return request.cookies.get(cookie, "")


class Csrf:
    """Tokens for forms that change the register: valid for one person's session, for CSRF_MAX_AGE."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the CSRF secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, person: Person, issued: int) -> str:
        session = hashlib.sha256((person.session or "").encode()).hexdigest()
        message = f"{person.user_id}\n{session}\n{issued}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def token(self, person: Person, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        return f"{issued}.{self._mac(person, issued)}"

    def valid(self, person: Person, token: str | None, now: float | None = None) -> bool:
        issued, _, mac = (token or "").partition(".")
        if not (issued.isascii() and issued.isdigit()) or not mac:  # "²" is a digit int() refuses
            return False
        age = (now if now is not None else time.time()) - int(issued)
        return 0 <= age <= CSRF_MAX_AGE and hmac.compare_digest(mac, self._mac(person, int(issued)))


def require_change(person: Person, request: Request, csrf: Csrf, token: str | None) -> None:
    """Raise 403 unless ``person`` may change the register and the request is their own doing."""
    if not person.can_change:
        raise HTTPException(403, f"{person.user_id} may read the register but not change it: that needs "
                                 "Airflow's role user or above")
    if person.session is None:
        return  # a Bearer token: a browser never attaches one on its own
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "the request came from another site")
    if not csrf.valid(person, token or request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, "the form has expired or did not come from this page: reload the page and try again")
