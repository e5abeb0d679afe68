"""The API's routes: thin edges that parse, ask the one access policy, call one service and answer."""

from __future__ import annotations

import dataclasses

from flask import g, request
from marshmallow import ValidationError

from registry import audit
from registry.api import api_blueprint, field_error, pointers, refuse
from registry.auth.access import visible_person
from registry.extensions import db
from registry.web import current_actor, current_scope, utcnow
from screenings import access, records
from screenings.api import reading
from screenings.api.schemas import (
    MAX_ITEMS,
    STATUSES,
    AccountSchema,
    BatchOutcomeSchema,
    CaseDetailSchema,
    ChangedCasesQuerySchema,
    ChangedCasesSchema,
    IndicatorQuerySchema,
    IndicatorsSchema,
    PersonMatchesSchema,
    PersonRecordsSchema,
    PersonSearchSchema,
    ResultBatchSchema,
    ResultItemSchema,
    ResultSchema,
)
from screenings.api.submission import source_system_of, submit_results
from screenings.imports.matching import Identity, match_people
from screenings.programs import PROGRAMS

bp = api_blueprint("api", __name__, description="Results, people and cases, for lab and hospital systems")


def _link(operation: str, parameter: str, pointer: str, description: str) -> dict:
    """An OpenAPI link: the id at `pointer` in this answer's body opens `operation` (e.g. the case a result
    opened), so a client (and schemathesis' stateful runs) can follow the records an answer names."""
    return {
        "operationId": operation,
        "parameters": {parameter: f"$response.body#{pointer}"},
        "description": description,
    }


def _links(**links: dict) -> dict:
    return {"responses": {200: {"links": links}}}


_PERSON = "getPerson"
_RESULT = "getResult"
_CASE = "getCase"
_CHANGED = "listChangedCases"


