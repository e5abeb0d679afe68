"""What the administrator's screens read: institutions, users and background jobs."""

from __future__ import annotations

import sqlalchemy as sa

from registry.auth.models import User
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.job_records import JobRecord, JobStatus

FAILED_JOBS_SHOWN = 100
RECENT_JOBS_SHOWN = 50


def institutions(kinds: list[InstitutionKind] | None = None) -> list[Institution]:
    query = sa.select(Institution).order_by(Institution.code)
    if kinds is not None:
        query = query.where(Institution.kind.in_(kinds))
    return list(db.session.scalars(query))


def institution(institution_id: int) -> Institution | None:
    return db.session.get(Institution, institution_id)


def users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.username)))


def user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def failed_jobs() -> list[JobRecord]:
    """Failed jobs, the latest first: they are what an administrator acts on."""
    return list(
        db.session.scalars(
            sa.select(JobRecord)
            .where(JobRecord.status == JobStatus.FAILED)
            .order_by(JobRecord.id.desc())
            .limit(FAILED_JOBS_SHOWN)
        )
    )


def recent_jobs() -> list[JobRecord]:
    return list(
        db.session.scalars(
            sa.select(JobRecord)
            .where(JobRecord.status != JobStatus.FAILED)
            .order_by(JobRecord.id.desc())
            .limit(RECENT_JOBS_SHOWN)
        )
    )


def job(record_id: int) -> JobRecord | None:
    return db.session.get(JobRecord, record_id)
