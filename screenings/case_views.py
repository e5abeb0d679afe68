"""The case page: the facts, the one next action, the other actions, and the recall letter.

Its routes join the screenings blueprint (screenings/views.py imports this module at its end).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from wtforms.fields import SelectChoice

from registry import audit
from registry.auth.models import User
from registry.extensions import db
from registry.i18n import DISPLAY_ZONE, N_, local_datetime
from registry.institutions import Institution, facility_ids_under
from registry.web import current_actor, current_scope, login_required, refuse, utcnow
from screenings import access, texts
from screenings import cases as case_service
from screenings.cases.maternal import maternal_decision
from screenings.engine import (
    CaseAction,
    CaseStatus,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    ltfu_shortfalls,
)
from screenings.forms import (
    AnswerTransferForm,
    CloseForm,
    ContactForm,
    EscalateForm,
    NoteForm,
    ReopenForm,
    StepResultForm,
    TransferForm,
    WithdrawTransferForm,
)
from screenings.letters import render_recall_letter
from screenings.models import FollowUpCase
from screenings.programs import PROGRAMS
from screenings.reports import corrections
from screenings.views import bp, reason_required_text
from screenings.worklist import days_overdue


def visible_case_or_404(case_id: int, *, audit_view: bool = False) -> FollowUpCase:
    return access.case_or_404(case_id, audit_view=audit_view)


def may_act(case: FollowUpCase) -> bool:
    return access.may_act_on_case(current_scope(), case)


def may_answer_transfer(case: FollowUpCase) -> bool:
    return access.may_answer_transfer(current_scope(), case)


def _transfer_targets(case: FollowUpCase) -> list[SelectChoice]:
    """Institutions of the same district, except the district itself and the one holding the case."""
    district = case.responsible_institution.district or case.responsible_institution
    ids = facility_ids_under(district.id)
    rows = db.session.scalars(
        sa.select(Institution)
        .where(Institution.id.in_(sorted(ids)), Institution.active.is_(True))
        .order_by(Institution.code)
    )
    # The district coordinates; it does not take cases: escalate to it instead.
    return [
        SelectChoice(i.id, i.name) for i in rows if i.id not in (case.responsible_institution_id, district.id)
    ]


def _action_forms(case: FollowUpCase, state, now: dt.datetime, submitted: dict | None = None) -> dict:
    """Build a form per allowed action; a submitted one keeps the user's input and its errors."""
    program = PROGRAMS[case.program]
    forms: dict[str, object] = {}

    def make(name, form_class, **kwargs):
        form = (submitted or {}).get(name) or form_class(formdata=None, **kwargs)
        form.version.data = str(case.version)
        form.now = now
        forms[name] = form
        return form

    actions = set(state.allowed_actions)
    if case.current_step and f"{CaseAction.RECORD_STEP}:{case.current_step}" in actions:
        form = make("step", StepResultForm)
        step = program.step(case.current_step)
        form.result_code.choices = [
            SelectChoice("", "—"),
            *(
                SelectChoice(code, texts.result_label(case.program, code, step=step.code))
                for code in step.result_codes
            ),
        ]
        form.only_result = None
        if len(step.result_codes) == 1:
            # A step that only records that it was done (通知, 已采血, 已接种…) takes no result to choose:
            # the form says what saving records, and sends its one code.
            [code] = step.result_codes
            form.result_code.data = code
            form.only_result = texts.result_label(case.program, code, step=step.code)
    if CaseAction.LOG_CONTACT in actions:
        make("contact", ContactForm)
    if CaseAction.ADD_NOTE in actions:
        make("note", NoteForm)
    if CaseAction.TRANSFER in actions:
        form = make("transfer", TransferForm)
        form.to_institution.choices = _transfer_targets(case)
    if CaseAction.ESCALATE in actions:
        make("escalate", EscalateForm)
    if CaseAction.CLOSE in actions:
        make("close", CloseForm, outcomes=state.closable_outcomes)
    if CaseAction.REOPEN in actions:
        make("reopen", ReopenForm)
    if CaseAction.ACCEPT_TRANSFER in actions:
        make("answer", AnswerTransferForm)
    if CaseAction.WITHDRAW_TRANSFER in actions:
        make("withdraw", WithdrawTransferForm)
    return forms


def _recorder_names(events) -> dict[int, str]:
    """Return the full name of each user who recorded one of the events, in one query."""
    ids = {e.recorded_by_id for e in events if e.recorded_by_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.full_name).where(User.id.in_(sorted(ids))))
    return {user_id: name for user_id, name in rows if name}


