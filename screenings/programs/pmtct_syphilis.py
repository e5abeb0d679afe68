"""PMTCT of syphilis (预防梅毒母婴传播): maternal treatment and the exposed infant's follow-up, §6.4."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from screenings.engine import (
    NEXT_IN_SCHEDULE,
    CaseEventFact,
    CaseReason,
    ClosureOutcome,
    EventKind,
    ExposedInfantPlan,
    Field,
    FieldError,
    FieldKind,
    IndicatorUnit,
    MaternalDecision,
    Message,
    Notice,
    Program,
    ResultCode,
    ScreeningTest,
    Setting,
    SettingBook,
    SettingValues,
    Step,
    StepKind,
    Subject,
    SubjectKind,
    TargetComparison,
    TimeUnit,
    Transition,
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
    Population,
    unsupported,
)
from screenings.engine.milestones import Milestone as M
from screenings.engine.milestones import sets
from screenings.engine.predicates import (
    Before,
    Has,
    ResultIs,
    SubjectIs,
)
from screenings.engine.times import as_utc

from ._common import POSITIVE_NEGATIVE_NOT_DONE, standard_policies
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

CODE = "PMTCT_SYPHILIS"
_S = SettingBook(CODE)
_MONTHS = TimeUnit.MONTHS

FIRST_TRIMESTER = first_trimester_setting(_S)
CONFIRMATION_DAYS = _S.add("CONFIRMATION_DAYS", 7, "P", "§6.2 (confirm with the other test class)", "days")
CLINICAL_REVIEW_DAYS = _S.add("CLINICAL_REVIEW_DAYS", 14, "P", "§6.2 (TP+/NT−: past or early)", "days")
TREATMENT_START_DAYS = _S.add("TREATMENT_START_DAYS", 3, "P", "S85 (start immediately)", "days")
CASE_CARD_DAYS = _S.add("CASE_CARD_DAYS", 5, "P", "§6.4 row 5 (S36, as for HIV)", "days")
COURSE_DAYS = _S.add("COURSE_COMPLETION_DAYS", 21, "S", "S85 (benzathine penicillin weekly ×3)", "days")
COURSE_2_DAYS = _S.add("COURSE_2_DAYS", 56, "P", "S85 (≥4 weeks apart, 2nd in 3rd trimester)", "days")
TITRE_MONTHS = _S.add("TITRE_INTERVAL_MONTHS", 1, "S", "S85 (monthly RPR/TRUST)", "months")
BIRTH_ASSESSMENT_HOURS = _S.add("BIRTH_ASSESSMENT_BY_AGE_HOURS", 24, "P", "§6.4 rows 6–7 (at birth [R])", "h")
CS_DIAGNOSIS_DAYS = _S.add("CS_DIAGNOSIS_DAYS", 7, "P", "§6.4 row 9", "days")
CS_TREATMENT_DAYS = _S.add("CS_TREATMENT_DAYS", 3, "P", "§6.4 row 9 (aqueous penicillin 10–14 d [R])", "days")
PROPHYLAXIS_DOSE = _S.add(
    "INFANT_PROPHYLAXIS_DOSE_U_PER_KG", 50000, "S", "S85 (benzathine penicillin G, IM once)", "U/kg"
)
TREATED_BEFORE_DELIVERY_DAYS = _S.add(
    "ADEQUATE_TREATMENT_BEFORE_DELIVERY_DAYS", 28, "S", "S85 (treated <4 weeks before delivery: inadequate)",
    "days",
)  # fmt: skip
FOLLOW_UP_AGES: tuple[tuple[int, Setting], ...] = tuple(
    (months, _S.add(f"FOLLOW_UP_{months}M_AGE_MONTHS", months, "S", "S84", "months of age"))
    for months in (3, 6, 9, 12, 15, 18)
)


def classify_syphilis(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify maternal syphilis serology: both test classes positive is current syphilis [S85]."""
    findings = stage_findings(values, settings, FIRST_TRIMESTER)
    treponemal, non_treponemal = values["treponemal"], values["non_treponemal"]
    if treponemal == "NOT_DONE" and non_treponemal == "NOT_DONE":
        return Verdict(None, errors=(FieldError(None, "NO_TEST", "at least one test class is required"),))
    if "POSITIVE" in (treponemal, non_treponemal) and "NOT_DONE" in (treponemal, non_treponemal):
        return Verdict("REACTIVE_PENDING", findings)
    if treponemal == "POSITIVE" and non_treponemal == "POSITIVE":
        warnings = () if values["titre"] else (Notice("titre", "TITRE_MISSING", "record the titre (1:n)"),)
        return Verdict("CURRENT", findings, warnings)
    if treponemal == "POSITIVE":
        return Verdict("TP_POS_NT_NEG", findings)
    if non_treponemal == "POSITIVE":
        return Verdict("TP_NEG_NT_POS", findings)
    return Verdict("NEG", findings)


