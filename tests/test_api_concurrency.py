"""Two systems (or one retrying) sending the same results at the same moment, over real HTTP against a
threaded server on a database that commits: each source key is stored once, never a 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter

import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.extensions import db
from screenings.models import FollowUpCase, ScreeningResult
from tests import factories
from tests.conftest import app_config
from tests.live_http import all_at_once, serve
from tests.test_api_results import hearing_item

SENDERS = 8


def send(base: str, secret: str, items: list) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/api/v1/results",
        data=json.dumps({"items": items}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as answer:
        return answer.code, {"body": answer.read().decode()[:500]}


def test_the_same_batch_sent_eight_times_at_once_is_stored_once(scratch_database):
    app = create_app(app_config(scratch_database.new("api_concurrency")))
    with app.app_context():
        upgrade()
        hospital = factories.district()["hospital"]
        babies = [factories.newborn(hospital, name=f"王小{n}") for n in "一二三"]
        _account, secret = factories.system_account(hospital)
        items = [
            hearing_item(f"S-{n}", {"name": baby.name, "birth_on": baby.birth_on.isoformat()}, left="REFER")
            for n, baby in enumerate(babies)
        ]
        db.session.commit()
        db.session.remove()
    with serve(app) as base:
        answers = all_at_once([lambda: send(base, secret, items) for _ in range(SENDERS)])
    assert Counter(status for status, _ in answers) == {200: SENDERS}, answers
    statuses = Counter(item["status"] for _, body in answers for item in body["items"])
    assert statuses == {"created": len(items), "unchanged": len(items) * (SENDERS - 1)}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == len(items)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase)) == len(items)
        db.session.remove()
        db.engine.dispose()
