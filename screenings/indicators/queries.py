"""What the statistics pages read besides the figures: districts, facility names, the targets page's rows.

The views build no queries (the seams of issue 10): they ask here, or the figure modules.
"""

from __future__ import annotations

import sqlalchemy as sa

from registry.extensions import db
from registry.institutions import Institution, InstitutionKind, facility_ids_under


def district_by_code(code: str) -> Institution | None:
    """Return the district with this code, or None."""
    return db.session.scalar(
        sa.select(Institution).where(Institution.code == code, Institution.kind == InstitutionKind.DISTRICT)
    )


def institution_names() -> dict[str, str]:
    """Return {institution code: name} of every institution (one query; a district has a few dozen)."""
    return dict(db.session.execute(sa.select(Institution.code, Institution.name)).all())


def district_facilities(district: Institution) -> list[Institution]:
    """Return the facilities of a district (not the district itself), in code order."""
    ids = facility_ids_under(district.id)
    return list(
        db.session.scalars(
            sa.select(Institution)
            .where(Institution.id.in_(ids), Institution.id != district.id)
            .order_by(Institution.code)
        )
    )