PENICILLIN_STARTED, OTHER_STARTED = "STARTED", "STARTED_NON_PENICILLIN"
NOT_INDICATED = "PROPHYLAXIS_NOT_INDICATED"


def infant_prophylaxis(
    mother_steps: Sequence[CaseEventFact], delivered_at: datetime, settings: SettingValues
) -> MaternalDecision:
    """Decide the exposed infant's prophylaxis from the mother's treatment in pregnancy (§6.4 row 7, S85).

    Benzathine penicillin G 50 000 U/kg IM once when the mother was not treated, was treated with another
    drug, or finished her course less than 4 weeks before delivery (or not at all); then the birth
    assessment cannot be recorded as "prophylaxis not indicated". Adequate treatment leaves the choice
    to the titre criteria.
    """
    before = [
        e for e in mother_steps if e.kind is EventKind.STEP_RESULT and as_utc(e.occurred_at) <= delivered_at
    ]
    started = (PENICILLIN_STARTED, OTHER_STARTED)
    starts = [e for e in before if e.step == "TREATMENT_START" and e.result_code in started]
    finished = [
        as_utc(e.occurred_at)
        for e in before
        if e.step in ("COURSE_1", "COURSE_2") and e.result_code == "COMPLETED"
    ]
    dose = {
        "drug": "BENZATHINE_PENICILLIN_G",
        "dose_u_per_kg": settings.whole(PROPHYLAXIS_DOSE),
        "route": "IM",
    }
    if not starts:
        reason = "MOTHER_UNTREATED"
    elif starts[-1].result_code == OTHER_STARTED:
        reason = "MOTHER_NON_PENICILLIN"
    elif not finished or delivered_at - max(finished) < timedelta(
        days=settings.whole(TREATED_BEFORE_DELIVERY_DAYS)
    ):
        reason = "MOTHER_TREATED_LATE"
    else:
        return MaternalDecision(
            "MOTHER_ADEQUATELY_TREATED", (), {"prophylaxis_reason": "MOTHER_ADEQUATELY_TREATED"}
        )
    return MaternalDecision(reason, (NOT_INDICATED,), {"prophylaxis_reason": reason, **dose})


_POS = CaseReason.POSITIVE_RESULT
_TREATED, _NOT_CONFIRMED = ClosureOutcome.CONFIRMED_TREATED, ClosureOutcome.NOT_CONFIRMED
_DELIVERED = close("DELIVERED", "已分娩", "Delivered", _TREATED)

# fmt: off
SYPHILIS_SCREEN = ScreeningTest("SYPHILIS_SCREEN", "孕产妇梅毒检测", "Maternal syphilis test", (
    *MATERNAL_FIELDS,
    Field("treponemal", FieldKind.CHOICE, "梅毒螺旋体抗原血清学试验", "Treponemal test (TPPA/ELISA/rapid)",
          choices=POSITIVE_NEGATIVE_NOT_DONE),
    Field("non_treponemal", FieldKind.CHOICE, "非梅毒螺旋体抗原血清学试验", "Non-treponemal test (RPR/TRUST)",
          choices=POSITIVE_NEGATIVE_NOT_DONE),
    Field("titre", FieldKind.INTEGER, "滴度(1:n中的n)", "Titre (n of 1:n)", "", 1, 4096, required=False),
), (
    ResultCode("NEG", "阴性", "Negative"),
    ResultCode("REACTIVE_PENDING", "单类试验阳性，待确证", "One class positive, confirm", True, _POS,
               "CONFIRMATION"),
    ResultCode("CURRENT", "梅毒感染(两类均阳性)", "Current syphilis (both positive)", True, _POS,
               "TREATMENT_START", exposes_infant=True),
    ResultCode("TP_POS_NT_NEG", "螺旋体阳性/非螺旋体阴性", "Treponemal +, non-treponemal −", True, _POS,
               "CLINICAL_REVIEW"),
    ResultCode("TP_NEG_NT_POS", "生物学假阳性", "Biological false positive"),
), classify_syphilis, STAGE_FINDINGS, "tested_on")


