"""Helpers every HTML edge shares: the clock, the current user and actor, and access decorators."""

import functools
import re
import uuid

from flask import abort, g, redirect, request, session, url_for
from werkzeug.local import LocalProxy

from registry import audit, clock
from registry.audit import Actor
from registry.auth.access import Scope, scope_of

# The application clock (registry.clock.now), under the name the views import.
utcnow = clock.now


def _current_user():
    return g.get("user")


current_user = LocalProxy(_current_user)


# A client's request id reaches the log and the audit trail only in this shape: no escapes, no spaces.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,40}")


def request_id() -> str:
    # Kept in the WSGI environ, which belongs to this request alone (g can outlive it in tests).
    if "registry.request_id" not in request.environ:
        offered = request.headers.get("X-Request-Id", "")
        chosen = offered if SAFE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex[:16]
        request.environ["registry.request_id"] = chosen
    return request.environ["registry.request_id"]


def current_actor() -> Actor:
    user = g.get("user")
    return Actor(
        user_id=user.id if user else None,
        username=user.username if user else "anonymous",
        request_id=request_id(),
        ip_address=request.remote_addr,
    )


def current_scope() -> Scope:
    if "scope" not in g:
        g.scope = scope_of(g.user)
    return g.scope


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            session["next"] = request.full_path if request.method == "GET" else None
            return redirect(url_for("auth.login"))
        return view(*args, **kwargs)

    return wrapped


def refuse(status: int = 403, reason: str = ""):
    """Log a refused access without personal data, then answer with `status` (404 hides existence)."""
    audit.security_log.warning(
        "access refused: user=%s route=%s status=%s %s",
        g.user.id if g.get("user") else None,
        request.endpoint,
        status,
        reason,
    )
    abort(status)


def permission_required(check):
    """Allow the view only to users for whom `check(user)` is true; others get 403, logged."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not check(g.user):
                refuse(403, f"missing permission {check.__name__}")
            return view(*args, **kwargs)

        return wrapped

    return decorator
