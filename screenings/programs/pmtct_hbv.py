"""PMTCT of hepatitis B (预防乙肝母婴传播): maternal antiviral; infant HBIG, vaccine, serology (§6.5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from screenings.engine import (
    CaseReason,
    Choice,
    ClosureOutcome,
    Deadline,
    ExposedInfantPlan,
    Field,
    FieldKind,
    Program,
    ResultCode,
    ScreeningTest,
    SettingBook,
    SettingValues,
    Step,
    StepKind,
    Subject,
    SubjectKind,
    TargetComparison,
    TimeUnit,
    Verdict,
    by_age,
    close,
    goto,
    within,
    within_and_by_age,
)
from screenings.engine.indicators import (
    BIRTH_COHORT,
    DELIVERY_PERIOD,
    Indicator,
)
from screenings.engine.milestones import Milestone as M
from screenings.engine.milestones import sets
from screenings.engine.predicates import (
    AgeAtLeast,
    Before,
    Finding,
    Has,
    ResultIs,
    SubjectIs,
    Within,
)

from ._common import POSITIVE_NEGATIVE, POSITIVE_NEGATIVE_NOT_DONE, end_of_local_day, standard_policies
from .pmtct import (
    DELIVERY_TESTING_MARGIN,
    MATERNAL_ELIGIBILITY,
    MATERNAL_FIELDS,
    STAGE_FINDINGS,
    first_trimester_setting,
    stage_findings,
    testing_indicators,
)

CODE = "PMTCT_HBV"
_S = SettingBook(CODE)
_MONTHS = TimeUnit.MONTHS

FIRST_TRIMESTER = first_trimester_setting(_S)
DNA_HIGH_RISK_ABOVE = _S.add("HBV_DNA_HIGH_RISK_ABOVE_IU_ML", 200000, "S", "S86", "IU/mL")
DNA_TEST_DAYS = _S.add("DNA_TEST_DAYS", 30, "P", "§6.5 row 1 (during pregnancy)", "days")
ANTIVIRAL_DAYS = _S.add("ANTIVIRAL_START_DAYS", 30, "P", "S86 (start at 28–32 weeks: book the date)", "days")
ANTIVIRAL_BY_WEEKS = _S.add(
    "ANTIVIRAL_START_BY_GESTATION_WEEKS", 32, "S", "S86 (start at 28–32 weeks)", "weeks"
)
HBIG_HOURS = _S.add("HBIG_DOSE_1_BY_AGE_HOURS", 12, "S", "S86", "h")
DEFERRED_DOSE_DAYS = _S.add("DEFERRED_DOSE_1_DAYS", 30, "P", "S86 (vaccine when stable)", "days")
DOSE_2_DAYS = _S.add("DOSE_2_BY_AGE_DAYS", 30, "S", "S86 (1 month, 0-1-6)", "days of age")
DOSE_2_AFTER_DEFERRED_DAYS = _S.add("DOSE_2_AFTER_DEFERRED_DOSE_1_DAYS", 30, "P", "S86 (0-1-6)", "days")
DOSE_3_DAYS = _S.add("DOSE_3_BY_AGE_DAYS", 180, "S", "S86 (6 months, 0-1-6)", "days of age")
SEROLOGY_MONTHS = _S.add("SEROLOGY_BY_AGE_MONTHS", 12, "S", "S86 (at 7–12 months)", "months of age")
SEROLOGY_FROM_MONTHS = _S.add("SEROLOGY_FROM_AGE_MONTHS", 7, "S", "S86 (at 7–12 months)", "months of age")
SEROLOGY_AFTER_DOSE_FROM = _S.add(
    "SEROLOGY_FROM_MONTHS_AFTER_DOSE_3", 1, "S", "S86 (1–2 months after dose 3)", "months"
)
SEROLOGY_AFTER_DOSE_BY = _S.add(
    "SEROLOGY_BY_MONTHS_AFTER_DOSE_3", 2, "S", "S86 (1–2 months after dose 3)", "months"
)
REVACCINATION_MONTHS = _S.add("REVACCINATION_MONTHS", 7, "P", "S86 (a 0-1-6 course, then a month)", "months")
RETEST_MONTHS = _S.add("RETEST_MONTHS", 2, "S", "S86 (1–2 months after dose 3)", "months")
HEPATOLOGY_DAYS = _S.add("HEPATOLOGY_REFERRAL_DAYS", 30, "P", "§6.5 row 7", "days")


def classify_hbv(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify maternal HBsAg; HBeAg+ or HBV DNA >2×10⁵ IU/mL is a high transmission risk [S86]."""
    findings = stage_findings(values, settings, FIRST_TRIMESTER)
    if values["hbsag"] == "NEGATIVE":
        return Verdict("HBSAG_NEG", findings)
    hbeag, dna = values["hbeag"], values["hbv_dna_iu_ml"]
    high = hbeag == "POSITIVE" or (isinstance(dna, Decimal) and dna > settings.number(DNA_HIGH_RISK_ABOVE))
    if high:
        extra = ("HBEAG_POS",) if hbeag == "POSITIVE" else ()
        return Verdict(
            "HBSAG_POS",
            (*findings, *extra, "HIGH_MTCT_RISK"),
            first_step="ANTIVIRAL_START",
            scheduled_due_at=antiviral_due(values, settings),
        )
    if dna is None and hbeag in (None, "NOT_DONE"):
        return Verdict("HBSAG_POS", findings)  # risk unknown: HBV DNA first
    # known low risk: no maternal action before delivery, but the infant is still exposed
    return Verdict("HBSAG_POS", (*findings, "LOW_MTCT_RISK"), opens_case=False)


