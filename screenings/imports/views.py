"""The import screens: sources, upload, column mapping, progress and report, and the unmatched queue."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
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
from wtforms.fields import SelectChoice

from registry import audit
from registry.extensions import db
from registry.job_records import JobStatus, start_job
from registry.people.idnumbers import scrub_identifiers
from registry.web import current_actor, current_scope, login_required, refuse, utcnow
from screenings import access
from screenings import texts as screening_texts
from screenings.engine import FieldKind
from screenings.imports import queries, service, tasks, values
from screenings.imports import unmatched as waiting_rows
from screenings.imports.forms import SourceForm, UploadForm, mapping_form
from screenings.imports.mapping import targets_for
from screenings.imports.models import (
    BatchStatus,
    ImportBatch,
    ImportRowIssue,
    ImportSource,
)
from screenings.imports.parsing import FileProblem, preview
from screenings.imports.schemas import split_choices, value_key
from screenings.imports.texts import file_problem, issue_message, target_label
from screenings.imports.values import ColumnValues

bp = Blueprint("imports", __name__, url_prefix="/imports")

ISSUES_SHOWN = 200


@bp.app_context_processor
def _import_helpers() -> dict:
    return {"may_import_results": lambda: g.get("user") is not None and service.may_import(g.user)}


def require_import_permission() -> None:
    if not service.may_import(g.user):
        refuse(403, "may not import results")


def visible_batch_or_404(batch_id: int) -> ImportBatch:
    """The batch if its institution is in the user's scope (and its program open to them); else 404."""
    batch = queries.visible_batch(batch_id, g.user, current_scope())
    if batch is None:
        refuse(404, f"import batch {batch_id} absent or outside scope")
    return batch


def audit_restricted_view(program_code: str, entity: str, entity_id: int) -> None:
    """Every view of a restricted program's record (PMTCT) is audited, as on the case pages."""
    if access.is_restricted(program_code):
        access.audit_restricted_view(current_actor(), utcnow(), entity, [entity_id], f"{program_code} import")
        db.session.commit()


def _test_choices() -> list[SelectChoice]:
    return [
        SelectChoice(
            f"{program}/{test}",
            f"{screening_texts.program_label(program)} — {screening_texts.test_label(program, test)}",
        )
        for program, test in service.importable_tests(g.user)
    ]


def _sources() -> list[ImportSource]:
    return queries.sources_in(current_scope())


# -- lists, sources, upload ---------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    scope = current_scope()
    return render_template(
        "imports/index.html",
        batches=queries.recent_batches(g.user, scope),
        waiting=queries.waiting_row_count(scope),
    )


@bp.route("/sources", methods=["GET", "POST"])
@login_required
def sources():
    require_import_permission()
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
    require_import_permission()
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
    require_import_permission()
    if batch.status is not BatchStatus.MAPPING:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    test = service.test_of(batch)
    targets = targets_for(test)
    initial = service.initial_mapping(batch)
    storage = tasks.storage_path()
    # The values are read from the columns the user has chosen: the preset ones, or those just posted.
    chosen = (
        {t.name: request.form.get(f"col_{t.name}", "") for t in targets}
        if request.method == "POST"
        else initial
    )
    form_errors: list[str] = []
    surveyed = []
    rows = []
    try:
        surveyed = service.value_survey(batch, {t: c for t, c in chosen.items() if c}, storage)
        rows = preview(storage / batch.stored_name, service.file_info(batch))
    except (FileProblem, FileNotFoundError):
        form_errors.append(_("The uploaded file can no longer be read; upload it again."))
    form = mapping_form(targets, batch.headers, initial, tuple(surveyed))
    if form.validate_on_submit() and form.values_stale():
        form_errors.append(
            _("The columns changed: check below what their values mean, then start the import.")
        )
        form.values_for.data = values.signature(surveyed)
    elif form.validate_on_submit():
        now = utcnow()
        value_map = values.confirmed_map(surveyed, form.value_choices())
        problems = service.confirm_mapping(
            batch, form.columns(), form.save_mapping.data, current_actor(), now,
            value_map=value_map, unmapped=values.left_unmapped(surveyed),
            all_or_nothing=form.all_or_nothing.data,
        )  # fmt: skip
        if not problems:
            record = start_job(
                "import", tasks.import_file, batch.id, actor=current_actor(), now=now,
                timeout=tasks.JOB_TIMEOUT_SECONDS,
            )  # fmt: skip
            batch = queries.attach_job(batch_id, record)
            db.session.commit()
            return redirect(url_for("imports.batch", batch_id=batch.id))
        db.session.rollback()
        batch = visible_batch_or_404(batch_id)
        form_errors += _mapping_errors(problems, form, targets)
    earlier = service.earlier_upload(batch)
    return render_template(
        "imports/columns.html",
        batch=batch,
        test=test,
        form=form,
        form_errors=form_errors,
        rows=_preview(rows, surveyed, batch.headers),
        target_label=target_label,
        survey_rows=values.SURVEY_ROWS,
        earlier=earlier,
    )


def _preview(rows, surveyed, headers) -> list[tuple[int, list[tuple[str, str | None]]]]:
    """The first rows, masked, each cell of a choice column with what it will be read as."""
    index = {header: i for i, header in enumerate(headers)}
    read_as: dict[int, tuple[ColumnValues, dict[str, str]]] = {}
    for column in surveyed:
        labels = {}
        for value in column.values:
            if value.refused:
                labels[value.key] = _("refused")
            elif value.code:
                labels[value.key] = screening_texts.local_text(column.field.choice(value.code))
        read_as[index[column.column]] = (column, labels)
    shown = []
    for number, cells in rows:
        line = []
        for position, cell in enumerate(cells):
            text = scrub_identifiers(cell)
            note = None
            if position in read_as and cell.strip():
                column, labels = read_as[position]
                many = column.field.kind is FieldKind.MULTI_CHOICE
                parts = split_choices(cell) if many else [cell.strip()]
                note = "、".join(labels.get(value_key(part), _("not mapped")) for part in parts)
            line.append((text, note))
        shown.append((number, line))
    return shown


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
    audit_restricted_view(batch.program, "import_batch", batch.id)
    test = service.test_of(batch)
    issues = queries.first_issues(batch, ISSUES_SHOWN)
    job = queries.job_of(batch)
    return render_template(
        "imports/batch.html",
        batch=batch,
        test=test,
        issues=[
            (issue, issue_message(test, issue.target, issue.code, issue.value, issue.detail))
            for issue in issues
        ],
        issues_shown=ISSUES_SHOWN,
        value_problems=[
            (problem, issue_message(test, problem.target, problem.code, problem.value, None))
            for problem in queries.value_problems(batch)
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
    job = queries.job_of(batch)
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
    require_import_permission()
    if batch.finished or batch.status is BatchStatus.MAPPING:
        return redirect(url_for("imports.batch", batch_id=batch.id))
    job = queries.job_of(batch)
    if job is not None and job.status is not JobStatus.FAILED:
        flash(_("The import is still running."), "info")
        return redirect(url_for("imports.batch", batch_id=batch.id))
    record = start_job(
        "import", tasks.import_file, batch.id, actor=current_actor(), now=utcnow(),
        timeout=tasks.JOB_TIMEOUT_SECONDS,
    )  # fmt: skip
    batch = queries.attach_job(batch_id, record)
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


# The unmatched queue's routes live beside these, on the same blueprint.
from screenings.imports import queue_views  # noqa: E402, F401
