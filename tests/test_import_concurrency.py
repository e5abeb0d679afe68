"""Two imports of overlapping files running at the same moment, each in its own worker thread and
transaction, on a database that commits: every result is stored once and opens one case, never twice."""

from __future__ import annotations

import csv
import io
from collections import Counter

import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.audit import Actor
from registry.extensions import db
from screenings.imports import running, service
from screenings.imports.models import BatchStatus, ImportBatch
from screenings.models import FollowUpCase, ScreeningResult
from tests import factories
from tests.conftest import app_config
from tests.live_http import all_at_once

HEADERS = ["样本编号", "姓名", "出生日期", "筛查状态", "筛查时间", "筛查方法", "左耳", "右耳"]
BABIES = 30
NAMES = [f"王{a}{b}" for a in "一二三四五六" for b in "甲乙丙丁戊"]


def hearing_file(numbers) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    for n in numbers:
        # Every row refers the left ear: each stored result opens its baby's rescreen case.
        writer.writerow(
            [f"S{n}", NAMES[n], "2026-11-18", "已筛查", "2026-11-20 10:30", "OAE", "未通过", "通过"]
        )
    return text.getvalue().encode("utf-8-sig")


def test_two_overlapping_files_imported_at_once_store_each_result_once(
    scratch_database, tmp_path, monkeypatch
):
    monkeypatch.setattr(running, "CHUNK_ROWS", 4)  # many small chunks, so the two runs interleave
    storage = tmp_path / "imports"
    app = create_app(app_config(scratch_database.new("import_concurrency")))
    with app.app_context():
        upgrade()
        hospital = factories.district()["hospital"]
        for n in range(BABIES):
            factories.newborn(hospital, name=NAMES[n])
        staff = factories.clinic_user(hospital)
        actor = Actor(staff.id, staff.username)
        source = service.create_source(
            "听力筛查设备", "HEAR-CONC", staff.institution_id, actor, factories.NOW
        )
        batches = []
        # The first file has babies 10–19 then 0–9, the second 10–19 then 20–29: both begin with the
        # same ten rows, so their first chunks insert the same keys at the same moment.
        overlap = list(range(10, 20))
        for name, numbers in (
            ("a.csv", overlap + list(range(0, 10))),
            ("b.csv", overlap + list(range(20, 30))),
        ):
            batch = service.receive_file(
                io.BytesIO(hearing_file(numbers)), name, source, "NEWBORN_HEARING", "INITIAL", staff, actor,
                factories.NOW, storage,
            )  # fmt: skip
            assert (
                service.confirm_mapping(batch, service.initial_mapping(batch), True, actor, factories.NOW)
                == []
            )
            batches.append(batch.id)
        db.session.commit()
        db.session.remove()

    def run(batch_id: int):
        with app.app_context():
            try:
                batch = running.run_import(batch_id, lambda: factories.NOW, storage)
                return batch.status, batch.imported_count, batch.skipped_count, batch.rejected_count
            finally:
                db.session.remove()

    outcomes = all_at_once([lambda b=b: run(b) for b in batches])

    assert [status for status, *_ in outcomes] == [BatchStatus.DONE, BatchStatus.DONE], outcomes
    assert sum(imported for _, imported, _, _ in outcomes) == BABIES
    assert sum(skipped for _, _, skipped, _ in outcomes) == 10  # the overlap, stored by whichever came first
    assert sum(rejected for *_, rejected in outcomes) == 0
    with app.app_context():
        keys = Counter(db.session.scalars(sa.select(ScreeningResult.source_key)))
        assert keys == Counter({f"S{n}": 1 for n in range(BABIES)})
        cases = Counter(db.session.scalars(sa.select(FollowUpCase.person_id)))
        assert len(cases) == BABIES and set(cases.values()) == {1}
        assert {b.status for b in db.session.scalars(sa.select(ImportBatch))} == {BatchStatus.DONE}
        db.session.remove()
        db.engine.dispose()
