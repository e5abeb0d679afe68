"""The API's routes: thin edges that parse, ask the one access policy, call one service and answer."""

from __future__ import annotations

import dataclasses

from flask import g, request
from marshmallow import ValidationError

from registry import audit
from registry.api import api_blueprint, field_error, pointers, refuse
from registry.extensions import db
from registry.web import current_actor, current_scope, utcnow
from screenings import access
from screenings.api.schemas import (
    MAX_ITEMS,
    STATUSES,
    AccountSchema,
    BatchOutcomeSchema,
    ResultBatchSchema,
    ResultItemSchema,
)
from screenings.api.submission import submit_results
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


@bp.route("/results", methods=["POST"])
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ResultBatchSchema}}})
@bp.response(200, BatchOutcomeSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@bp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def submit():
    """Submit one result or a batch of up to 1,000; each item is answered on its own.

    An item is `created` (with its result code, and the case it opened or advanced with what is due
    when), `unchanged` (the same source key and values were sent before: nothing is recorded twice),
    `rejected` (field errors, as JSON pointers; nothing of it is written) or `unmatched` (no registered
    person is certain; nothing is written). A different value under a stored key is rejected.
    """
    user, scope = g.user, current_scope()
    if not access.may_enter_results(user, scope):
        refuse(403, "this account may not submit results")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        refuse(
            422, 'send {"items": [...]}', [field_error("/items", "REQUIRED", "a list of results is needed")]
        )
    unknown = sorted(set(body) - {"items"})
    if unknown:
        refuse(
            422,
            "unknown fields",
            [field_error(f"/{name}", "UNKNOWN_FIELD", "Unknown field.") for name in unknown],
        )
    raw_items = body["items"]
    if len(raw_items) > MAX_ITEMS:
        refuse(413, f"at most {MAX_ITEMS} results per request")
    if not raw_items:
        refuse(422, "no results", [field_error("/items", "EMPTY", "send at least one result")])
    schema = ResultItemSchema()
    loaded, rejected = [], {}
    for index, raw in enumerate(raw_items):
        try:
            loaded.append(schema.load(raw) if isinstance(raw, dict) else None)
            if loaded[-1] is None:
                rejected[index] = [field_error(f"/items/{index}", "INVALID", "an object is needed")]
        except ValidationError as error:
            loaded.append(None)
            rejected[index] = pointers(error.messages, f"/items/{index}")
    actor, now = current_actor(), utcnow()
    outcomes = submit_results(loaded, user, scope, actor, now, rejected)
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    audit.record(actor, now, "api_submission", None, "API_SUBMIT",
                 ", ".join(f"{n} {status}" for status, n in counts.items()))  # fmt: skip
    db.session.commit()
    return {"items": [dataclasses.asdict(o) for o in outcomes], "counts": counts}
