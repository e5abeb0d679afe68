"""PMTCT of HIV (预防艾滋病母婴传播): the mother's confirmation and ART, the exposed infant's EID, §6.3."""

from __future__ import annotations

from collections.abc import Mapping

from screenings.engine import (
    NEXT_IN_SCHEDULE,
    CaseReason,
    Choice,
    ClosureOutcome,
    Deadline,
    ExposedInfantPlan,
    Field,
    FieldError,
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
    Has,
    ResultIs,
    SubjectIs,
)

from ._common import standard_policies
from .pmtct import (
    DELIVERY_TESTING_MARGIN,
    MATERNAL_ELIGIBILITY,
    MATERNAL_FIELDS,
    STAGE_FINDINGS,
    first_trimester_setting,
    partner_testing_indicator,
    stage_findings,
    testing_indicators,
)

CODE = "PMTCT_HIV"
_S = SettingBook(CODE)
_H, _MONTHS = TimeUnit.HOURS, TimeUnit.MONTHS

FIRST_TRIMESTER = first_trimester_setting(_S)
CONFIRMATION_DAYS = _S.add("CONFIRMATION_DAYS", 7, "P", "§6.3 row 1", "days")
INDETERMINATE_RETEST_DAYS = _S.add(
    "INDETERMINATE_RETEST_DAYS", 28, "P", "engineering default (retest)", "days"
)
CASE_CARD_DAYS = _S.add("CASE_CARD_DAYS", 5, "S", "S36", "days")
MATERNAL_ART_DAYS = _S.add("MATERNAL_ART_DAYS", 7, "P", "§6.3 row 3 (start immediately [R])", "days")
INFANT_ARV_HOURS = _S.add("INFANT_ARV_BY_AGE_HOURS", 6, "R", "§6.3 row 4 (2020 规范)", "h")
EID_1_HOURS = _S.add("EID_1_BY_AGE_HOURS", 48, "S", "S87", "h")
EID_2_DAYS = _S.add("EID_2_BY_AGE_DAYS", 42, "S", "S87,S88", "days of age")
EID_3_DAYS = _S.add("EID_3_BY_AGE_DAYS", 90, "S", "S87,S88", "days of age")
ANTIBODY_1_MONTHS = _S.add("ANTIBODY_1_BY_AGE_MONTHS", 12, "R", "S81 (12月龄)", "months of age")
ANTIBODY_2_MONTHS = _S.add("ANTIBODY_2_BY_AGE_MONTHS", 18, "R", "S81 (18月龄抗体检测)", "months of age")
NAT_CONFIRM_DAYS = _S.add("NAT_CONFIRM_DAYS", 7, "P", "§6.3 row 9 (repeat NAT)", "days")
INFANT_ART_DAYS = _S.add("INFANT_ART_DAYS", 7, "P", "S89 (start ART without delay)", "days")

INDETERMINATE = "INDETERMINATE"