def _render_case(
    case: FollowUpCase, submitted: dict | None = None, conflict: bool = False, status: int = 200
):
    now = utcnow()
    events = case_service.case_events(case)
    state = case_service.case_state(case, now, events)
    forms = _action_forms(case, state, now, submitted)
    # A refused action whose form the case no longer offers (a transfer answered meanwhile) still says why.
    unshown_errors = [e for name, f in (submitted or {}).items() if name not in forms for e in f.form_errors]
    ltfu_missing = []
    if state.current_step and state.lost_reason is None:
        ltfu_missing = ltfu_shortfalls(
            PROGRAMS[case.program].ltfu_policy,
            state.attempts,
            state.due_at,
            now,
            case_service.opened_case_of(case).subject.has_address,
            case.setting_overrides,
        )
    decided = maternal_decision(case, PROGRAMS[case.program], state.current_step)
    maternal_text = (
        texts.program_text(case.program, decided.reason, case.setting_overrides) if decided else None
    )
    institutions = {
        i.id: i.name
        for i in db.session.scalars(
            sa.select(Institution).where(
                Institution.id.in_(
                    {int(e.data["to_institution"]) for e in events if (e.data or {}).get("to_institution")}
                )
            )
        )
    }
    return (
        render_template(
            "screenings/case.html",
            case=case,
            state=state,
            events=events,
            forms=forms,
            may_act=may_act(case),
            may_answer=may_answer_transfer(case),
            may_enter=access.may_enter_results(g.user, current_scope()),
            institutions=institutions,
            program=PROGRAMS[case.program],
            days_overdue=days_overdue(case, now),
            ltfu_missing=ltfu_missing,
            maternal_text=maternal_text,
            recorder_names=_recorder_names(events),
            submitted_action=next(iter(submitted or {}), None),
            conflict=conflict,
            unshown_errors=unshown_errors,
            now=now,
        ),
        status,
    )


@bp.route("/cases/<int:case_id>")
@login_required
def case_detail(case_id: int):
    return _render_case(visible_case_or_404(case_id, audit_view=True))


ACTION_FORMS = {
    "step": StepResultForm,
    "contact": ContactForm,
    "note": NoteForm,
    "transfer": TransferForm,
    "answer": AnswerTransferForm,
    "withdraw": WithdrawTransferForm,
    "escalate": EscalateForm,
    "close": CloseForm,
    "reopen": ReopenForm,
}


def _aware(form, field) -> dt.datetime | None:
    value = field.data
    return value.replace(tzinfo=DISPLAY_ZONE).astimezone(dt.UTC) if value else None


