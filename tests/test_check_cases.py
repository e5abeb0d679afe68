"""`registry check-cases` replays cases through the engine and reports drift from the stored columns."""

import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.demo import load_demo_data
from registry.extensions import db
from screenings.cases.check import check_cases
from screenings.engine import CaseStatus
from screenings.models import FollowUpCase
from screenings.sweep import local_today, run_sweep
from tests.conftest import app_config


def test_the_demo_district_has_no_drift_and_a_changed_column_is_reported(tmp_path):
    from screenings.demo import load_demo_screenings

    app = create_app(app_config(f"sqlite:///{tmp_path / 'demo.db'}"))
    runner = app.test_cli_runner()
    with app.app_context():
        upgrade()
        load_demo_data(women=300)
        load_demo_screenings()
        db.session.commit()
        clean = runner.invoke(args=["check-cases"])

        # The next day's sweep moves statuses set-based; the engine's replay agrees with every one.
        tomorrow = local_today(dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)
        run_sweep(tomorrow)
        db.session.commit()
        swept = runner.invoke(args=["check-cases", "--as-of", tomorrow.isoformat()])
        sampled = check_cases(sample=5)

        case = db.session.scalar(
            sa.select(FollowUpCase).where(FollowUpCase.status != CaseStatus.CLOSED).limit(1)
        )
        case_id = case.id
        db.session.execute(
            sa.update(FollowUpCase)
            .where(FollowUpCase.id == case_id)
            .values(due_at=case.due_at + dt.timedelta(days=3))
        )
        db.session.commit()
        drifted = runner.invoke(args=["check-cases"])
        db.session.remove()
        db.engine.dispose()

    assert clean.exit_code == 0, clean.output
    assert " 0 drifts" in clean.output and "checked 0 cases" not in clean.output
    assert swept.exit_code == 0, swept.output
    assert sampled.checked == 5 and sampled.drifts == []
    assert drifted.exit_code == 1
    assert f"case {case_id}: due_at stored" in drifted.output