def _follow_up_steps() -> tuple[Step, ...]:
    steps = []
    for index, (months, setting) in enumerate(FOLLOW_UP_AGES):
        last = index == len(FOLLOW_UP_AGES) - 1
        following = "" if last else f"FOLLOW_UP_{FOLLOW_UP_AGES[index + 1][0]}M"
        carry_on: tuple[Transition, ...] = () if last else (
            goto("NOT_EXCLUDED", "未排除，继续随访", "Not yet excluded", following),
        )
        steps.append(Step(
            f"FOLLOW_UP_{months}M", f"{months}月龄随访", f"Follow-up at {months} months", StepKind.FOLLOW_UP,
            by_age(setting, _MONTHS), (
                *carry_on,
                close("EXCLUDED", "排除先天梅毒", "Congenital syphilis excluded", _NOT_CONFIRMED),
                goto("CS_SUSPECTED", "疑似先天梅毒", "Congenital syphilis suspected", "CS_DIAGNOSIS"),
            )))
    return tuple(steps)


STEPS = (
    Step("CONFIRMATION", "另一类试验确证", "Confirm with the other test class", StepKind.DIAGNOSIS,
         within(CONFIRMATION_DAYS), (
        goto("CURRENT", "梅毒感染", "Current syphilis", "TREATMENT_START"),
        goto("TP_POS_NT_NEG", "螺旋体阳性/非螺旋体阴性", "Treponemal +, non-treponemal −", "CLINICAL_REVIEW"),
        close("TP_NEG_NT_POS", "生物学假阳性", "Biological false positive", _NOT_CONFIRMED),
        close("NEG", "阴性", "Negative", _NOT_CONFIRMED),
    ), test="SYPHILIS_SCREEN"),
    Step("CLINICAL_REVIEW", "临床评估", "Clinical review", StepKind.DIAGNOSIS, within(CLINICAL_REVIEW_DAYS), (
        goto("TREATMENT_INDICATED", "需要治疗", "Treatment indicated", "TREATMENT_START"),
        close("PAST_TREATED", "既往已规范治疗", "Past infection, adequately treated", _NOT_CONFIRMED),
    )),
    Step("TREATMENT_START", "开始治疗", "Start treatment", StepKind.TREATMENT, within(TREATMENT_START_DAYS), (
        goto(PENICILLIN_STARTED, "已开始苄星青霉素治疗(首针)",
             "Benzathine penicillin started (first injection)", "CASE_REPORT"),
        goto(OTHER_STARTED, "已开始非青霉素方案(头孢曲松/红霉素)", "Non-penicillin regimen started "
             "(ceftriaxone/erythromycin)", "CASE_REPORT"),
    )),
    Step("CASE_REPORT", "填报个案登记卡", "File the case card", StepKind.CASE_REPORT,
         within(CASE_CARD_DAYS), (
        goto("FILED", "已填报", "Filed", "COURSE_1"),
    )),
    Step("COURSE_1", "第一疗程", "First course", StepKind.TREATMENT, within(COURSE_DAYS), (
        goto("COMPLETED", "已完成", "Completed", "COURSE_2"),
        _DELIVERED,
    )),
    Step("COURSE_2", "第二疗程", "Second course", StepKind.TREATMENT, within(COURSE_2_DAYS), (
        goto("COMPLETED", "已完成", "Completed", "TITRE_MONITORING"),
        _DELIVERED,
    ), accepts_scheduled_due=True),
    Step("TITRE_MONITORING", "每月滴度监测", "Monthly titre", StepKind.FOLLOW_UP,
         within(TITRE_MONTHS, _MONTHS), (
        goto("STABLE_OR_FALLING", "滴度稳定或下降", "Titre stable or falling", "TITRE_MONITORING"),
        goto("FOURFOLD_RISE", "滴度升高4倍(再感染/复发)", "Fourfold rise: retreat", "TREATMENT_START"),
        _DELIVERED,
    )),
    Step("BIRTH_ASSESSMENT", "出生时评估及预防性治疗", "Birth titre and prophylaxis", StepKind.PROPHYLAXIS,
         by_age(BIRTH_ASSESSMENT_HOURS, TimeUnit.HOURS), (
        goto("PROPHYLAXIS_GIVEN", "已预防性治疗", "Prophylaxis given", "FOLLOW_UP_3M"),
        goto(NOT_INDICATED, "无需预防性治疗", "Prophylaxis not indicated", "FOLLOW_UP_3M"),
        goto("CS_SUSPECTED", "疑似先天梅毒", "Congenital syphilis suspected", "CS_DIAGNOSIS"),
    )),
    *_follow_up_steps(),
    Step("CS_DIAGNOSIS", "先天梅毒诊断", "Congenital syphilis diagnosis", StepKind.DIAGNOSIS,
         within(CS_DIAGNOSIS_DAYS), (
        goto("CS_CONFIRMED", "确诊先天梅毒", "Congenital syphilis confirmed", "CS_TREATMENT"),
        goto("NOT_CONFIRMED", "未确诊，继续随访", "Not confirmed, back to the schedule", NEXT_IN_SCHEDULE),
        close("EXCLUDED", "排除先天梅毒", "Congenital syphilis excluded", _NOT_CONFIRMED),
    )),
    Step("CS_TREATMENT", "先天梅毒治疗", "Congenital syphilis treatment", StepKind.TREATMENT,
         within(CS_TREATMENT_DAYS), (
        close("STARTED", "已开始治疗", "Treatment started", _TREATED),
    )),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)