@bp.route("/account")
@bp.doc(operationId="getAccount")
@bp.response(200, AccountSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def account():
    """The system account this token belongs to, its institution and the programs it may send."""
    user = g.user
    return {
        "username": user.username,
        "institution": {"code": user.institution.code, "name": user.institution.name},
        "programs": [code for code in PROGRAMS if access.may_see_program(user, code)],
    }


@bp.route("/results", methods=["POST"])
@bp.doc(
    operationId="submitResults",
    **_links(
        result=_link(_RESULT, "result_id", "/items/0/result_id", "The first item's result"),
        case=_link(_CASE, "case_id", "/items/0/case/id", "The case the first item opened or advanced"),
    ),
)
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ResultBatchSchema}}})
@bp.response(200, BatchOutcomeSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
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
    unknown = sorted(set(body) - {"items", "late_correction_reason"})
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
    batch_reason = body.get("late_correction_reason")
    if batch_reason is not None and (not isinstance(batch_reason, str) or len(batch_reason) > 500):
        refuse(422, "late_correction_reason", [field_error("/late_correction_reason", "INVALID",
                                                            "a text of at most 500 characters")])  # fmt: skip
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
    outcomes = submit_results(loaded, user, scope, actor, now, rejected, late_correction_reason=batch_reason)
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    audit.record(actor, now, "api_submission", None, "API_SUBMIT",
                 ", ".join(f"{n} {status}" for status, n in counts.items()))  # fmt: skip
    db.session.commit()
    return {"items": [dataclasses.asdict(o) for o in outcomes], "counts": counts}


# -- look-ups -----------------------------------------------------------------------------------------


@bp.route("/persons/search", methods=["POST"])
@bp.doc(
    operationId="searchPersons",
    **_links(person=_link(_PERSON, "person_id", "/persons/0/id", "The person found, with results and cases")),
)
@bp.arguments(PersonSearchSchema)
@bp.response(200, PersonMatchesSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
@bp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
def search_person(query):
    """Find a person by ID number, or a newborn by the mother's ID number, birth order and birth date.

    The numbers travel in the body, never in the URL. At most one person is answered: one the account
    may see and the registry is certain of; otherwise none, with the reason (NOT_FOUND, AMBIGUOUS …).
    """
    [match] = match_people([Identity(**query)], current_scope())
    found = [match.person] if match.person is not None else []
    # The answer is read before the audit row commits: the commit expires the person, and reading it
    # afterwards cost two more round trips (the person again, its institution): a third of the call.
    persons = [reading.person_dict(p) for p in found]
    audit.record(current_actor(), utcnow(), "person", None, "SEARCH",
                 f"API by {'id number' if query.get('id_number') else 'mother'}: {len(found)} found "
                 f"[{','.join(str(p.id) for p in found)}]")  # fmt: skip
    db.session.commit()
    return {"persons": persons, "unmatched_reason": match.reason}


@bp.route("/persons/<int:person_id>")
@bp.doc(
    operationId="getPerson",
    **_links(
        result=_link(_RESULT, "result_id", "/results/0/id", "One of the person's results"),
        case=_link(_CASE, "case_id", "/cases/0/id", "One of the person's cases"),
        mother=_link(_PERSON, "person_id", "/person/mother_id", "The mother of a baby"),
    ),
)
@bp.response(200, PersonRecordsSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
@bp.alt_response(404, response="NOT_FOUND")
def person_records(person_id: int):
    """A person the account may see, with the results and cases it may open (another institution's: 404)."""
    person = visible_person(current_scope(), person_id)
    if person is None or person.merged_into_id is not None:
        refuse(404, "no such person in this account's scope")
    now, user = utcnow(), g.user
    hidden = access.hidden_programs(user, person.id, now)
    results = [r for r in records.results_of(person.id) if r.program not in hidden]
    cases = [c for c in records.cases_of(person.id) if c.program not in hidden]
    case_of = reading.cases_of_results([r.id for r in results])
    source = source_system_of(user)
    answer = {
        "person": reading.person_dict(person),
        "results": [reading.result_dict(r, source, case_of.get(r.id)) for r in results],
        "cases": [reading.case_dict(c) for c in cases],
    }
    _audit_restricted(results, cases)  # after the answer is read: its commit expires every record
    return answer


def _audit_restricted(results, cases) -> None:
    actor, now = current_actor(), utcnow()
    restricted_results = [r.id for r in results if access.is_restricted(r.program)]
    restricted_cases = [c.id for c in cases if access.is_restricted(c.program)]
    if restricted_results or restricted_cases:
        access.audit_restricted_view(actor, now, "screening_result", restricted_results, "result by API")
        access.audit_restricted_view(actor, now, "follow_up_case", restricted_cases, "case by API")
        db.session.commit()


@bp.route("/results/<int:result_id>")
@bp.doc(
    operationId="getResult",
    **_links(
        person=_link(_PERSON, "person_id", "/person_id", "Whose result it is"),
        case=_link(_CASE, "case_id", "/case_id", "The case the result opened or moved on"),
    ),
)
@bp.response(200, ResultSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
@bp.alt_response(404, response="NOT_FOUND")
def result(result_id: int):
    """One result the account may open (another institution's, or a PMTCT one it may not: 404)."""
    found = access.result_or_404(result_id)
    case_of = reading.cases_of_results([found.id])
    return reading.result_dict(found, source_system_of(g.user), case_of.get(found.id))


@bp.route("/cases/<int:case_id>")
@bp.doc(
    operationId="getCase",
    **_links(
        person=_link(_PERSON, "person_id", "/person_id", "Whose case it is"),
        result=_link(_RESULT, "result_id", "/timeline/0/result_id", "The result that opened the case"),
    ),
)
@bp.response(200, CaseDetailSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
@bp.alt_response(404, response="NOT_FOUND")
def case(case_id: int):
    """A case's current step, due date and timeline (another institution's, or PMTCT it may not: 404)."""
    found = access.case_or_404(case_id)
    events = reading.timeline(found.id)
    return {
        **reading.case_dict(found, events[-1].id if events else None),
        "timeline": [reading.event_dict(e) for e in events],
    }


@bp.route("/cases")
@bp.doc(
    operationId="listChangedCases",
    **_links(
        case=_link(_CASE, "case_id", "/cases/0/id", "A case that changed"),
        next=_link(_CHANGED, "after", "/next", "The next page: the cases changed since"),
    ),
)
@bp.arguments(ChangedCasesQuerySchema, location="query")
@bp.response(200, ChangedCasesSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def changed_cases(query):
    """Cases changed since a cursor, oldest change first, for systems that mirror case status.

    Start with `after=0`; send the answer's `next` as `after` to get the cases changed since.
    """
    after, limit = query["after"], query["limit"]
    hidden = access.hidden_programs(g.user)
    page = reading.cases_changed_after(current_scope(), hidden, after, limit)
    answer = {
        "cases": [reading.case_dict(c, latest) for c, latest in page],
        "next": page[-1][1] if page else after,
    }
    _audit_restricted([], [c for c, _latest in page])  # after the answer is read (its commit expires them)
    return answer


@bp.route("/indicators")
@bp.doc(operationId="getIndicators")
@bp.arguments(IndicatorQuerySchema, location="query")
@bp.response(200, IndicatorsSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def indicators(query):
    """A month's indicators for the account's institution: the same figures as the dashboard shows it.

    Programs the account may not see (PMTCT, unless its institution works on it) are left out.
    """
    from screenings.indicators.figures import compute_figures
    from screenings.indicators.periods import parse_period
    from screenings.indicators.targets import load_targets, target_year

    user = g.user
    district = user.institution.district
    program = query.get("program")
    hidden = access.hidden_programs(user)
    if district is None or program in hidden:
        refuse(404, "no district, or a program this account may not see")
    period = parse_period(query["month"])
    book = load_targets(district, target_year(period.end))
    rows = compute_figures(
        district, period.start, period.end, program=program, institution=user.institution.code, targets=book
    )
    return {
        "district": district.code,
        "institution": user.institution.code,
        "month": query["month"],
        "figures": [r.as_dict() for r in rows if r.program not in hidden],
    }
