"""A batch of results from a lab or hospital system, recorded through the one chunk-first path.

Per batch, in the caller's transaction: the items' people are matched in one descent (as a lab file's
rows are), runs of items of one test are recorded as chunks by `record_results`, and each item is
answered `created` (its result, and the case it opened or advanced with what is due when), `unchanged`
(the same key and values were stored before), `rejected` (field errors; nothing of it written) or
`unmatched` (no certain person; nothing written). The source system is the account's name, so a resend
is idempotent on (account, source key); a different value under a stored key is refused.

Services take the account, its scope, the actor and the time; they never read the request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from registry.audit import Actor
from registry.auth.access import Scope
from registry.auth.models import User
from registry.extensions import db
from screenings import access
from screenings.api import waiting
from screenings.api.waiting import source_system_of
from screenings.cases.errors import CaseActionRefused
from screenings.engine import LOCAL_TZ, parse_values
from screenings.imports.matching import Identity, match_people
from screenings.models import FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS
from screenings.reports import corrections
from screenings.results import RecordedResult, ResultInput, ResultRejected, record_results
from screenings.results.classification import classified, jsonable, performed_at_of
from screenings.results.corrections import CorrectionRefused, correct_result


@dataclasses.dataclass
class ItemOutcome:
    index: int
    source_key: str | None
    status: str = "rejected"
    result_id: int | None = None
    result_code: str | None = None
    case: dict | None = None
    unmatched_reason: str | None = None
    unmatched_id: int | None = None  # the row waiting in the unmatched queue
    errors: list[dict] = dataclasses.field(default_factory=list)
    warnings: list[dict] = dataclasses.field(default_factory=list)


def _error(pointer: str, code: str, message: str) -> dict:
    return {"pointer": pointer, "code": code, "message": message}


def submit_results(
    items: Sequence[Mapping | None],
    account: User,
    scope: Scope,
    actor: Actor,
    now: dt.datetime,
    rejected: Mapping[int, list[dict]] | None = None,
    *,
    late_correction_reason: str | None = None,
) -> list[ItemOutcome]:
    """Record a batch of loaded items (None where `rejected` already says why); answer per item, in order.

    `late_correction_reason` is the submission's: it stands for every item dated in an approved month that
    gives none of its own (each is still recorded, and listed in the next report, one by one).
    """
    rejected = rejected or {}
    outcomes = [ItemOutcome(i, (item or {}).get("source_key")) for i, item in enumerate(items)]
    for index, errors in rejected.items():
        outcomes[index].errors = errors
    candidates: list[int] = []
    for index, item in enumerate(items):
        if item is None or index in rejected:
            continue
        pointer = f"/items/{index}"
        program = PROGRAMS[item["program"]]
        if not access.may_see_program(account, program.code):
            # A program the account's institution does not work on (PMTCT): refused, never recorded.
            message = "this account may not send results of this program"
            outcomes[index].errors = [_error(f"{pointer}/program", "PROGRAM_NOT_ALLOWED", message)]
            continue
        if item["test"] not in {t.code for t in program.tests}:
            outcomes[index].errors = [
                _error(f"{pointer}/test", "UNKNOWN_TEST", "the program has no such test")
            ]
            continue
        candidates.append(index)

    identities = [Identity(**items[i]["person"]) for i in candidates]
    people = {}
    for index, match in zip(candidates, match_people(identities, scope), strict=True):
        if match.person is not None:
            people[index] = match.person
            continue
        item = items[index]
        test = PROGRAMS[item["program"]].test(item["test"])
        _typed, errors = parse_values(test, item["values"])
        if errors:  # only a valid result waits for its person
            outcomes[index].errors = _value_errors(errors, index)
            continue
        outcomes[index].status = "unmatched"
        outcomes[index].unmatched_reason = match.reason or "NOT_FOUND"

    source = source_system_of(account)
    late = _late_months(outcomes, items, people, account, now, late_correction_reason)
    matched = [i for i in candidates if i in people and not outcomes[i].errors]
    for run in _runs(matched, items):
        first = items[run[0]]
        inputs = [ResultInput(people[i], dict(items[i]["values"]), items[i]["source_key"]) for i in run]
        recorded = record_results(
            first["program"], first["test"], inputs, account.institution, actor, now, source_system=source
        )
        for index, outcome in zip(run, recorded, strict=True):
            _answer(outcomes[index], outcome, index)
    _check_unchanged(outcomes, items, people, actor, now)
    for index, (month, reason) in late.items():
        outcome = outcomes[index]
        if outcome.status == "created":
            item = items[index]
            corrections.record_late_correction(
                account.institution, month, item["program"], "screening_result", outcome.result_id,
                reason, actor, now,
            )  # fmt: skip
    waiting.queue(outcomes, items, account, now)
    waiting.release(outcomes, items, people, account, now)
    _describe(outcomes)
    return outcomes


def _value_errors(errors, index: int) -> list[dict]:
    pointer = f"/items/{index}/values"
    return [_error(f"{pointer}/{e.field}" if e.field else pointer, e.code, e.message) for e in errors]


def _late_months(
    outcomes, items, people, account: User, now: dt.datetime, batch_reason: str | None = None
) -> dict[int, tuple[str, str]]:
    """Items dated in a month whose report is approved: refused without a reason, else their month and reason.

    An item's own reason wins over the submission's.

    The same rule as the result form's (screenings.reports.corrections): the result is recorded as usual
    and its reason kept for the next report. Nothing is classified twice unless the district has approved
    a report.
    """
    district = account.institution.district
    if district is None or not corrections.any_approved(district.code):
        return {}
    late: dict[int, str] = {}
    months: dict[str, str | None] = {}
    for index, person in people.items():
        item = items[index]
        program = PROGRAMS[item["program"]]
        _subject, classification = classified(person, program, item["test"], item["values"])
        if not classification.ok:
            continue  # record_results rejects it, naming the fields
        performed = performed_at_of(classification, program.test(item["test"]).performed_field, None, now)
        key = performed.astimezone(LOCAL_TZ).strftime("%Y-%m")
        if key not in months:
            months[key] = corrections.approved_month(account.institution, performed)
        if months[key] is None:
            continue
        reason = (item.get("late_correction_reason") or "").strip() or (batch_reason or "").strip()
        if not reason:
            message = f"the report of {key} is approved: a result dated in it needs late_correction_reason"
            outcomes[index].errors = [
                _error(f"/items/{index}/late_correction_reason", "REASON_REQUIRED", message)
            ]
        else:
            late[index] = (key, reason)
    return late


def _runs(indexes: list[int], items) -> list[list[int]]:
    """Consecutive items of one program and test: each run is one chunk, in the batch's order."""
    runs: list[list[int]] = []
    for index in indexes:
        key = (items[index]["program"], items[index]["test"])
        if runs and (items[runs[-1][-1]]["program"], items[runs[-1][-1]]["test"]) == key:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _answer(outcome: ItemOutcome, recorded, index: int) -> None:
    pointer = f"/items/{index}"
    if isinstance(recorded, ResultRejected):
        outcome.errors = _value_errors(recorded.errors, index)
        return
    if isinstance(recorded, CaseActionRefused):
        outcome.errors = [_error(pointer, "CASE_REFUSED", str(recorded))]
        return
    assert isinstance(recorded, RecordedResult)
    outcome.status = "created" if recorded.created else "unchanged"
    outcome.result_id = recorded.result_id
    outcome.warnings = [
        _error(f"{pointer}/values/{w.field}" if w.field else f"{pointer}/values", w.code, w.message)
        for w in recorded.warnings
    ]
    if recorded.case_id is not None:
        outcome.case = {
            "id": recorded.case_id,
            "opened": recorded.case_opened,
            "advanced": recorded.case_advanced,
        }


