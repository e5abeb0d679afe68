"""On the embedded SQLite database a savepoint's release never commits on its own: no half-written result."""

import sqlalchemy as sa

from registry import create_app
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from tests.conftest import app_config


def test_a_released_savepoint_is_rolled_back_with_its_transaction(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'tx.db'}"))
    with app.app_context():
        db.metadata.create_all(db.engine, tables=[Institution.__table__])
        with db.session.begin_nested():
            db.session.add(Institution(code="T1", name="测试", kind=InstitutionKind.DISTRICT))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Institution)) == 0
        db.session.remove()
        db.engine.dispose()
