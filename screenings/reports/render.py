"""The monthly report's HTML and PDF, drawn from its snapshot alone.

The report's language is a property of the document (Chinese, or an English edition on request), not of
the reader's session, so its words come from the two-language table below. Nothing here reads the
database or the clock: the same snapshot gives the same bytes (the PDF's dates are the cut-off, its file
identifier is derived from the snapshot).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from decimal import Decimal

from flask import render_template
from markupsafe import Markup

from registry.pdf import render_pdf_document
from screenings.engine import LOCAL_TZ
from screenings.indicators.charts import cascade_funnel, institution_bars, trend_line

SMALL = 5  # the dashboard's small-cell rule: PMTCT counts 1-4 print as "<5"


@dataclasses.dataclass(frozen=True)
class Layout:
    """One version of the report's layout: its template and the choices its context makes.

    A layout, once a report may have been approved under it, is frozen: changing how a report looks means a
    new version (a new template file and entry here), so an approved report still renders from its snapshot
    to the bytes it was approved as. tests/test_report_layouts.py pins each frozen layout's HTML.
    """

    version: str
    template: str
    columns: int  # indicators per by-institution table
    count_columns: int  # the same for counts-only (PMTCT) tables: narrow cells
    top_bars: int | None = None  # the overdue-by-institution chart shows the N institutions with most overdue


LAYOUTS = {
    "1": Layout("1", "reports/monthly-1.html", columns=5, count_columns=7),
    # Compact by-institution tables (6 indicators, 7 pt rows) and the 20 institutions with most overdue in the
    # chart: a 60-institution district takes about a page per table instead of 1.3 (45 pages -> see the test).
    "2": Layout("2", "reports/monthly-2.html", columns=6, count_columns=8, top_bars=20),
}
CURRENT_LAYOUT = "2"
LEGACY_LAYOUT = "1"  # a snapshot stored before layouts were versioned was rendered with this one


class LayoutUnavailable(ValueError):
    """A snapshot names a layout this version of the registry no longer renders."""

    def __init__(self, version: str) -> None:
        super().__init__(
            f"built with layout {version}, which is no longer available; current is {CURRENT_LAYOUT}"
        )
        self.version = version


def snapshot_layout(snapshot: dict) -> str:
    """Return the version of the layout a snapshot renders with (recorded in it, or the legacy one)."""
    return str(snapshot.get("layout", LEGACY_LAYOUT))


def layout_of(snapshot: dict) -> Layout:
    """Return the layout a snapshot renders with; LayoutUnavailable if this version no longer has it."""
    version = snapshot_layout(snapshot)
    if version not in LAYOUTS:
        raise LayoutUnavailable(version)
    return LAYOUTS[version]


WORDS = {
    "title": ("妇幼健康筛查月报", "Monthly screening report"),
    "district": ("辖区", "District"),
    "month": ("报告月份", "Month"),
    "institutions": ("机构数", "Institutions"),
    "cut_off": ("数据截止", "Data cut-off"),
    "snapshot": ("快照校验码", "Snapshot checksum"),
    "summary": ("主要指标摘要（对照目标）", "Key indicators against targets"),
    "program": ("项目", "Program"),
    "indicator": ("指标", "Indicator"),
    "this_month": ("本月", "This month"),
    "last_month": ("上月", "Last month"),
    "change": ("较上月", "Change"),
    "ytd": ("本年累计", "Year to date"),
    "target": ("目标", "Target"),
    "status": ("达标", "Met"),
    "met": ("达标", "met"),
    "below": ("未达标", "below"),
    "table": ("表", "Table "),
    "by_institution": ("按机构", "by institution"),
    "institution": ("机构", "Institution"),
    "district_total": ("全区合计", "District total"),
    "counts_only": ("仅报告例数；1–4 例显示为“<5”。", "Counts only; 1-4 shows as \"<5\"."),
    "charts": ("图表", "Charts"),
    "cascade": ("筛查流程", "Cascade"),
    "closure": ("阳性病例结案率", "Positive-case closure rate"),
    "last_12": ("近12个月", "last 12 months"),
    "overdue_by_inst": ("各机构逾期例数", "Overdue by institution"),
    "below_target": ("未达标机构", "Institutions below target"),
    "no_closure_figures": (
        "近12个月无阳性病例，无结案率",
        "No positive cases in the last 12 months: no closure rate",
    ),
    "none": ("无", "None"),
    "value": ("本月值", "Value"),
    "cases": ("表G 随访工作量与及时性（截止时）", "Table G: follow-up work and timeliness (at the cut-off)"),
    "age_band": ("年龄组（岁）", "Age band (years)"),
    "open": ("在办", "Open"),
    "overdue": ("逾期", "Overdue"),
    "lost": ("失访", "Lost to follow-up"),
    "corrections": ("更正（上月数据在截止后的变更）", "Late corrections (last month, after its cut-off)"),
    "old": ("原值", "Old"),
    "new": ("新值", "New"),
    "records": ("变更记录数", "Records changed"),
    "late_entries": ("已批准月份的补录与更正（附原因）", "Entries in approved months, with their reasons"),
    "recorded_on": ("录入日期", "Recorded on"),
    "entry": ("类型", "Entry"),
    "reason": ("原因", "Reason"),
    "result_entry": ("检测结果", "Result"),
    "case_entry": ("随访记录", "Case entry"),
    "restricted_reason": ("（受限项目，不列出）", "(restricted program: not shown)"),
    "quality": ("附录：数据质量", "Annex: data quality"),
    "unmatched": ("待匹配的检验结果", "Unmatched results waiting"),
    "rejected": ("本月导入被拒绝的行", "Import rows rejected this month"),
    "no_contact": ("尚无联系记录的在办病例", "Open cases with no contact attempt"),
    "missing": ("漏筛（在办）", "Missing screenings (open)"),
    "page": ("第 {x} 页 / 共 {y} 页", "Page {x} of {y}"),
    "layout": ("版式", "Layout"),
    "top_overdue": ("逾期最多的 {n} 家机构", "the {n} institutions with most overdue"),
    "stages": {
        "screened": ("筛查", "Screened"), "positive": ("阳性", "Positive"), "recalled": ("召回", "Recalled"),
        "diagnosed": ("诊断", "Diagnosed"), "confirmed": ("确诊", "Confirmed"),
        "treated": ("治疗", "Treated"),
        "closed": ("结案", "Closed"), "overdue": ("逾期", "Overdue"), "lost": ("失访", "Lost"),
    },
}  # fmt: skip
UNITS = {"PERCENT": "%", "PER_MILLE": "‰", "PER_100K": "/10万", "ONE_IN_N": "", "DAYS": "天"}
UNITS_EN = {"PERCENT": "%", "PER_MILLE": "‰", "PER_100K": "/100k", "ONE_IN_N": "", "DAYS": " d"}


def snapshot_json(snapshot: dict) -> bytes:
    """Return the snapshot's canonical JSON (sorted keys, no spaces): what its checksum is taken of."""
    return json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _masked(value, restricted: bool):
    if restricted and value is not None and 0 < value < SMALL:
        return "<5"
    return value