def antiviral_due(values: Mapping[str, object], settings: SettingValues) -> datetime | None:
    """Return the end of the day the pregnancy reaches 32 weeks, from the test's date and gestation [S86].

    None when the gestation is not known: the step's own relative deadline applies.
    """
    tested_on, weeks = values["tested_on"], values["gestational_weeks"]
    if not isinstance(tested_on, date) or not isinstance(weeks, int):
        return None
    by_weeks = settings.whole(ANTIVIRAL_BY_WEEKS)
    return end_of_local_day(tested_on + timedelta(weeks=max(by_weeks - weeks, 0)))


# fmt: off
HBV_SCREEN = ScreeningTest("HBV_SCREEN", "孕产妇乙肝检测", "Maternal hepatitis B test", (
    *MATERNAL_FIELDS,
    Field("hbsag", FieldKind.CHOICE, "乙肝表面抗原", "HBsAg", choices=POSITIVE_NEGATIVE),
    Field("hbeag", FieldKind.CHOICE, "乙肝e抗原", "HBeAg", choices=POSITIVE_NEGATIVE_NOT_DONE,
          required=False),
    Field("hbv_dna_iu_ml", FieldKind.DECIMAL, "HBV DNA", "HBV DNA", "IU/mL", Decimal(0), Decimal("1E11"),
          required=False),
), (
    ResultCode("HBSAG_NEG", "HBsAg阴性", "HBsAg negative"),
    ResultCode("HBSAG_POS", "HBsAg阳性", "HBsAg positive", True, CaseReason.POSITIVE_RESULT, "HBV_DNA_TEST",
               exposes_infant=True),
), classify_hbv, (
    *STAGE_FINDINGS,
    *(Choice(code, zh, en) for code, zh, en in (
        ("HBEAG_POS", "HBeAg阳性", "HBeAg positive"),
        ("HIGH_MTCT_RISK", "母婴传播高风险", "High transmission risk"),
        ("LOW_MTCT_RISK", "母婴传播低风险", "Low transmission risk"),
    )),
), "tested_on")

_PROTECTED = close("PROTECTED", "抗-HBs阳性", "Anti-HBs positive: protected", ClosureOutcome.NOT_CONFIRMED)
_INFECTED = goto("INFECTED", "HBsAg阳性，感染", "HBsAg positive: infected", "HEPATOLOGY_REFERRAL")