def _correct(outcome: ItemOutcome, item, result, person, actor: Actor, now: dt.datetime) -> None:
    pointer = f"/items/{outcome.index}"
    try:
        if (result.program, result.test) != (item["program"], item["test"]):
            raise CorrectionRefused("OTHER_TEST", "a correction cannot change the result's program or test")
        with db.session.begin_nested():
            correct_result(result, person, item["values"], item["correction"]["reason"], actor, now)
    except CorrectionRefused as refused:
        outcome.status, outcome.result_id, outcome.case = "rejected", None, None
        outcome.errors = _value_errors(refused.errors, outcome.index) or [
            _error(f"{pointer}/correction", refused.code, refused.message)
        ]
        return
    outcome.status = "corrected"


def _check_unchanged(outcomes: list[ItemOutcome], items, people, actor: Actor, now: dt.datetime) -> None:
    """A key stored before answers `unchanged` only if it carries the same result; else it is refused."""
    earlier = [o for o in outcomes if o.status == "unchanged"]
    if not earlier:
        return
    stored = {
        r.id: r
        for r in db.session.scalars(
            sa.select(ScreeningResult).where(ScreeningResult.id.in_([o.result_id for o in earlier]))
        )
    }
    for outcome in earlier:
        item, result = items[outcome.index], stored[outcome.result_id]
        person = people[outcome.index]
        same = (result.program, result.test, result.person_id) == (item["program"], item["test"], person.id)
        if same:
            _subject, classification = classified(
                person, PROGRAMS[result.program], result.test, item["values"]
            )
            same = classification.ok and jsonable(classification.values) == result.measured_values
        if not same and item.get("correction"):
            _correct(outcome, item, result, person, actor, now)
            continue
        if not same:
            outcome.status, outcome.result_id, outcome.case = "rejected", None, None
            message = "a different result is stored under this key; nothing was changed"
            outcome.errors = [_error(f"/items/{outcome.index}/source_key", "CHANGED_UNDER_SAME_KEY", message)]


def _describe(outcomes: list[ItemOutcome]) -> None:
    """Fill in each stored item's result code and its case's step and due date (two queries)."""
    result_ids = [o.result_id for o in outcomes if o.result_id is not None]
    if result_ids:
        codes = dict(
            db.session.execute(
                sa.select(ScreeningResult.id, ScreeningResult.result_code).where(
                    ScreeningResult.id.in_(result_ids)
                )
            ).all()
        )
        for outcome in outcomes:
            if outcome.result_id is not None:
                outcome.result_code = codes.get(outcome.result_id)
    case_ids = [o.case["id"] for o in outcomes if o.case]
    if case_ids:
        cases = {
            row.id: row
            for row in db.session.execute(
                sa.select(
                    FollowUpCase.id, FollowUpCase.status, FollowUpCase.current_step, FollowUpCase.due_at
                ).where(FollowUpCase.id.in_(case_ids))
            )
        }
        for outcome in outcomes:
            if outcome.case:
                row = cases[outcome.case["id"]]
                outcome.case.update(status=str(row.status), current_step=row.current_step, due_at=row.due_at)
