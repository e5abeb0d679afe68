"""The import screens: sources, upload, column mapping, progress and report, and the unmatched queue."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload
from wtforms.fields import SelectChoice

from registry import audit
from registry.auth.access import may_see_person
from registry.extensions import db
from registry.i18n import local_today
from registry.job_records import JobRecord, JobStatus, start_job
from registry.people import services as people_services
from registry.people.forms import SearchForm
from registry.people.idnumbers import scrub_identifiers
from registry.people.models import IdDocumentType, Person
from registry.people.services import DuplicatePerson
from registry.people.views import people_in_scope
from registry.web import current_actor, current_scope, login_required, refuse, utcnow
from screenings import access
from screenings import texts as screening_texts
from screenings.cases import CaseActionRefused
from screenings.engine import SubjectKind
from screenings.imports import service, tasks
from screenings.imports import unmatched as waiting_rows
from screenings.imports.forms import MatchForm, SourceForm, UploadForm, mapping_form
from screenings.imports.mapping import BIRTH_ON, BIRTH_ORDER, ID_NUMBER, NAME, targets_for
from screenings.imports.models import (
    BatchStatus,
    ImportBatch,
    ImportRowIssue,
    ImportSource,
    UnmatchedRow,
    UnmatchedStatus,
)
from screenings.imports.parsing import FileProblem, preview
from screenings.imports.texts import file_problem, issue_message, target_label, unmatched_reason
from screenings.programs import PROGRAMS, get_program
from screenings.results import ResultRejected

bp = Blueprint("imports", __name__, url_prefix="/imports")

ISSUES_SHOWN = 200
QUEUE_PAGE = 50


@bp.app_context_processor
def _import_helpers() -> dict:
    return {"may_import_results": lambda: g.get("user") is not None and service.may_import(g.user)}


def _require_import_permission() -> None:
    if not service.may_import(g.user):
        refuse(403, "may not import results")


def visible_batch_or_404(batch_id: int) -> ImportBatch:
    """The batch if its institution is in the user's scope (and its program open to them); else 404."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    if not current_scope().allows(batch.institution_id) or not service.may_see_program(g.user, batch.program):
        refuse(404, f"import batch outside scope (institution {batch.institution_id})")
    return batch


def _audit_restricted_view(program_code: str, entity: str, entity_id: int) -> None:
    """Every view of a restricted program's record (PMTCT) is audited, as on the case pages."""
    if access.is_restricted(program_code):
        access.audit_restricted_view(current_actor(), utcnow(), entity, [entity_id], f"{program_code} import")
        db.session.commit()


def visible_row_or_404(row_id: int) -> UnmatchedRow:
    row = db.session.get(UnmatchedRow, row_id)
    if row is None:
        abort(404)
    if not current_scope().allows(row.institution_id) or not service.may_see_program(
        g.user, row.batch.program
    ):
        refuse(404, f"unmatched row outside scope (institution {row.institution_id})")
    return row


def _test_choices() -> list[SelectChoice]:
    return [
        SelectChoice(
            f"{program}/{test}",
            f"{screening_texts.program_label(program)} — {screening_texts.test_label(program, test)}",
        )
        for program, test in service.importable_tests(g.user)
    ]


def _sources() -> list[ImportSource]:
    return list(
        db.session.scalars(
            sa.select(ImportSource)
            .where(current_scope().filter(ImportSource.institution_id))
            .order_by(ImportSource.name)
        )
    )


# -- lists, sources, upload ---------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    scope = current_scope()
    hidden = [code for code in PROGRAMS if not service.may_see_program(g.user, code)]
    batches = db.session.scalars(
        sa.select(ImportBatch)
        .where(scope.filter(ImportBatch.institution_id), ImportBatch.program.not_in(hidden))
        .options(joinedload(ImportBatch.source))  # each row names its source: no query per row
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
        .limit(100)
    ).all()
    waiting = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(UnmatchedRow)
        .where(scope.filter(UnmatchedRow.institution_id), UnmatchedRow.status == UnmatchedStatus.WAITING)
    )
    return render_template("imports/index.html", batches=batches, waiting=waiting)


