"""The district setting changes: one append-only row per change, never updated or deleted."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import UTCDateTime
from registry.extensions import db


class DistrictSettingChange(db.Model):
    """One change of one district's value of one setting: the new value (NULL: back to the default),
    from when it is in force, who made it, when and why."""

    __tablename__ = "district_setting_change"
    __table_args__ = (
        sa.Index("ix_district_setting_change_in_force", "district_id", "name", "effective_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    name: Mapped[str] = mapped_column(sa.String(80))
    value: Mapped[str | None] = mapped_column(sa.String(40))
    effective_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    changed_by_name: Mapped[str] = mapped_column(sa.String(80))
    reason: Mapped[str] = mapped_column(sa.Text)
