"""Institutions and the city → district → institution hierarchy."""

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import str_enum
from registry.extensions import db


class InstitutionKind(enum.StrEnum):
    CITY = "CITY"
    DISTRICT = "DISTRICT"
    MCH_CENTRE = "MCH_CENTRE"
    BIRTHING_HOSPITAL = "BIRTHING_HOSPITAL"
    COMMUNITY_HEALTH_CENTRE = "COMMUNITY_HEALTH_CENTRE"
    DIAGNOSIS_CENTRE = "DIAGNOSIS_CENTRE"
    LABORATORY = "LABORATORY"


# Administrative levels hold facilities; facilities hold people and users.
ADMINISTRATIVE_KINDS = {InstitutionKind.CITY, InstitutionKind.DISTRICT}
ALLOWED_PARENT_KIND = {
    InstitutionKind.CITY: None,
    InstitutionKind.DISTRICT: InstitutionKind.CITY,
}
FACILITY_PARENT_KIND = InstitutionKind.DISTRICT


class Institution(db.Model):
    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[InstitutionKind] = mapped_column(str_enum(InstitutionKind))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped["Institution | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Institution"]] = relationship(back_populates="parent")

    @property
    def is_facility(self) -> bool:
        return self.kind not in ADMINISTRATIVE_KINDS

    @property
    def district(self) -> "Institution | None":
        """The district this institution belongs to (itself for a district)."""
        node: Institution | None = self
        while node is not None and node.kind != InstitutionKind.DISTRICT:
            node = node.parent
        return node


def expected_parent_kind(kind: InstitutionKind) -> InstitutionKind | None:
    """Which kind of institution must be the parent of one of this kind."""
    if kind in ALLOWED_PARENT_KIND:
        return ALLOWED_PARENT_KIND[kind]
    return FACILITY_PARENT_KIND


def facility_ids_under(institution_id: int) -> list[int]:
    """Ids of every institution at or below the given one, read with one recursive query."""
    tree = sa.select(Institution.id).where(Institution.id == institution_id).cte("tree", recursive=True)
    tree = tree.union_all(sa.select(Institution.id).where(Institution.parent_id == tree.c.id))
    return list(db.session.scalars(sa.select(tree.c.id)))