@bp.route("/sources", methods=["GET", "POST"])
@login_required
def sources():
    _require_import_permission()
    form = SourceForm()
    if form.validate_on_submit():
        try:
            source = service.create_source(
                form.name.data, form.code.data, g.user.institution_id, current_actor(), utcnow()
            )
        except service.SourceCodeTaken:
            db.session.rollback()
            form.code.errors = [*form.code.errors, _("This code is already used by another source.")]
        else:
            db.session.commit()
            flash(_("Source %(name)s added.", name=source.name), "success")
            return redirect(url_for("imports.upload", source=source.id))
    return render_template("imports/sources.html", form=form, sources=_sources())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def upload():
    _require_import_permission()
    sources = _sources()
    if not sources:
        flash(_("Add the lab or system that sends the files first."), "info")
        return redirect(url_for("imports.sources"))
    # The application's one upload limit (MAX_CONTENT_LENGTH) applies; past it the 413 page explains.
    form = UploadForm()
    form.source.choices = [SelectChoice(s.id, f"{s.name} ({s.code})") for s in sources]
    form.test.choices = _test_choices()
    if request.method == "GET" and request.args.get("source", type=int):
        form.source.data = request.args.get("source", type=int)
    if form.validate_on_submit():
        program, test = form.test.data.split("/", 1)
        source = next(s for s in sources if s.id == form.source.data)
        upload_file = form.file.data
        try:
            batch = service.receive_file(
                upload_file.stream, upload_file.filename or "", source, program, test, g.user,
                current_actor(), utcnow(), tasks.storage_path(),
            )  # fmt: skip
        except FileProblem as problem:
            db.session.rollback()
            form.file.errors = [file_problem(problem.code, problem.params)]
        else:
            db.session.commit()
            return redirect(url_for("imports.columns", batch_id=batch.id))
    return render_template("imports/upload.html", form=form)


# -- mapping and the run ------------------------------------------------------------------------------


@bp.route("/<int:batch_id>/columns", methods=["GET", "POST"])
@login_required
def columns(batch_id: int):
    batch = visible_batch_or_404(batch_id)
    _require_import_permission()
    if batch.status is not BatchStatus.MAPPING:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    test = service.test_of(batch)
    targets = targets_for(test)
    form = mapping_form(targets, batch.headers, service.initial_mapping(batch))
    problems = []
    if form.validate_on_submit():
        now = utcnow()
        problems = service.confirm_mapping(
            batch, form.columns(), form.save_mapping.data, current_actor(), now
        )
        if not problems:
            record = start_job(
                "import", tasks.import_file, batch.id, actor=current_actor(), now=now,
                timeout=tasks.JOB_TIMEOUT_SECONDS,
            )  # fmt: skip
            batch = db.session.get(ImportBatch, batch_id)
            batch.job_record_id = record.id
            db.session.commit()
            return redirect(url_for("imports.batch", batch_id=batch.id))
        db.session.rollback()
        batch = db.session.get(ImportBatch, batch_id)
        form_errors = _mapping_errors(problems, form, targets)
    else:
        form_errors = []
    rows = []
    try:
        rows = preview(tasks.storage_path() / batch.stored_name, service.file_info(batch))
    except (FileProblem, FileNotFoundError):
        form_errors.append(_("The uploaded file can no longer be read; upload it again."))
    earlier = service.earlier_upload(batch)
    return render_template(
        "imports/columns.html",
        batch=batch,
        test=test,
        form=form,
        form_errors=form_errors,
        rows=[(number, [scrub_identifiers(c) for c in cells]) for number, cells in rows],
        earlier=earlier,
    )


