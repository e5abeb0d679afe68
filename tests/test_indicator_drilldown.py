"""统计分析: the institution table sorts by any column, every count opens the records behind it, exports."""

import re

from registry.auth.models import Role
from tests.test_indicator_figures import _load

PAGE = "/statistics?period=2026-11&program=NEWBORN_HEARING"


def _rows(page: str, indicator: str) -> list[str]:
    """Return the data-institution of each figure row of one indicator, in page order."""
    found = re.findall(r'<tr data-indicator="([A-Z_]+)" data-institution="([^"]*)"', page)
    return [place for code, place in found if code == indicator]


def test_the_table_sorts_by_a_column_server_side_and_keeps_the_period_and_program(
    client, login, district, make_user
):
    h, c = _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    plain = client.get(PAGE).get_data(as_text=True)
    assert "aria-sort" not in plain and 'data-sort="numerator"' in plain
    assert "sort=numerator" in plain and "period=2026-11" in plain
    up = client.get(f"{PAGE}&sort=denominator&dir=asc").get_data(as_text=True)
    # INITIAL_SCREEN_RATE denominators: hospital 3, community 2, MCH 0, district 5
    assert _rows(up, "INITIAL_SCREEN_RATE") == [district["mch"].code, c, h, ""]
    assert 'data-sort="denominator" aria-sort="ascending"' in up
    assert "sort=denominator&amp;dir=desc" in up  # the sorted header turns the order round
    down = client.get(f"{PAGE}&sort=denominator&dir=desc").get_data(as_text=True)
    assert _rows(down, "INITIAL_SCREEN_RATE") == ["", h, c, district["mch"].code]
    assert 'aria-sort="descending"' in down
    # the period menu and the form keep the order
    assert 'name="sort" value="denominator"' in down and "period=2026-Q4" in down
    assert client.get(f"{PAGE}&sort=password").status_code == 400


def test_empty_values_sort_last_either_way(client, login, district, make_user):
    _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    for direction in ("asc", "desc"):
        page = client.get(f"{PAGE}&sort=value&dir={direction}").get_data(as_text=True)
        assert _rows(page, "INITIAL_SCREEN_RATE")[-1] == district["mch"].code  # 0/0 has no value


def test_masked_counts_sort_together_so_their_order_tells_nothing():
    from types import SimpleNamespace

    from screenings.indicators.views import sort_rows

    def item(place, numerator):
        row = SimpleNamespace(name="x", unit="PERCENT", target=None)
        return {"row": row, "place": place, "numerator": numerator, "denominator": None, "value": None}

    rows = [item("a", "<5"), item("b", 7), item("c", "<5"), item("d", 0)]
    assert [r["place"] for r in sort_rows(rows, "numerator", False)] == ["d", "a", "c", "b"]
    assert [r["place"] for r in sort_rows(rows, "numerator", True)] == ["b", "a", "c", "d"]
