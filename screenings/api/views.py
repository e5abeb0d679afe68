"""The API's routes: thin edges that parse, ask the one access policy, call one service and answer."""

from __future__ import annotations

from flask import g

from registry.api import api_blueprint
from screenings import access
from screenings.api.schemas import AccountSchema
from screenings.programs import PROGRAMS

bp = api_blueprint("api", __name__, description="Results, people and cases, for lab and hospital systems")


@bp.route("/account")
@bp.response(200, AccountSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
def account():
    """The system account this token belongs to, its institution and the programs it may send."""
    user = g.user
    return {
        "username": user.username,
        "institution": {"code": user.institution.code, "name": user.institution.name},
        "programs": [code for code in PROGRAMS if access.may_see_program(user, code)],
    }