STEPS = (
    Step("HBV_DNA_TEST", "HBV DNA/HBeAg检测", "HBV DNA / HBeAg test", StepKind.DIAGNOSIS,
         within(DNA_TEST_DAYS), (
        goto("HIGH_MTCT_RISK", "高传播风险", "High transmission risk", "ANTIVIRAL_START"),
        close("LOW_MTCT_RISK", "低传播风险", "Low transmission risk", ClosureOutcome.CONFIRMED_MONITORED),
    )),
    Step("ANTIVIRAL_START", "孕妇抗病毒治疗", "Maternal antiviral (TDF)", StepKind.TREATMENT,
         within(ANTIVIRAL_DAYS), (
        close("STARTED", "已开始服药", "Antiviral started", ClosureOutcome.CONFIRMED_TREATED),
    ), accepts_scheduled_due=True),
    Step("HBIG_AND_DOSE_1", "乙肝免疫球蛋白+首针疫苗", "HBIG and vaccine dose 1", StepKind.PROPHYLAXIS,
         by_age(HBIG_HOURS, TimeUnit.HOURS), (
        goto("BOTH_GIVEN", "均已接种", "Both given", "HEPB_DOSE_2"),
        goto("VACCINE_DEFERRED", "已注射HBIG，疫苗暂缓", "HBIG given, vaccine deferred", "DEFERRED_DOSE_1"),
    )),
    Step("DEFERRED_DOSE_1", "补种首针疫苗", "Deferred vaccine dose 1", StepKind.VACCINATION,
         within(DEFERRED_DOSE_DAYS), (
        goto("GIVEN", "已接种", "Given", "HEPB_DOSE_2", deadline=within(DOSE_2_AFTER_DEFERRED_DAYS)),
    )),
    Step("HEPB_DOSE_2", "第二针乙肝疫苗", "Vaccine dose 2", StepKind.VACCINATION, by_age(DOSE_2_DAYS), (
        goto("GIVEN", "已接种", "Given", "HEPB_DOSE_3"),
    )),
    Step("HEPB_DOSE_3", "第三针乙肝疫苗", "Vaccine dose 3", StepKind.VACCINATION, by_age(DOSE_3_DAYS), (
        goto("GIVEN", "已接种", "Given", "SEROLOGY"),
    )),
    # 7–12 months of age and 1–2 months after dose 3 [S86]: not before the later of 7 months and a month
    # after the dose, due by the earlier of 12 months and two months after it
    Step("SEROLOGY", "免疫后血清学检测", "Post-vaccination serology", StepKind.DIAGNOSIS,
         within_and_by_age(SEROLOGY_AFTER_DOSE_BY, _MONTHS, SEROLOGY_MONTHS, _MONTHS), (
        _PROTECTED,
        goto("NON_RESPONDER", "HBsAg−/抗-HBs−，无应答", "Non-responder", "REVACCINATION"),
        _INFECTED,
    ), earliest=Deadline(after_previous=SEROLOGY_AFTER_DOSE_FROM, after_previous_unit=_MONTHS,
                         by_age=SEROLOGY_FROM_MONTHS, by_age_unit=_MONTHS)),
    Step("REVACCINATION", "重新全程接种", "Repeat 0-1-6 course", StepKind.VACCINATION,
         within(REVACCINATION_MONTHS, _MONTHS), (
        goto("COURSE_COMPLETED", "已完成", "Course completed", "SEROLOGY_RETEST"),
    )),
    Step("SEROLOGY_RETEST", "复种后血清学检测", "Serology after revaccination", StepKind.DIAGNOSIS,
         within(RETEST_MONTHS, _MONTHS), (
        _PROTECTED,
        close("NON_RESPONDER", "仍无应答", "Still a non-responder", ClosureOutcome.NOT_CONFIRMED),
        _INFECTED,
    ), earliest=within(SEROLOGY_AFTER_DOSE_FROM, _MONTHS)),
    Step("HEPATOLOGY_REFERRAL", "转诊肝病专科", "Hepatology referral", StepKind.TREATMENT,
         within(HEPATOLOGY_DAYS), (
        close("SEEN", "已就诊", "Seen by hepatology", ClosureOutcome.CONFIRMED_TREATED),
    )),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)

MILESTONES = (
    sets(M.POSITIVE, "HBV_SCREEN", "HBSAG_POS"),
    sets(M.DIAGNOSED, "HBV_DNA_TEST"),
    sets(M.CONFIRMED, "HBV_SCREEN", "HBSAG_POS"),
    sets(M.TREATED, "ANTIVIRAL_START", "STARTED"),
    # the exposed infant's episode
    sets(M.DIAGNOSED, "SEROLOGY"),
    sets(M.CONFIRMED, "SEROLOGY", "INFECTED"),
    sets(M.CONFIRMED, "SEROLOGY_RETEST", "INFECTED"),
    sets(M.TREATED, "HEPATOLOGY_REFERRAL", "SEEN"),
)