def classify_hiv(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify maternal HIV testing: screening → confirmation; a known positive needs no new test."""
    findings = stage_findings(values, settings, FIRST_TRIMESTER)
    if values["known_positive"] is True:
        return Verdict("KNOWN_POS", findings)
    screening, confirmatory = values["screening_result"], values["confirmatory_result"]
    if screening is None:
        return Verdict(
            None, errors=(FieldError("screening_result", "REQUIRED", "Screening result is required"),)
        )
    if screening == "NONREACTIVE":
        return Verdict("NEG", findings)
    if confirmatory is None:
        return Verdict("REACTIVE_PENDING", findings)
    if confirmatory == "NEGATIVE":
        return Verdict("NEG", (*findings, "REACTIVE_NOT_CONFIRMED"))
    if confirmatory == "INDETERMINATE":
        return Verdict("INDETERMINATE", findings, track=INDETERMINATE)
    return Verdict("CONFIRMED_POS", findings)


_POS = CaseReason.POSITIVE_RESULT
_NOT_KNOWN_POSITIVE = ("known_positive", (False, None))

# fmt: off
HIV_SCREEN = ScreeningTest("HIV_SCREEN", "孕产妇艾滋病检测", "Maternal HIV test", (
    *MATERNAL_FIELDS,
    Field("known_positive", FieldKind.BOOLEAN, "既往已知感染", "Known positive", required=False),
    # Required unless the woman is a known positive (no new test then): the form shows it required.
    Field("screening_result", FieldKind.CHOICE, "筛查结果", "Screening result",
          required_when=_NOT_KNOWN_POSITIVE, choices=(
        Choice("NONREACTIVE", "无反应", "Non-reactive"), Choice("REACTIVE", "有反应", "Reactive"),
    )),
    Field("confirmatory_result", FieldKind.CHOICE, "确证结果", "Confirmatory test", required=False, choices=(
        Choice("POSITIVE", "阳性", "Positive"), Choice("NEGATIVE", "阴性", "Negative"),
        Choice("INDETERMINATE", "不确定", "Indeterminate"),
    )),
), (
    ResultCode("NEG", "阴性", "Negative"),
    ResultCode("REACTIVE_PENDING", "筛查有反应，待确证", "Reactive, awaiting confirmation", True, _POS,
               "CONFIRMATION"),
    ResultCode("CONFIRMED_POS", "确证阳性", "Confirmed positive", True, _POS, "CASE_REPORT",
               exposes_infant=True),
    ResultCode("INDETERMINATE", "不确定", "Indeterminate", True, _POS, "CONFIRMATION"),
    ResultCode("KNOWN_POS", "既往感染", "Known positive", True, _POS, "CASE_REPORT", exposes_infant=True),
), classify_hiv, (*STAGE_FINDINGS, Choice("REACTIVE_NOT_CONFIRMED", "筛查有反应，确证阴性",
                                          "Reactive, not confirmed")), "tested_on")

_NEG_NEXT = ("NAT_NEG", "核酸阴性", "NAT negative")
_NAT_POS = ("NAT_POS", "核酸阳性", "NAT positive", "NAT_CONFIRM")

STEPS = (
    Step("CONFIRMATION", "确证检测", "Confirmatory testing", StepKind.DIAGNOSIS, within(CONFIRMATION_DAYS), (
        goto("CONFIRMED_POS", "确证阳性", "Confirmed positive", "CASE_REPORT"),
        close("NEGATIVE", "确证阴性", "Not infected", ClosureOutcome.NOT_CONFIRMED),
        goto("INDETERMINATE", "不确定", "Indeterminate", "CONFIRMATION", sets_track=INDETERMINATE),
    ), track_deadlines=((INDETERMINATE, within(INDETERMINATE_RETEST_DAYS)),), test="HIV_SCREEN"),
    Step("CASE_REPORT", "填报个案登记卡", "File the case card", StepKind.CASE_REPORT,
         within(CASE_CARD_DAYS), (
        goto("FILED", "已填报", "Filed", "MATERNAL_ART"),
    )),
    Step("MATERNAL_ART", "孕产妇抗病毒治疗", "Maternal ART", StepKind.TREATMENT,
         Deadline(MATERNAL_ART_DAYS, after_step="CONFIRMATION"), (  # from confirmation, not the card
        close("STARTED", "已开始用药", "ART started", ClosureOutcome.CONFIRMED_TREATED),
    )),
    Step("INFANT_ARV", "儿童预防用药", "Infant ARV prophylaxis", StepKind.PROPHYLAXIS,
         by_age(INFANT_ARV_HOURS, _H), (
        goto("STARTED", "已用药", "Started", "EID_48H"),
    )),
    Step("EID_48H", "48小时核酸检测", "NAT at 48 h", StepKind.DIAGNOSIS, by_age(EID_1_HOURS, _H), (
        goto(*_NEG_NEXT, "EID_6W"), goto(*_NAT_POS),
    )),
    Step("EID_6W", "6周核酸检测", "NAT at 6 weeks", StepKind.DIAGNOSIS, by_age(EID_2_DAYS), (
        goto(*_NEG_NEXT, "EID_3M"), goto(*_NAT_POS),
    )),
    Step("EID_3M", "3月龄核酸检测", "NAT at 3 months", StepKind.DIAGNOSIS, by_age(EID_3_DAYS), (
        goto(*_NEG_NEXT, "AB_12M"), goto(*_NAT_POS),
    )),
    Step("AB_12M", "12月龄抗体检测", "Antibody at 12 months", StepKind.DIAGNOSIS,
         by_age(ANTIBODY_1_MONTHS, _MONTHS), (
        # a positive antibody at 12 months may still be the mother's, so both go on to 18 months
        goto("AB_NEG", "抗体阴性", "Antibody negative", "AB_18M"),
        goto("AB_POS", "抗体阳性", "Antibody positive", "AB_18M"),
    )),
    Step("AB_18M", "18月龄抗体检测", "Antibody at 18 months", StepKind.DIAGNOSIS,
         by_age(ANTIBODY_2_MONTHS, _MONTHS), (
        close("AB_NEG", "抗体阴性，排除感染", "Negative: not infected", ClosureOutcome.NOT_CONFIRMED),
        goto("AB_POS", "抗体阳性", "Antibody positive", "NAT_CONFIRM"),
    )),
    Step("NAT_CONFIRM", "核酸复检确证", "Confirmatory NAT", StepKind.DIAGNOSIS, within(NAT_CONFIRM_DAYS), (
        goto("CONFIRMED", "确诊感染", "Infection confirmed", "INFANT_ART"),
        goto("NOT_CONFIRMED", "未确诊，继续随访", "Not confirmed, back to the schedule", NEXT_IN_SCHEDULE),
    )),
    Step("INFANT_ART", "儿童抗病毒治疗", "Infant ART", StepKind.TREATMENT, within(INFANT_ART_DAYS), (
        close("STARTED", "已开始治疗", "ART started", ClosureOutcome.CONFIRMED_TREATED),
    )),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)

MILESTONES = (
    sets(M.POSITIVE, "HIV_SCREEN", "REACTIVE_PENDING", "CONFIRMED_POS", "INDETERMINATE", "KNOWN_POS"),
    sets(M.DIAGNOSED, "CONFIRMATION"),
    sets(M.CONFIRMED, "HIV_SCREEN", "CONFIRMED_POS", "KNOWN_POS"),
    sets(M.CONFIRMED, "CONFIRMATION", "CONFIRMED_POS"),
    sets(M.TREATED, "MATERNAL_ART", "STARTED"),
    # the exposed infant's episode
    sets(M.POSITIVE, "EID_48H", "NAT_POS"),
    sets(M.POSITIVE, "EID_6W", "NAT_POS"),
    sets(M.POSITIVE, "EID_3M", "NAT_POS"),
    sets(M.POSITIVE, "AB_18M", "AB_POS"),
    sets(M.DIAGNOSED, "NAT_CONFIRM"),
    sets(M.DIAGNOSED, "AB_18M", "AB_NEG"),
    sets(M.CONFIRMED, "NAT_CONFIRM", "CONFIRMED"),
    sets(M.TREATED, "INFANT_ART", "STARTED"),
)

_MOTHERS, _INFANTS = SubjectIs(SubjectKind.PREGNANT_WOMAN), SubjectIs(SubjectKind.EXPOSED_INFANT)
_INFECTED_MOTHERS = _MOTHERS & Has(M.CONFIRMED)
_EXPOSED_BIRTHS = _INFANTS & Has(M.BORN)
_FINAL_STATUS = Has(M.CONFIRMED) | ResultIs("AB_18M", "AB_NEG")

INDICATORS = (
    *testing_indicators(_S, "艾滋病", "HIV"),
    Indicator("MATERNAL_ARV_RATE", "艾滋病感染孕产妇抗病毒用药率", "Maternal ARV rate",
              "HIV+ women delivering who took ARV in pregnancy or labour", "HIV+ women delivering",
              DELIVERY_PERIOD, num=Before(M.TREATED, M.DELIVERED), den=_INFECTED_MOTHERS,
              target=_S.add("TARGET_MATERNAL_ARV_RATE", "95", "S", "S79", "%"), source="S82"),
    Indicator("INFANT_ARV_RATE", "所生儿童抗病毒用药率", "Infant ARV rate",
              "Exposed live-born infants given ARV", "HIV-exposed live births", BIRTH_COHORT,
              num=Has("INFANT_ARV"), den=_EXPOSED_BIRTHS,
              target=_S.add("TARGET_INFANT_ARV_RATE", "95", "S", "S79", "%"), source="R"),
    Indicator("EID_RATE", "暴露儿童早期诊断检测率", "Early infant diagnosis rate",
              "Exposed infants with EID done", "Exposed infants", BIRTH_COHORT,
              num=Has("EID_48H") | Has("EID_6W") | Has("EID_3M"), den=_EXPOSED_BIRTHS,
              target=_S.add("TARGET_EID_RATE", "95", "S", "S81", "%"), source="S81"),
    Indicator("ANTIBODY_18M_RATE", "18月龄抗体检测率", "Antibody test at 18 months",
              "Exposed children tested at 18 months", "Exposed children reaching 18 months", BIRTH_COHORT,
              num=Has("AB_18M"), den=_EXPOSED_BIRTHS & AgeAtLeast(months=ANTIBODY_2_MONTHS),
              target=_S.add("TARGET_ANTIBODY_18M_RATE", "95", "S", "S81", "%"), source="S81"),
    Indicator("MTCT_RATE", "艾滋病母婴传播率", "HIV mother-to-child transmission rate",
              "Exposed children diagnosed HIV+", "Exposed children with final status", BIRTH_COHORT,
              num=Has(M.CONFIRMED), den=_INFANTS & _FINAL_STATUS,
              target=_S.add("TARGET_MTCT_RATE", "3", "S", "S79 (<3 %; elimination ≤2 % [S81])", "%"),
              comparison=TargetComparison.BELOW, source="R"),
    partner_testing_indicator(_S),
)
# fmt: on

PROGRAM = Program(
    code=CODE,
    zh="预防艾滋病母婴传播",
    en="PMTCT of HIV",
    rule_version=f"{CODE}/2026.2",  # 2026.2: maternal ART due from confirmation
    eligibility=MATERNAL_ELIGIBILITY,
    tests=(HIV_SCREEN,),
    steps=STEPS,
    tracks=(Choice(INDETERMINATE, "结果不确定，复检", "Indeterminate, retest later"),),
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    exposed_infant=ExposedInfantPlan(
        first_step="INFANT_ARV",
        schedule=("INFANT_ARV", "EID_48H", "EID_6W", "EID_3M", "AB_12M", "AB_18M"),
        delivery_testing_margin=DELIVERY_TESTING_MARGIN,
        exposing_steps=(("CONFIRMATION", "CONFIRMED_POS"),),
    ),
    settings=_S.freeze(),
    restricted=True,
    sources="S36,S79–S89",
)
