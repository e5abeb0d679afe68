"""The demo district a newcomer starts on has screening results and follow-up work to try."""

import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade

from registry import clock, create_app
from registry.demo import DEMO_PASSWORD, load_demo_data
from registry.extensions import db
from screenings.engine import CaseStatus
from screenings.models import FollowUpCase, ScreeningResult
from tests.conftest import app_config


def test_the_demo_district_has_results_cases_and_a_worklist(tmp_path):
    from screenings.demo import load_demo_screenings

    app = create_app(app_config(f"sqlite:///{tmp_path / 'demo.db'}"))
    with app.app_context():
        upgrade()
        load_demo_data(women=400)
        summary = load_demo_screenings()
        programs = set(db.session.scalars(sa.select(ScreeningResult.program).distinct()))
        open_cases = db.session.scalar(
            sa.select(sa.func.count()).where(FollowUpCase.status != CaseStatus.CLOSED)
        )
        stale = db.session.scalar(
            sa.select(sa.func.count()).where(
                FollowUpCase.status.in_([CaseStatus.OPEN, CaseStatus.DUE_SOON]),
                FollowUpCase.due_at < clock.now() - dt.timedelta(days=1),
            )
        )
        client = app.test_client()
        client.post("/login", data={"username": "coordinator", "password": DEMO_PASSWORD})
        worklist = client.get("/cases/?tab=all").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    assert summary["results"] > 300 and open_cases > 0
    assert {"NEWBORN_HEARING", "NEWBORN_CHD", "NEWBORN_METABOLIC", "CERVICAL_CANCER"} <= programs
    assert worklist.count('data-case="') > 0
    assert stale == 0  # the demo starts swept: a case long past its due date is not stored as open