def _mapping_errors(problems, form, targets) -> list[str]:
    """Put each problem beside its column choice; return the ones that concern the whole mapping."""
    labels = {t.name: target_label(t) for t in targets}
    general = []
    for problem in problems:
        field = form[f"col_{problem.target}"] if problem.target else None
        if problem.code == "REQUIRED":
            message = _("Choose the column that holds %(field)s.", field=labels[problem.target])
        elif problem.code == "COLUMN_TWICE":
            message = _("Column “%(column)s” is chosen twice.", column=problem.column)
        elif problem.code == "UNKNOWN_COLUMN":
            message = _("Column “%(column)s” is not in the file.", column=problem.column)
        else:
            message = _(
                "Choose the columns that identify the person: the ID number, or the name and birth date, "
                "or the mother's ID number."
            )
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            general.append(message)
    return general


@bp.route("/<int:batch_id>")
@login_required
def batch(batch_id: int):
    batch = visible_batch_or_404(batch_id)
    _audit_restricted_view(batch.program, "import_batch", batch.id)
    test = service.test_of(batch)
    issues = db.session.scalars(
        sa.select(ImportRowIssue)
        .where(ImportRowIssue.batch_id == batch.id)
        .order_by(ImportRowIssue.row_number, ImportRowIssue.id)
        .limit(ISSUES_SHOWN)
    ).all()
    job = db.session.get(JobRecord, batch.job_record_id) if batch.job_record_id else None
    return render_template(
        "imports/batch.html",
        batch=batch,
        test=test,
        issues=[
            (issue, issue_message(test, issue.target, issue.code, issue.value, issue.detail))
            for issue in issues
        ],
        job=job,
        stalled=job is not None and job.status is JobStatus.FAILED and not batch.finished,
        earlier=service.earlier_upload(batch),
        targets={t.name: target_label(t) for t in targets_for(test)},
    )