_MOTHERS, _INFANTS = SubjectIs(SubjectKind.PREGNANT_WOMAN), SubjectIs(SubjectKind.EXPOSED_INFANT)
_EXPOSED_BIRTHS = _INFANTS & Has(M.BORN)
_HIGH_RISK = Finding("HIGH_MTCT_RISK") | ResultIs("HBV_DNA_TEST", "HIGH_MTCT_RISK")

INDICATORS = (
    *testing_indicators(_S, "乙肝", "hepatitis B"),
    Indicator("HBIG_TIMELY_RATE", "HBIG及时注射率", "Timely HBIG", "Exposed infants given HBIG ≤12 h",
              "HBV-exposed live births", BIRTH_COHORT, num=Within("HBIG_AND_DOSE_1", hours=HBIG_HOURS),
              den=_EXPOSED_BIRTHS, target=_S.add("TARGET_HBIG_TIMELY_RATE", "95", "S", "S79", "%"),
              source="S86"),
    Indicator("FIRST_DOSE_TIMELY_RATE", "首剂乙肝疫苗及时接种率", "Timely first vaccine dose",
              "Exposed infants vaccinated ≤12 h", "HBV-exposed live births", BIRTH_COHORT,
              num=Within("HBIG_AND_DOSE_1", hours=HBIG_HOURS) & ResultIs("HBIG_AND_DOSE_1", "BOTH_GIVEN"),
              den=_EXPOSED_BIRTHS, target=_S.add("TARGET_FIRST_DOSE_TIMELY_RATE", "95", "S", "S79", "%"),
              source="R"),
    Indicator("FULL_SERIES_RATE", "乙肝疫苗全程接种率", "Full vaccine series", "3 doses completed",
              "Exposed infants reaching 6 months", BIRTH_COHORT, num=Has("HEPB_DOSE_3"),
              den=_EXPOSED_BIRTHS & AgeAtLeast(days=DOSE_3_DAYS),
              target=_S.add("TARGET_FULL_SERIES_RATE", "95", "S", "S81", "%"), source="S81"),
    Indicator("SEROLOGY_RATE", "血清学检测率", "Post-vaccination serology",
              "Exposed infants tested at 7–12 m", "Exposed infants reaching 12 months", BIRTH_COHORT,
              num=Has("SEROLOGY"), den=_EXPOSED_BIRTHS & AgeAtLeast(months=SEROLOGY_MONTHS),
              target=_S.add("TARGET_SEROLOGY_RATE", "90", "S", "S81", "%"), source="S81"),
    Indicator("HBSAG_POSITIVE_RATE_12M", "12月龄内HBsAg阳性率", "HBsAg positive by 12 months",
              "HBsAg+ among tested", "Exposed infants tested", BIRTH_COHORT,
              num=ResultIs("SEROLOGY", "INFECTED"), den=_INFANTS & Has("SEROLOGY"),
              target=_S.add("TARGET_HBSAG_POSITIVE_RATE", "1", "S", "S79 (elimination ≤1 % [S81])", "%"),
              comparison=TargetComparison.BELOW, source="S79"),
    Indicator("ANTIVIRAL_RATE", "高传播风险孕妇抗病毒治疗率", "Antiviral rate, high-risk mothers",
              "High-risk HBsAg+ mothers given antiviral", "High-risk HBsAg+ mothers delivering",
              DELIVERY_PERIOD, num=Before(M.TREATED, M.DELIVERED), den=_MOTHERS & _HIGH_RISK,
              target=_S.add("TARGET_ANTIVIRAL_RATE", "90", "S", "S81", "%"), source="S81"),
)
# fmt: on

PROGRAM = Program(
    code=CODE,
    zh="预防乙肝母婴传播",
    en="PMTCT of hepatitis B",
    # 2026.2: antiviral due by 32 weeks of gestation; 2026.3: serology not before 7 months of age and a
    # month after dose 3, due by 12 months and two months after it
    rule_version=f"{CODE}/2026.3",
    eligibility=MATERNAL_ELIGIBILITY,
    tests=(HBV_SCREEN,),
    steps=STEPS,
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    exposed_infant=ExposedInfantPlan(
        first_step="HBIG_AND_DOSE_1",
        schedule=("HBIG_AND_DOSE_1", "HEPB_DOSE_2", "HEPB_DOSE_3", "SEROLOGY"),
        delivery_testing_margin=DELIVERY_TESTING_MARGIN,
    ),
    settings=_S.freeze(),
    restricted=True,
    sources="S79–S86",
)
