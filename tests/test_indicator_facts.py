"""The indicator fact table is kept by the one writer; `registry rebuild-facts` finds nothing to change."""

import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.demo import load_demo_data
from registry.extensions import db
from screenings.indicators.facts import FACTS, MARKS
from screenings.sweep import local_today, run_sweep
from tests.conftest import app_config


def test_demo_facts_are_written_with_results_and_events_and_a_rebuild_changes_nothing(tmp_path):
    from screenings.demo import load_demo_screenings

    app = create_app(app_config(f"sqlite:///{tmp_path / 'demo.db'}"))
    runner = app.test_cli_runner()
    with app.app_context():
        upgrade()
        load_demo_data(women=300)
        load_demo_screenings()
        db.session.commit()
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(FACTS))
        screened = db.session.scalar(
            sa.select(sa.func.count()).select_from(FACTS).where(FACTS.c.screened_day.is_not(None))
        )
        marks = db.session.scalar(sa.select(sa.func.count()).select_from(MARKS))
        districts = set(db.session.scalars(sa.select(FACTS.c.district).distinct()))
        clean = runner.invoke(args=["rebuild-facts"])

        tomorrow = local_today(dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)
        run_sweep(tomorrow)
        db.session.commit()
        swept = runner.invoke(args=["rebuild-facts"])

        db.session.execute(sa.update(FACTS).values(screened_day=None))
        db.session.commit()
        drifted = runner.invoke(args=["rebuild-facts"])
        db.session.remove()
        db.engine.dispose()

    assert rows > 100 and screened > 100 and marks >= 0
    assert "" not in districts
    assert clean.exit_code == 0, clean.output
    assert f"rebuilt {rows} fact rows: 0 differed" in clean.output
    assert swept.exit_code == 0 and ": 0 differed" in swept.output, swept.output
    assert f": {screened} differed" in drifted.output


def test_a_hearing_journey_keeps_its_fact_row_current_in_the_same_transaction(district, make_person):
    from registry.audit import Actor
    from registry.people.models import PersonKind, Sex
    from screenings.cases import answer_transfer, record_step, transfer_case
    from screenings.results import record_result
    from tests.test_case_services import BIRTH, NOW, D, hearing

    clinic = Actor(user_id=None, username="clinic-test")
    hospital, community = district["hospital"], district["community"]
    baby = make_person(hospital, name="王小宝", kind=PersonKind.NEWBORN, sex=Sex.MALE,
                       birth_on=BIRTH.date(), birth_at=BIRTH)  # fmt: skip

    def row():
        db.session.commit()
        return db.session.execute(sa.select(FACTS).where(FACTS.c.person_id == baby.id)).mappings().one()

    case = record_result(
        baby, "NEWBORN_HEARING", "INITIAL", hearing("REFER"), hospital, clinic, BIRTH + 3 * D
    ).case
    first = row()
    assert (first["program"], first["institution"], first["result_class"]) == (
        "NEWBORN_HEARING", hospital.code, "REFERRED",
    )  # fmt: skip
    assert first["screened_day"] == (BIRTH + 50 * dt.timedelta(hours=1)).date().toordinal()
    assert first["birth_month"] == "2026-08" and first["closed_day"] is None

    transfer_case(case, community, clinic, BIRTH + 5 * D)
    answer_transfer(case, True, clinic, BIRTH + 6 * D)
    assert row()["transferred_code"] == community.code

    record_result(baby, "NEWBORN_HEARING", "RESCREEN", hearing("REFER", "REFER", at=BIRTH + 30 * D),
                  community, clinic, BIRTH + 30 * D)  # fmt: skip
    record_step(case, "DIAGNOSIS", "SENSORINEURAL", clinic, BIRTH + 80 * D)
    record_step(case, "INTERVENTION", "HEARING_AID_FITTED", clinic, NOW)
    last = row()
    assert last["closed_code"] == "CONFIRMED_TREATED" and last["diagnosed_day"] is not None
    assert last["treated_day"] is not None
    assert rebuild_differences() == 0


def rebuild_differences() -> int:
    from screenings.indicators.facts import rebuild

    return rebuild()