@bp.route("/<int:batch_id>/progress")
@login_required
def progress(batch_id: int):
    batch = visible_batch_or_404(batch_id)
    job = db.session.get(JobRecord, batch.job_record_id) if batch.job_record_id else None
    response = jsonify(
        {
            "status": str(batch.status),
            "finished": batch.finished,
            "percent": batch.percent,
            "processed": batch.processed_rows,
            "total": batch.total_rows,
            "imported": batch.imported_count,
            "skipped": batch.skipped_count,
            "rejected": batch.rejected_count,
            "unmatched": batch.unmatched_count,
            "job_status": str(job.status) if job else None,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:batch_id>/resume", methods=["POST"])
@login_required
def resume(batch_id: int):
    batch = visible_batch_or_404(batch_id)
    _require_import_permission()
    if batch.finished or batch.status is BatchStatus.MAPPING:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    job = db.session.get(JobRecord, batch.job_record_id) if batch.job_record_id else None
    if job is not None and job.status is not JobStatus.FAILED:
        flash(_("The import is still running."), "info")
        return redirect(url_for("imports.batch", batch_id=batch.id))
    record = start_job(
        "import", tasks.import_file, batch.id, actor=current_actor(), now=utcnow(),
        timeout=tasks.JOB_TIMEOUT_SECONDS,
    )  # fmt: skip
    batch = db.session.get(ImportBatch, batch_id)
    batch.job_record_id = record.id
    db.session.commit()
    flash(_("The import continues after the last saved row."), "info")
    return redirect(url_for("imports.batch", batch_id=batch.id))


@bp.route("/<int:batch_id>/rejected.csv")
@login_required
def rejected_csv(batch_id: int):
    batch = visible_batch_or_404(batch_id)
    test = service.test_of(batch)
    audit.record(current_actor(), utcnow(), "import_batch", batch.id, "EXPORT", "rejected rows report")
    db.session.commit()
    header = [_("Row"), _("Column"), _("Value"), _("Code"), _("Reason")]

    def word(issue: ImportRowIssue) -> str:
        return issue_message(test, issue.target, issue.code, issue.value, issue.detail)

    body = stream_with_context(waiting_rows.rejected_rows_csv(batch, header, word))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="import-{batch.id}-rejected.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the unmatched queue ------------------------------------------------------------------------------


@bp.route("/unmatched/")
@login_required
def queue():
    scope = current_scope()
    hidden = [code for code in PROGRAMS if not service.may_see_program(g.user, code)]
    after = request.args.get("after", type=int) or 0
    rows = db.session.scalars(
        sa.select(UnmatchedRow)
        .join(ImportBatch, ImportBatch.id == UnmatchedRow.batch_id)
        .where(
            scope.filter(UnmatchedRow.institution_id),
            UnmatchedRow.status == UnmatchedStatus.WAITING,
            UnmatchedRow.id > after,
            ImportBatch.program.not_in(hidden),
        )
        .options(contains_eager(UnmatchedRow.batch))  # each row names its file: no query per row
        .order_by(UnmatchedRow.id)
        .limit(QUEUE_PAGE + 1)
    ).all()
    more = len(rows) > QUEUE_PAGE
    rows = rows[:QUEUE_PAGE]
    return render_template(
        "imports/queue.html",
        rows=rows,
        next_after=rows[-1].id if more else None,
        reason=unmatched_reason,
        birth_on=_birth_on_text,
    )


def _birth_on_text(row: UnmatchedRow) -> str:
    from registry.i18n import local_date
    from screenings.imports.schemas import read_date

    text = row.raw_values.get(BIRTH_ON)
    if not text:
        return ""
    try:
        return local_date(read_date(text))
    except ValueError:
        return text


def _row_facts(row: UnmatchedRow) -> list[tuple[str, str]]:
    """What the row says, labelled, with identity numbers masked."""
    test = service.test_of(row.batch)
    facts = []
    for target in targets_for(test):
        text = row.raw_values.get(target.name)
        if text:
            shown = _birth_on_text(row) if target.name == BIRTH_ON else scrub_identifiers(text)
            facts.append((target_label(target), shown))
    return facts


def _register_kinds(row: UnmatchedRow) -> list[str]:
    kinds = get_program(row.batch.program).eligibility.kinds
    offered = []
    if SubjectKind.WOMAN in kinds:
        offered.append("woman")
    if SubjectKind.PREGNANT_WOMAN in kinds:
        offered += ["pregnant", "woman"]
    return offered


def _newborn_program(row: UnmatchedRow) -> bool:
    kinds = get_program(row.batch.program).eligibility.kinds
    return SubjectKind.NEWBORN in kinds or SubjectKind.CHILD in kinds


@bp.route("/unmatched/<int:row_id>", methods=["GET", "POST"])
@login_required
def unmatched(row_id: int):
    row = visible_row_or_404(row_id)
    _audit_restricted_view(row.batch.program, "import_unmatched_row", row.id)
    search = SearchForm()
    results = None
    if search.validate_on_submit():
        results = people_services.audited_search(search.q.data, people_in_scope(), current_actor(), utcnow())
        db.session.commit()
    elif request.method == "GET" and row.status is UnmatchedStatus.WAITING and row.raw_values.get(NAME):
        search.q.data = row.raw_values.get(NAME)
    return render_template(
        "imports/unmatched.html",
        row=row,
        facts=_row_facts(row),
        reason=unmatched_reason(row.reason),
        search=search,
        results=results,
        match_form=MatchForm(),
        register_kinds=_register_kinds(row),
        newborn=_newborn_program(row),
        may_act=service.may_import(g.user) and row.status is UnmatchedStatus.WAITING,
    )


def _rejection_text(row: UnmatchedRow, error: ResultRejected | CaseActionRefused) -> str:
    test = service.test_of(row.batch)
    return "；".join(
        issue_message(test, e.field, e.code, None, e.message) for e in waiting_rows.rejection_errors(error)
    )


@bp.route("/unmatched/<int:row_id>/match", methods=["POST"])
@login_required
def match(row_id: int):
    row = visible_row_or_404(row_id)
    _require_import_permission()
    form = MatchForm()
    if not form.validate_on_submit():
        flash(_("Choose the person this row is about."), "error")
        return redirect(url_for("imports.unmatched", row_id=row.id))
    person = db.session.get(Person, form.person_id.data)
    if person is None or person.merged_into_id is not None or not may_see_person(current_scope(), person):
        refuse(404, "person outside scope")
    try:
        waiting_rows.import_unmatched_row(row, person, current_actor(), utcnow())
    except waiting_rows.AlreadyResolved:
        db.session.rollback()
        flash(_("This row was already imported."), "info")
        return redirect(url_for("imports.queue"))
    except (ResultRejected, CaseActionRefused) as error:
        db.session.rollback()
        flash(_("The result was not imported: %(reason)s", reason=_rejection_text(row, error)), "error")
        return redirect(url_for("imports.unmatched", row_id=row.id))
    db.session.commit()
    flash(_("Row %(n)d imported for %(name)s.", n=row.row_number, name=person.name), "success")
    return redirect(url_for("imports.queue"))


@bp.route("/unmatched/<int:row_id>/register/<kind>", methods=["GET", "POST"])
@login_required
def register(row_id: int, kind: str):
    """Register the person a waiting row is about, prefilled from the row, and import the row for them."""
    from registry.auth.access import may_register_people
    from registry.people.views import REGISTRATION_FORMS, _draft_from, visible_person_or_404

    row = visible_row_or_404(row_id)
    _require_import_permission()
    if not may_register_people(g.user) or row.status is not UnmatchedStatus.WAITING:
        refuse(403, "may not register from this row")
    form_class = REGISTRATION_FORMS.get(kind) or abort(404)
    mother = None
    if kind == "newborn":
        mother_id = request.args.get("mother_id", type=int)
        if mother_id is None:
            abort(404)
        mother = visible_person_or_404(mother_id)
    elif kind not in _register_kinds(row):
        abort(404)
    form = form_class()
    now = utcnow()
    form.today = local_today(now)
    if request.method == "GET":
        _prefill(form, row, kind, mother)
    duplicates = None
    rejection = None
    if form.validate_on_submit():
        draft, pregnancy = _draft_from(form, kind, mother)
        try:
            person = people_services.register_person(
                draft, current_actor(), now, form.confirm_distinct.data, pregnancy
            )
            waiting_rows.import_unmatched_row(row, person, current_actor(), now)
        except DuplicatePerson as error:
            db.session.rollback()
            duplicates = error.check
            if duplicates.same_document is not None:
                form.id_number.errors = [
                    *form.id_number.errors,
                    _("A person with this document is already registered."),
                ]
        except waiting_rows.AlreadyResolved:
            db.session.rollback()
            flash(_("This row was already imported."), "info")
            return redirect(url_for("imports.queue"))
        except (ResultRejected, CaseActionRefused) as error:
            db.session.rollback()
            rejection = _rejection_text(row, error)
        else:
            db.session.commit()
            flash(
                _("Registered %(name)s and imported row %(n)d.", name=person.name, n=row.row_number),
                "success",
            )
            return redirect(url_for("imports.queue"))
    return render_template(
        "imports/register.html",
        form=form,
        kind=kind,
        mother=mother,
        duplicates=duplicates,
        scope=current_scope(),
        row=row,
        facts=_row_facts(row),
        rejection=rejection,
    )


def _prefill(form, row: UnmatchedRow, kind: str, mother: Person | None) -> None:
    values = row.raw_values
    form.name.data = values.get(NAME, "")
    if values.get(ID_NUMBER):
        form.id_type.data = IdDocumentType.RESIDENT_ID.value
        form.id_number.data = values[ID_NUMBER]
    if kind == "newborn":
        order = values.get(BIRTH_ORDER)
        form.birth_order.data = int(order) if order and order.isdigit() else None
        if form.birth_order.data is None and mother is not None:
            form.birth_order.data = people_services.next_birth_order(mother.id)
        if mother is not None:
            form.address.data = mother.address
            form.phone.data = mother.phone
    elif values.get(BIRTH_ON):
        from screenings.imports.schemas import read_date

        with contextlib.suppress(ValueError):
            form.birth_on.data = read_date(values[BIRTH_ON])