MILESTONES = (
    sets(M.POSITIVE, "SYPHILIS_SCREEN", "REACTIVE_PENDING", "CURRENT", "TP_POS_NT_NEG"),
    sets(M.DIAGNOSED, "CONFIRMATION"),
    sets(M.DIAGNOSED, "CLINICAL_REVIEW"),
    sets(M.CONFIRMED, "SYPHILIS_SCREEN", "CURRENT"),
    sets(M.CONFIRMED, "CONFIRMATION", "CURRENT"),
    sets(M.CONFIRMED, "CLINICAL_REVIEW", "TREATMENT_INDICATED"),
    sets(M.TREATED, "TREATMENT_START", PENICILLIN_STARTED, OTHER_STARTED),
    # the exposed infant's episode
    sets(M.POSITIVE, "BIRTH_ASSESSMENT", "CS_SUSPECTED"),
    *(sets(M.POSITIVE, f"FOLLOW_UP_{months}M", "CS_SUSPECTED") for months, _ in FOLLOW_UP_AGES),
    sets(M.DIAGNOSED, "CS_DIAGNOSIS"),
    sets(M.CONFIRMED, "CS_DIAGNOSIS", "CS_CONFIRMED"),
    sets(M.TREATED, "CS_TREATMENT", "STARTED"),
)

_MOTHERS, _INFANTS = SubjectIs(SubjectKind.PREGNANT_WOMAN), SubjectIs(SubjectKind.EXPOSED_INFANT)
LIVE_BIRTHS = Population("PMTCT_SYPHILIS.LIVE_BIRTHS", "活产数", "Live births in the district")

INDICATORS = (
    *testing_indicators(_S, "梅毒", "syphilis"),
    Indicator("MATERNAL_TREATMENT_RATE", "梅毒感染孕产妇治疗率", "Maternal treatment rate",
              "Syphilis+ women treated in pregnancy", "Syphilis+ women delivering", DELIVERY_PERIOD,
              num=Before(M.TREATED, M.DELIVERED), den=_MOTHERS & Has(M.CONFIRMED),
              target=_S.add("TARGET_MATERNAL_TREATMENT_RATE", "95", "S", "S79", "%"), source="R"),
    unsupported("ADEQUATE_TREATMENT_RATE", "梅毒孕产妇充分治疗率", "Adequate treatment rate",
                "Adequately treated", "Syphilis+ women delivering", DELIVERY_PERIOD,
                "the regimen given (benzathine penicillin or another drug) is not recorded, and adequacy "
                "depends on it", "未记录所用治疗方案（苄星青霉素或其他药物），而是否充分治疗取决于此",
                target=_S.add("TARGET_ADEQUATE_TREATMENT_RATE", "90", "S", "S81", "%"),
                source="S81"),
    Indicator("INFANT_PROPHYLAXIS_RATE", "所生儿童预防性治疗率", "Infant prophylaxis rate",
              "Exposed infants given prophylaxis", "Exposed live births needing it", BIRTH_COHORT,
              num=ResultIs("BIRTH_ASSESSMENT", "PROPHYLAXIS_GIVEN"),
              den=_INFANTS & Has(M.BORN) & ~ResultIs("BIRTH_ASSESSMENT", "PROPHYLAXIS_NOT_INDICATED"),
              target=_S.add("TARGET_INFANT_PROPHYLAXIS_RATE", "95", "S", "S79", "%"), source="R",
              note="an infant not yet assessed at birth counts as needing it"),
    Indicator("CONGENITAL_SYPHILIS_RATE", "先天梅毒报告发病率", "Congenital syphilis rate",
              "Reported CS cases", "Live births", BIRTH_COHORT, num=_INFANTS & Has(M.CONFIRMED),
              den=LIVE_BIRTHS, unit=IndicatorUnit.PER_100K,
              target=_S.add("TARGET_CONGENITAL_SYPHILIS_PER_100K", "15", "S", "S79 (elimination ≤50)",
                            "per 100k"), comparison=TargetComparison.BELOW, source="S79"),
    partner_testing_indicator(_S),
)
# fmt: on

