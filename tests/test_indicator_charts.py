"""The SVG charts: Chinese labels are text, numbers are drawn, bad characters cannot break the markup."""

import xml.etree.ElementTree as ET
from decimal import Decimal

from screenings.indicators.charts import cascade_funnel, institution_bars, trend_line

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_funnel_labels_are_text_with_counts_and_shares():
    svg = cascade_funnel("新生儿听力筛查 级联", [("活产数", 200), ("初筛", 190), ("未通过", 19)])
    root = ET.fromstring(svg)
    assert "Noto Sans CJK SC" in root.get("font-family")
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "新生儿听力筛查 级联"
    texts = _texts(svg)
    assert {"活产数", "初筛", "未通过", "200", "190 (95.0%)", "19 (9.5%)"} <= set(texts)
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] > widths[1] > widths[2] > 0


def test_funnel_of_an_empty_cascade_draws_no_bar():
    root = ET.fromstring(cascade_funnel("级联", [("活产数", 0), ("初筛", 0)]))
    assert [float(r.get("width")) for r in root.iter(f"{SVG}rect")] == [0, 0]


def test_trend_draws_each_month_and_breaks_at_a_missing_value():
    points = [("1月", Decimal("80")), ("2月", Decimal("90.25")), ("3月", None), ("4月", 70), ("5月", 75)]
    svg = trend_line("阳性病例结案率", points, target=Decimal("90"))
    root = ET.fromstring(svg)
    texts = _texts(svg)
    assert {"1月", "2月", "3月", "4月", "5月", "90.2", "90.0%"} <= set(texts)
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    assert len(list(root.iter(f"{SVG}polyline"))) == 2  # the gap at 3月 splits the line


def test_bars_show_values_and_dash_for_no_value():
    bars = [("西湖区第一人民医院", Decimal("75.5")), ("北山街道", None)]
    svg = institution_bars("各机构结案率", bars, target=80)
    root = ET.fromstring(svg)
    assert {"西湖区第一人民医院", "北山街道", "75.5%", "—"} <= set(_texts(svg))
    assert len(list(root.iter(f"{SVG}rect"))) == 1
    assert len(list(root.iter(f"{SVG}line"))) == 1  # the target


def test_markup_in_a_label_stays_text():
    svg = institution_bars('<script>alert("x")</script>&', [('a"<b>', 10)])
    assert "<script>" not in svg
    assert _texts(svg)[0] == '<script>alert("x")</script>&'


def test_a_trend_with_no_month_says_so_instead_of_an_empty_axis():
    svg = trend_line("结案率", [("11月", None), ("12月", None)], empty_label="近12个月无阳性病例，无结案率")
    assert "近12个月无阳性病例，无结案率" in svg
    assert "近12个月无阳性病例" not in trend_line(
        "结案率", [("11月", 50), ("12月", None)], empty_label="近12个月无阳性病例"
    )
