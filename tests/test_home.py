"""Home pages: a coordinator's does no work that grows with the whole people table on every view."""

import pytest

from registry import home_figures
from registry.auth.models import Role
from registry.extensions import db


@pytest.fixture(autouse=True)
def fresh_counts():
    home_figures._people_counts.clear()
    yield
    home_figures._people_counts.clear()


def test_the_coordinators_people_counts_are_kept_for_a_few_minutes(
    client, district, make_user, make_person, login, count_queries, monkeypatch
):
    login(make_user(Role.FOLLOW_UP_COORDINATOR, district["mch"]))
    make_person(district["hospital"], name="王芳")
    first = client.get("/").get_data(as_text=True)
    assert "第一人民医院" in first and "统计时间" in first

    make_person(district["hospital"], name="李梅")
    with count_queries() as queries:
        client.get("/")
    assert not any(
        "count(" in statement.lower() and "person" in statement.lower() for statement in queries.statements
    )

    monkeypatch.setattr(home_figures, "PEOPLE_COUNT_SECONDS", -1)
    with count_queries() as queries:
        client.get("/")
    assert any(
        "count(" in statement.lower() and "person" in statement.lower() for statement in queries.statements
    )


def test_a_clinics_people_count_is_kept_for_a_few_minutes_too(
    client, district, make_user, make_person, login, count_queries, monkeypatch
):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    make_person(district["hospital"], name="王芳")
    first = client.get("/").get_data(as_text=True)
    assert "已登记人数：1" in first and "统计时间" in first

    make_person(district["hospital"], name="李梅")
    with count_queries() as queries:
        page = client.get("/").get_data(as_text=True)
    assert "李梅" in page  # the recently registered list is read on every view
    assert not any(
        "count(" in statement.lower() and "person" in statement.lower() for statement in queries.statements
    )

    monkeypatch.setattr(home_figures, "PEOPLE_COUNT_SECONDS", -1)
    assert "已登记人数：2" in client.get("/").get_data(as_text=True)


def test_a_clinics_recent_people_are_read_from_the_index_without_sorting_everyone(app, district):
    query = home_figures.recent_people_query(district["hospital"].id)
    connection = db.session.connection()
    compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "sqlite":
        plan = " ".join(str(row) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        assert "ix_person_institution_recent" in plan and "TEMP B-TREE" not in plan, plan
    else:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a test database is too small to judge
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
        assert "ix_person_institution_recent" in plan and "Sort" not in plan, plan