class _Words:
    def __init__(self, lang: str) -> None:
        self.i = 0 if lang == "zh" else 1

    def __getattr__(self, key: str) -> str:
        return WORDS[key][self.i]

    def stage(self, key: str) -> str:
        return WORDS["stages"][key][self.i]


def _value(row: dict | None, lang: str) -> str:
    if row is None or row.get("value") is None:
        return "—"
    value = Decimal(row["value"])
    if row["unit"] == "ONE_IN_N":
        return f"1/{value:.0f}"
    units = UNITS if lang == "zh" else UNITS_EN
    return f"{value:.1f}{units.get(row['unit'], '')}"


def _target(row: dict, lang: str) -> str:
    """A target in its indicator's unit ("98%", "1/1000"), as few digits as it was set with."""
    if row.get("target") is None:
        return "—"
    value = Decimal(str(row["target"])).normalize()
    if row["unit"] == "ONE_IN_N":
        return f"1/{value:f}"
    return f"{value:f}{(UNITS if lang == 'zh' else UNITS_EN).get(row['unit'], '')}"


def _change(now: dict | None, before: dict | None) -> str:
    if not now or not before or now.get("value") is None or before.get("value") is None:
        return "—"
    delta = Decimal(now["value"]) - Decimal(before["value"])
    return f"{delta:+.1f}"


