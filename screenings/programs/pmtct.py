"""What the three PMTCT programs share (预防艾滋病、梅毒和乙肝母婴传播, programs.md §6).

Each disease is its own Program (PMTCT_HIV, PMTCT_SYPHILIS, PMTCT_HBV) with a maternal workflow and
an exposed-infant schedule; this module holds the maternal test fields and indicators they repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from screenings.engine import (
    Choice,
    Eligibility,
    Field,
    FieldKind,
    Setting,
    SettingBook,
    SettingValues,
    SubjectKind,
)
from screenings.engine.indicators import DELIVERY_PERIOD, Indicator, unsupported
from screenings.engine.milestones import Milestone as M
from screenings.engine.predicates import Before, Finding, Has, SubjectIs

MATERNAL_ELIGIBILITY = Eligibility(
    (SubjectKind.PREGNANT_WOMAN,), description="All pregnant women, at the first antenatal visit or at labour"
)

# A maternal result this close after a birth still belongs to that pregnancy: tests at labour are
# entered up to a week late, and an infant born meanwhile is still exposed.
DELIVERY_TESTING_MARGIN = timedelta(days=7)

TESTING_STAGES = (
    Choice("PREGNANCY", "孕期", "During pregnancy"),
    Choice("INTRAPARTUM", "产时", "At labour"),
    Choice("POSTPARTUM", "产后", "After delivery"),
)

MATERNAL_FIELDS = (
    Field("tested_on", FieldKind.DATE, "检测日期", "Test date"),
    Field("testing_stage", FieldKind.CHOICE, "检测时期", "Stage of testing", choices=TESTING_STAGES),
    Field("gestational_weeks", FieldKind.INTEGER, "孕周", "Gestational age", "weeks", 0, 45, required=False),
)

STAGE_FINDINGS = (
    Choice("FIRST_TRIMESTER", "孕早期检测", "Tested in the first trimester"),
    Choice("INTRAPARTUM", "产时检测", "Tested at labour"),
)


def first_trimester_setting(book: SettingBook) -> Setting:
    """Declare the first-trimester limit: up to 12⁺⁶ weeks, i.e. 12 completed weeks [S79][S82]."""
    return book.add("FIRST_TRIMESTER_MAX_WEEKS", 12, "S", "S79,S82", "completed weeks")


def stage_findings(
    values: Mapping[str, object], settings: SettingValues, first_trimester: Setting
) -> tuple[str, ...]:
    """Return the findings the testing-rate indicators count: first trimester, intrapartum."""
    weeks = values["gestational_weeks"]
    found: list[str] = []
    if (
        values["testing_stage"] == "PREGNANCY"
        and isinstance(weeks, int)
        and weeks <= settings.whole(first_trimester)
    ):
        found.append("FIRST_TRIMESTER")
    if values["testing_stage"] == "INTRAPARTUM":
        found.append("INTRAPARTUM")
    return tuple(found)


_MOTHERS_DELIVERING = SubjectIs(SubjectKind.PREGNANT_WOMAN) & Has(M.DELIVERED)
_TESTED_BY_DELIVERY = Before(M.SCREENED, M.DELIVERED)  # in pregnancy or at labour, not after


def testing_indicators(book: SettingBook, disease_zh: str, disease_en: str) -> tuple[Indicator, ...]:
    """Declare the three maternal testing-rate indicators every PMTCT program reports [S79][S82]."""
    delivering = "Women delivering in the period (hospital + non-hospital)"
    return (
        Indicator(
            "TESTING_RATE",
            f"孕产妇{disease_zh}检测率",
            f"Maternal {disease_en} testing rate",
            "Women tested in pregnancy and/or at delivery",
            delivering,
            DELIVERY_PERIOD,
            num=_TESTED_BY_DELIVERY,
            den=_MOTHERS_DELIVERING,
            target=book.add("TARGET_TESTING_RATE", "95", "S", "S79,S80", "%"),
            source="S82",
        ),
        Indicator(
            "PREGNANCY_TESTING_RATE",
            "孕期检测率",
            "Tested in pregnancy",
            "Women tested during pregnancy",
            delivering,
            DELIVERY_PERIOD,
            num=_TESTED_BY_DELIVERY & ~Finding("INTRAPARTUM"),
            den=_MOTHERS_DELIVERING,
            target=book.add("TARGET_PREGNANCY_TESTING_RATE", "90", "S", "S79", "%"),
            source="S82",
        ),
        Indicator(
            "FIRST_TRIMESTER_TESTING_RATE",
            "孕早期检测率",
            "Tested in the first trimester",
            "Women tested at ≤12⁺⁶ weeks",
            delivering,
            DELIVERY_PERIOD,
            num=_TESTED_BY_DELIVERY & Finding("FIRST_TRIMESTER"),
            den=_MOTHERS_DELIVERING,
            target=book.add("TARGET_FIRST_TRIMESTER_TESTING_RATE", "70", "S", "S79,S81", "%"),
            source="S82",
        ),
    )


def partner_testing_indicator(book: SettingBook) -> Indicator:
    """Declare the partner testing rate, an elimination process indicator [S81]."""
    return unsupported(
        "PARTNER_TESTING_RATE",
        "配偶/性伴检测率",
        "Partner testing rate",
        "Partners tested",
        "Positive women",
        DELIVERY_PERIOD,
        "partners' tests are not recorded: a partner is not a person of the registry",
        "未记录配偶/性伴的检测：配偶/性伴不是本系统登记的人员",
        target=book.add("TARGET_PARTNER_TESTING_RATE", "85", "S", "S81", "%"),
        source="S81",
    )