# What the screens say about this program's notices and errors.
MESSAGES = {
    "NO_TEST": Message("请至少填写一类试验的结果。", "Enter the result of at least one test class."),
    "TITRE_MISSING": Message("请记录滴度（1:n）。", "Record the titre (1:n)."),
    # the birth assessment, decided from the mother's treatment (§6.4 row 7)
    "MOTHER_UNTREATED": Message(
        "母亲孕期未接受治疗：所生儿童需预防性治疗，"
        "苄星青霉素G %(INFANT_PROPHYLAXIS_DOSE_U_PER_KG)s U/kg，单次肌注。",
        "The mother was not treated in pregnancy: give the infant benzathine penicillin G "
        "%(INFANT_PROPHYLAXIS_DOSE_U_PER_KG)s U/kg IM once.",
    ),
    "MOTHER_NON_PENICILLIN": Message(
        "母亲孕期采用非青霉素方案治疗：所生儿童需预防性治疗，"
        "苄星青霉素G %(INFANT_PROPHYLAXIS_DOSE_U_PER_KG)s U/kg，单次肌注。",
        "The mother was treated with a non-penicillin regimen: give the infant benzathine penicillin G "
        "%(INFANT_PROPHYLAXIS_DOSE_U_PER_KG)s U/kg IM once.",
    ),
    "MOTHER_TREATED_LATE": Message(
        "母亲治疗未完成或在分娩前不足%(ADEQUATE_TREATMENT_BEFORE_DELIVERY_DAYS)s天完成："
        "所生儿童需预防性治疗，"
        "苄星青霉素G %(INFANT_PROPHYLAXIS_DOSE_U_PER_KG)s U/kg，单次肌注。",
        "The mother's treatment was not finished, or finished less than "
        "%(ADEQUATE_TREATMENT_BEFORE_DELIVERY_DAYS)s days before delivery: give the infant "
        "benzathine penicillin G %(INFANT_PROPHYLAXIS_DOSE_U_PER_KG)s U/kg IM once.",
    ),
    "MOTHER_ADEQUATELY_TREATED": Message(
        "母亲孕期已用青霉素规范治疗，"
        "并在分娩前至少%(ADEQUATE_TREATMENT_BEFORE_DELIVERY_DAYS)s天完成："
        "是否预防性治疗按出生时滴度判断。",
        "The mother was treated with penicillin, finished at least "
        "%(ADEQUATE_TREATMENT_BEFORE_DELIVERY_DAYS)s days before delivery: "
        "decide prophylaxis by the birth titre.",
    ),
}

PROGRAM = Program(
    code=CODE,
    zh="预防梅毒母婴传播",
    en="PMTCT of syphilis",
    # 2026.2: the regimen is recorded at treatment start; the infant's prophylaxis follows from it
    rule_version=f"{CODE}/2026.2",
    eligibility=MATERNAL_ELIGIBILITY,
    tests=(SYPHILIS_SCREEN,),
    steps=STEPS,
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    exposed_infant=ExposedInfantPlan(
        first_step="BIRTH_ASSESSMENT",
        schedule=("BIRTH_ASSESSMENT", *(f"FOLLOW_UP_{months}M" for months, _ in FOLLOW_UP_AGES)),
        delivery_testing_margin=DELIVERY_TESTING_MARGIN,
        # current syphilis confirmed, or a single positive judged to need treatment at clinical review
        exposing_steps=(("CONFIRMATION", "CURRENT"), ("CLINICAL_REVIEW", "TREATMENT_INDICATED")),
        maternal_step="BIRTH_ASSESSMENT",
        maternal_rule=infant_prophylaxis,
    ),
    settings=_S.freeze(),
    messages=MESSAGES,
    restricted=True,
    sources="S36,S79–S85",
)