@bp.route("/cases/<int:case_id>/<action>", methods=["POST"])
@login_required
def case_action(case_id: int, action: str):
    form_class = ACTION_FORMS.get(action) or abort(404)
    case = visible_case_or_404(case_id)
    if not (may_answer_transfer(case) if action == "answer" else may_act(case)):
        refuse(403, f"no {action} on case {case.id}")
    now = utcnow()
    state = case_service.case_state(case, now)
    kwargs = {"outcomes": state.closable_outcomes} if action == "close" else {}
    form = form_class(**kwargs)
    form.now = now
    # Choices must exist before validation; they are rebuilt the same way the page built them.
    if action == "step":  # a closed case has no step: no choice is valid, and the form says so
        step = PROGRAMS[case.program].step(case.current_step) if case.current_step else None
        form.result_code.choices = [(c, c) for c in step.result_codes] if step else []
    if action == "transfer":
        form.to_institution.choices = _transfer_targets(case)
    if not form.validate():
        return _render_case(case, {action: form}, status=400)
    actor = current_actor()
    expected = int(form.version.data) if form.version.data.isdigit() else -1
    late_month = None
    if action in ("step", "contact"):
        try:
            late_month = corrections.check_reason(
                case.responsible_institution,
                form.occurred_or_now(form.occurred_at),
                form.correction_reason.data,
            )
        except corrections.ReasonRequired as needed:
            form.correction_reason.errors = [
                *form.correction_reason.errors,
                reason_required_text(needed.month),
            ]
            return _render_case(case, {action: form}, status=400)
    event = None
    try:
        if action == "step":
            event = case_service.record_step(
                case, case.current_step, form.result_code.data, actor, now,
                occurred_at=form.occurred_or_now(form.occurred_at),
                next_appointment_at=_aware(form, form.next_appointment_at),
                note=form.note.data or None, expected_version=expected,
            )  # fmt: skip
        elif action == "contact":
            event = case_service.log_contact_attempt(
                case, ContactChannel(form.channel.data), ContactOutcome(form.contact_outcome.data),
                actor, now, occurred_at=form.occurred_or_now(form.occurred_at),
                person_reached=form.person_reached.data or None, relationship=form.relationship.data or None,
                next_appointment_at=_aware(form, form.next_appointment_at), note=form.note.data or None,
                expected_version=expected,
            )  # fmt: skip
        elif action == "note":
            case_service.add_note(case, form.note.data, actor, now, expected_version=expected)
        elif action == "transfer":
            target = db.session.get(Institution, form.to_institution.data) or abort(400)
            case_service.transfer_case(
                case, target, actor, now, reason=form.note.data, expected_version=expected
            )
        elif action == "answer":
            case_service.answer_transfer(
                case,
                form.accept.data == "1",
                actor,
                now,
                reason=form.note.data or None,
                expected_version=expected,
            )
        elif action == "withdraw":
            case_service.withdraw_transfer(
                case, actor, now, reason=form.note.data or None, expected_version=expected
            )
        elif action == "escalate":
            case_service.escalate_case(case, actor, now, note=form.note.data, expected_version=expected)
        elif action == "close":
            case_service.close_case(
                case,
                ClosureOutcome(form.outcome.data),
                actor,
                now,
                note=form.note.data,
                expected_version=expected,
            )
        elif action == "reopen":
            case_service.reopen_case(case, actor, now, note=form.note.data, expected_version=expected)
    except case_service.CaseConflict:
        db.session.rollback()
        case = visible_case_or_404(case_id)
        return _render_case(case, {action: form}, conflict=True, status=409)
    except case_service.CaseActionRefused as refused:
        db.session.rollback()
        case = visible_case_or_404(case_id)
        message = _refusal_text(refused, case.program, case.setting_overrides)
        if "BEFORE_LAST_EVENT" in refused.codes and "occurred_at" in form:
            form.occurred_at.errors = [*form.occurred_at.errors, message]  # the constraint is the field's
        else:
            form.form_errors.append(message)
        return _render_case(case, {action: form}, status=400)
    if late_month is not None and event is not None:
        corrections.record_late_correction(
            case.responsible_institution, late_month, case.program, "case_event", event.id,
            form.correction_reason.data, actor, now,
        )  # fmt: skip
    db.session.commit()
    flash(_("Saved."), "success")
    if action == "answer" and form.accept.data != "1":
        return redirect(url_for("screenings.worklist", tab="transfers"))
    return redirect(url_for("screenings.case_detail", case_id=case.id))


REFUSALS = {
    "CASE_CLOSED": N_("The case is closed; reopen it first."),
    "WRONG_STEP": N_("The case has moved on to another step; reload the page."),
    "IN_FUTURE": N_("The time cannot be in the future."),
    "BEFORE_OPENING": N_("The time is before the case was opened."),
    "TRANSFER_PENDING": N_("A transfer is already waiting for an answer."),
    "SAME_INSTITUTION": N_("The case is already with this institution."),
    "NO_TRANSFER": N_("No transfer is waiting for an answer; reload the page."),
    "ALREADY_ESCALATED": N_("This step is already escalated."),
}


def _refusal_text(
    refused: case_service.CaseActionRefused, program: str, overrides: dict | None = None
) -> str:
    """Word a refusal: the program's own message (NOT_LOST states its §0.4 settings), else the generic one."""
    messages = []
    for code, problem in zip(refused.codes, refused.problems, strict=True):
        if code == "BEFORE_LAST_EVENT":
            latest = dt.datetime.fromisoformat(problem.split(":", 1)[1])
            messages.append(
                _(
                    "This time is before the last entry on the case (%(at)s): enter a later time, "
                    "or leave it empty for now.",
                    at=local_datetime(latest),
                )
            )
            continue
        own = texts.program_text(program, code, overrides)
        messages.append(own if own is not None else _(REFUSALS[code]) if code in REFUSALS else problem)
    return " ".join(messages)


@bp.route("/cases/<int:case_id>/letter.pdf")
@login_required
def recall_letter(case_id: int):
    case = visible_case_or_404(case_id)
    if case.status is CaseStatus.CLOSED:
        abort(404)
    now = utcnow()
    pdf = render_recall_letter(case, now)
    audit.record(current_actor(), now, "follow_up_case", case.id, "EXPORT", "recall letter printed")
    db.session.commit()
    return (
        pdf,
        200,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'inline; filename="recall-letter-{case.id}.pdf"',
        },
    )


# -- break the glass ------------------------------------------------------------------------------
