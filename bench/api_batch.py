"""The JSON API on the bench city: a batch of 1,000 results (target ≤ 1 s p95, PostgreSQL) and a person
look-up (≤ 20 ms p95), each beside its floor: the same chunk given straight to `record_results`.

    PYTHONPATH=. .venv/bin/python -m bench.api_batch --database-url sqlite:////tmp/bench-copy.db --batches 8

It writes (results, cases, audit rows): run it on a copy of the city. The calls go through the WSGI app
in-process (Flask's test client: routing, token check, JSON, schemas, matching, recording, the answer),
without a network or a server's workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time

import sqlalchemy as sa

from bench.measure import bench_app, percentile

TARGETS = {"batch_pg_p95_s": 1.0, "lookup_p95_ms": 20.0}


def _facility_with_most_women(db) -> int:
    return db.session.execute(
        sa.text(
            "SELECT institution_id FROM person WHERE kind = 'WOMAN' AND id_number_index IS NOT NULL "
            "AND merged_into_id IS NULL GROUP BY institution_id ORDER BY COUNT(*) DESC LIMIT 1"
        )
    ).scalar_one()


def _women(db, institution_id: int, limit: int) -> list[tuple[int, str]]:
    from registry.people.models import Person, PersonKind

    # Through the model: the ID number is stored encrypted, and read back in clear.
    return db.session.execute(
        sa.select(Person.id, Person.id_number)
        .where(
            Person.institution_id == institution_id,
            Person.kind == PersonKind.WOMAN,
            Person.id_number_index.is_not(None),
            Person.merged_into_id.is_(None),
        )
        .order_by(Person.id)
        .limit(limit)
    ).all()


def _items(women, stamp: str, batch: int, size: int, day: dt.date) -> list[dict]:
    rng = random.Random(batch)
    items = []
    for n in range(size):
        _person_id, id_number = women[(batch * size + n) % len(women)]
        positive = rng.random() < 0.1
        items.append(
            {
                "source_key": f"API-{stamp}-{batch}-{n}",
                "program": "CERVICAL_CANCER",
                "test": "HPV",
                "person": {"id_number": id_number},
                "values": {
                    "sampled_on": day.isoformat(),
                    "hpv_result": "POSITIVE" if positive else "NEGATIVE",
                    "hpv_types": ["HPV52"] if positive else [],
                },
            }
        )
    return items


def measure(database_url: str, batches: int, size: int, lookups: int) -> dict:
    from registry.audit import Actor
    from registry.auth.system_accounts import create_system_account, issue_token
    from registry.extensions import db
    from registry.institutions import Institution
    from registry.people.models import Person
    from screenings.results import ResultInput, record_results

    app = bench_app(database_url)
    out: dict = {"batch_size": size, "batches": batches}
    with app.app_context():
        out["dialect"] = db.engine.dialect.name
        institution = db.session.get(Institution, _facility_with_most_women(db))
        women = _women(db, institution.id, size * batches)
        out["women"] = len(women)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        now = dt.datetime.now(dt.UTC)
        actor = Actor.system("bench")
        account = create_system_account(f"bench-api-{stamp}", institution, actor, now)
        secret = issue_token(account, actor, now).secret
        db.session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
        client = app.test_client()
        day = (now - dt.timedelta(days=2)).date()

        client.post(
            "/api/v1/results", json={"items": _items(women, stamp + "w", 0, 50, day)}, headers=headers
        )
        seconds, statuses = [], {}
        for batch in range(batches):
            items = _items(women, stamp, batch, size, day)
            started = time.perf_counter()
            response = client.post("/api/v1/results", json={"items": items}, headers=headers)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            for key, value in response.json["counts"].items():
                statuses[key] = statuses.get(key, 0) + value
        out["batch_s"] = {"p50": round(percentile(seconds, 50), 3), "p95": round(percentile(seconds, 95), 3),
                          "max": round(max(seconds), 3)}  # fmt: skip
        out["statuses"] = statuses

        items = _items(women, stamp, 0, size, day)
        started = time.perf_counter()
        again = client.post("/api/v1/results", json={"items": items}, headers=headers)
        out["resend_s"] = round(time.perf_counter() - started, 3)
        out["resend_counts"] = again.json["counts"]

        # The floor: the same kind of chunk given straight to record_results, people already in hand.
        floor = []
        for batch in range(min(batches, 3)):
            # Loaded again after each commit: an expired person would be refreshed one SELECT at a time.
            people = {
                p.id: p
                for p in db.session.scalars(sa.select(Person).where(Person.id.in_([w[0] for w in women])))
            }
            items = _items(women, stamp + "f", batch, size, day)
            inputs = [
                ResultInput(
                    people[women[(batch * size + n) % len(women)][0]], item["values"], item["source_key"]
                )
                for n, item in enumerate(items)
            ]
            started = time.perf_counter()
            record_results("CERVICAL_CANCER", "HPV", inputs, institution, actor, dt.datetime.now(dt.UTC),
                           source_system="BENCH-FLOOR")  # fmt: skip
            db.session.commit()
            floor.append(time.perf_counter() - started)
        out["floor_record_results_s"] = {"p50": round(percentile(floor, 50), 3), "max": round(max(floor), 3)}

        lookup = []
        for n in range(lookups):
            person_id, id_number = women[n % len(women)]
            started = time.perf_counter()
            found = client.post("/api/v1/persons/search", json={"id_number": id_number}, headers=headers)
            lookup.append(time.perf_counter() - started)
            assert found.status_code == 200 and found.json["persons"], found.json
        out["search_ms"] = {"p50": round(percentile(lookup, 50) * 1000, 1),
                            "p95": round(percentile(lookup, 95) * 1000, 1)}  # fmt: skip
        records = []
        for n in range(lookups):
            person_id, _ = women[n % len(women)]
            started = time.perf_counter()
            response = client.get(f"/api/v1/persons/{person_id}", headers=headers)
            records.append(time.perf_counter() - started)
            assert response.status_code == 200
        out["person_records_ms"] = {"p50": round(percentile(records, 50) * 1000, 1),
                                    "p95": round(percentile(records, 95) * 1000, 1)}  # fmt: skip
        out["targets"] = TARGETS
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args(argv)
    print(
        json.dumps(measure(args.database_url, args.batches, args.size, args.lookups), indent=1, default=str)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