def _local(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def figures_checksum(snapshot: dict) -> str:
    """Return the checksum printed on the cover: of the figures, whichever layout renders them."""
    figures = {k: v for k, v in snapshot.items() if k != "layout"}
    return hashlib.sha256(snapshot_json(figures)).hexdigest()[:16]


def report_context(snapshot: dict, lang: str = "zh") -> dict:
    """Turn a snapshot into what the template prints: labels, masked counts, formatted values, charts."""
    layout = layout_of(snapshot)
    words = _Words(lang)
    names = {i["code"]: i["name"] for i in snapshot["institutions"]}
    year, month = snapshot["month"].split("-")
    month_label = f"{year}年{int(month)}月" if lang == "zh" else snapshot["month"]
    programs = []
    summary = []
    below = []
    for prog in snapshot["programs"]:
        restricted = prog["restricted"]
        title = prog["name"] if lang == "zh" else prog["name_en"]
        labels = {code: (zh if lang == "zh" else en) for code, zh, en in prog["indicators"]}
        order = [code for code, _zh, _en in prog["indicators"]]
        rows = {(r["indicator"], r["institution"]): r for r in prog["month"]}
        previous = {r["indicator"]: r for r in prog["previous"]}
        ytd = {r["indicator"]: r for r in prog["ytd"]}
        shown = [
            c
            for c in order
            if (c, None) in rows and not (rows[(c, None)]["reason"] or "").startswith("unsup")
        ]
        for code in shown:
            row = rows[(code, None)]
            if row["target"] is None and not restricted:
                continue
            summary.append({
                "program": title, "indicator": labels[code], "restricted": restricted,
                "numerator": _masked(row["numerator"], restricted),
                "denominator": _masked(row["denominator"], restricted),
                "value": "—" if restricted else _value(row, lang),
                "previous": "—" if restricted else _value(previous.get(code), lang),
                "change": "—" if restricted else _change(row, previous.get(code)),
                "ytd": "—" if restricted else _value(ytd.get(code), lang),
                "target": "—" if restricted else _target(row, lang),
                "met": None if restricted else row["meets_target"],
            })  # fmt: skip
        places = [i["code"] for i in snapshot["institutions"]] + [None]
        tables = []
        per_table = layout.count_columns if restricted else layout.columns
        for first in range(0, len(shown), per_table):
            columns = shown[first : first + per_table]
            body = []
            for place in places:
                cells = []
                for code in columns:
                    r = rows.get((code, place))
                    cells.append({
                        "value": "" if restricted else _value(r, lang),
                        "n": _masked((r or {}).get("numerator"), restricted),
                        "d": _masked((r or {}).get("denominator"), restricted),
                        "below": (r or {}).get("meets_target") is False and not restricted,
                    })  # fmt: skip
                body.append({"place": names.get(place, place) if place else words.district_total,
                             "total": place is None, "cells": cells})  # fmt: skip
            tables.append({"columns": [labels[c] for c in columns], "rows": body})
        if not restricted:
            for code in shown:
                for place in places[:-1]:
                    r = rows.get((code, place))
                    if r and r["meets_target"] is False:
                        below.append({"program": title, "indicator": labels[code],
                                      "place": names.get(place, place), "value": _value(r, lang),
                                      "target": _target(r, lang)})  # fmt: skip
        charts = None
        if not restricted:
            stages = [(words.stage(s), n) for s, n in prog["cascade"]]
            trend = [(f"{int(m[5:])}月" if lang == "zh" else m[5:], None if v is None else Decimal(v))
                     for m, v in prog["trend"]]  # fmt: skip
            overdue = [
                (names.get(b["institution"], b["institution"]), b["overdue"]) for b in prog["by_institution"]
            ]
            bars_title = f"{title} · {words.overdue_by_inst}"
            if layout.top_bars is not None and len(overdue) > layout.top_bars:
                overdue = sorted(overdue, key=lambda bar: -bar[1])[: layout.top_bars]
                bars_title += f"（{words.top_overdue.replace('{n}', str(layout.top_bars))}）"
            charts = [
                Markup(cascade_funnel(f"{title} · {words.cascade}", stages)),
                Markup(
                    trend_line(
                        f"{title} · {words.closure} · {words.last_12}",
                        trend,
                        empty_label=words.no_closure_figures,
                    )
                ),  # fmt: skip
                Markup(institution_bars(bars_title, overdue, unit="")),
            ]
        programs.append({"code": prog["code"], "title": title, "table": prog["table"],
                         "restricted": restricted, "tables": tables, "charts": charts})  # fmt: skip
    restricted_codes = {p["code"] for p in snapshot["programs"] if p["restricted"]}
    titles = {p["code"]: p["name"] if lang == "zh" else p["name_en"] for p in snapshot["programs"]}
    cases = [
        {**c, "program": titles.get(c["program"], c["program"]),
         **{k: _masked(c[k], c["program"] in restricted_codes) for k in ("open", "overdue", "lost")}}
        for c in snapshot["cases"]
    ]  # fmt: skip

    def figure(correction: dict, side: str):
        if correction["program"] in restricted_codes:  # counts only
            return _masked(correction[side]["numerator"], True)
        return _value({**correction[side], "unit": correction["unit"]}, lang)

    corrections = [
        {**c, "program": titles.get(c["program"], c["program"]),
         "place": names.get(c["institution"], c["institution"]) if c["institution"] else words.district_total,
         "old": figure(c, "old"), "new": figure(c, "new")}
        for c in snapshot["corrections"]
    ]  # fmt: skip
    late_entries = [
        {**e, "program": titles.get(e["program"], e["program"]),
         "place": names.get(e["institution"], e["institution"]),
         "entry": words.result_entry if e["entity"] == "screening_result" else words.case_entry,
         "reason": words.restricted_reason if e["program"] in restricted_codes else e["reason"]}
        for e in snapshot.get("late_entries", [])
    ]  # fmt: skip
    quality = dict(snapshot["quality"])
    quality["missing_screenings"] = [
        (titles.get(p, p), _masked(n, p in restricted_codes))
        for p, n in quality["missing_screenings"].items()
    ]
    page_zh, page_en = WORDS["page"]
    return {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "w": words,
        "snapshot": snapshot,
        "district": snapshot["district"]["name"],
        "month_label": month_label,
        "cut_off": _local(snapshot["cut_off"]),
        "created": snapshot["cut_off"],
        "checksum": figures_checksum(snapshot),
        "layout": layout.version,
        "summary": summary,
        "programs": programs,
        "below": below,
        "cases": cases,
        "corrections": corrections,
        "late_entries": late_entries,
        "quality": quality,
        "page_css": (page_zh if lang == "zh" else page_en)
        .replace("{x}", '" counter(page) "')
        .replace("{y}", '" counter(pages) "'),
    }


def report_html(snapshot: dict, lang: str = "zh") -> str:
    """Return the report's HTML for WeasyPrint, in the layout the snapshot names."""
    return render_template(layout_of(snapshot).template, **report_context(snapshot, lang))


def render_report(snapshot: dict, lang: str = "zh") -> tuple[bytes, int]:
    """Render the report's PDF from its snapshot; returns (bytes, page count), the same bytes every time.

    The layout is the one the snapshot names (LayoutUnavailable if retired), so an approved report renders
    as it was approved whatever the current layout is.
    """
    identifier = hashlib.sha256(snapshot_json(snapshot) + lang.encode()).hexdigest()[:32].encode()
    return render_pdf_document(report_html(snapshot, lang), identifier=identifier)
