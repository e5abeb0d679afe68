"""Newborn hearing screening (新生儿听力筛查), programs.md §2."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from screenings.engine import (
    CaseReason,
    Choice,
    ClosureOutcome,
    Eligibility,
    Field,
    FieldError,
    FieldKind,
    IndicatorUnit,
    Message,
    Notice,
    Program,
    ResultCode,
    ScreeningTest,
    ScreeningWindow,
    SettingBook,
    SettingValues,
    Step,
    StepKind,
    Subject,
    SubjectKind,
    SubjectTrait,
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
    Indicator,
)
from screenings.engine.milestones import Milestone as M
from screenings.engine.milestones import ResultClass, sets
from screenings.engine.predicates import (
    LOST,
    Has,
    ResultClassIs,
    ResultIs,
    Within,
)

from ._common import approximate_birth_notice, hours_since_birth, standard_policies

CODE = "NEWBORN_HEARING"
_S = SettingBook(CODE)

INITIAL_EARLIEST_AGE_HOURS = _S.add("INITIAL_EARLIEST_AGE_HOURS", 48, "S", "S12,S28", "h")
INITIAL_DUE_AGE_DAYS = _S.add(
    "INITIAL_DUE_AGE_DAYS", 3, "P", "§2.1 before discharge (time unknown here)", "days"
)
MISSED_AFTER_AGE_DAYS = _S.add("MISSED_AFTER_AGE_DAYS", 7, "P", "§2.3 row 1 (漏筛 once discharged)", "days")
# A rescreen the same day as the initial screen repeats it, it does not rescreen (the middle ear and the
# vernix need time to clear): warned, never refused [P].
RESCREEN_EARLIEST_HOURS = _S.add(
    "RESCREEN_EARLIEST_HOURS", 24, "P", "§2.3 row 2 (a rescreen is not a repeat of the same sitting)", "h"
)
INITIAL_SCREENED_AT = "INITIAL_SCREENED_AT"  # trait: when the initial screen was done (times the rescreen)
RESCREEN_BY_AGE_DAYS = _S.add("RESCREEN_BY_AGE_DAYS", 42, "S", "S12,S28", "days of age")
DIAGNOSIS_BY_AGE_DAYS = _S.add("DIAGNOSIS_BY_AGE_DAYS", 90, "S", "S27,S28", "days of age")
INTERVENTION_BY_AGE_DAYS = _S.add("INTERVENTION_BY_AGE_DAYS", 180, "S", "S27,S28", "days of age")
REEVALUATION_DAYS = _S.add("REEVALUATION_DAYS", 90, "P", "§2.2 transient loss (middle-ear effusion)", "days")
LATE_DIAGNOSIS_DAYS = _S.add(
    "LATE_ONSET_DIAGNOSIS_DAYS", 30, "P", "§2.3 row 6 (loss found in surveillance)", "days"
)
LATE_INTERVENTION_DAYS = _S.add(
    "LATE_ONSET_INTERVENTION_DAYS", 90, "P", "§2.1 (aid benefit in 3–6 months)", "days"
)
SURVEILLANCE_1_MONTHS = _S.add(
    "SURVEILLANCE_1_AGE_MONTHS", 12, "P", "S29 (yearly for 3 years)", "months of age"
)
SURVEILLANCE_2_MONTHS = _S.add(
    "SURVEILLANCE_2_AGE_MONTHS", 24, "P", "S29 (yearly for 3 years)", "months of age"
)
SURVEILLANCE_3_MONTHS = _S.add(
    "SURVEILLANCE_3_AGE_MONTHS", 36, "P", "S29 (yearly for 3 years)", "months of age"
)

LATE_ONSET = "LATE_ONSET"  # loss found in surveillance, long after the 3- and 6-month limits

RISK_FACTORS = (
    Choice(
        "FAMILY_HISTORY", "永久性儿童听力损失家族史", "Family history of permanent childhood hearing loss"
    ),
    Choice("NICU_OVER_5_DAYS", "NICU住院>5天", "NICU stay over 5 days"),
    Choice(
        "INTRAUTERINE_INFECTION", "宫内感染", "Intrauterine infection (CMV, rubella, herpes, syphilis, toxo)"
    ),
    Choice("CRANIOFACIAL_ANOMALY", "颅面形态畸形", "Craniofacial anomaly incl. ear and canal"),
    Choice("BIRTH_WEIGHT_UNDER_1500G", "出生体重<1500 g", "Birth weight under 1500 g"),
    Choice("HYPERBILIRUBINAEMIA_EXCHANGE", "高胆红素血症达换血指征", "Hyperbilirubinaemia at exchange level"),
    Choice("MENINGITIS", "细菌或病毒性脑膜炎", "Bacterial or viral meningitis"),
    Choice("ASPHYXIA", "新生儿窒息", "Asphyxia (Apgar 0–4 at 1 min or 0–6 at 5 min)"),
    Choice("PRETERM_RDS", "早产儿呼吸窘迫综合征", "Respiratory distress syndrome, preterm"),
    Choice("MECHANICAL_VENTILATION", "机械通气", "Mechanical ventilation"),
    Choice("ECMO", "体外膜肺氧合", "ECMO"),
    Choice(
        "MATERNAL_OTOTOXIC_OR_SUBSTANCE",
        "孕母耳毒性药物/利尿剂/药物或酒精滥用",
        "Maternal ototoxic drugs or abuse",
    ),
    Choice("SYNDROME", "与听力损失相关的综合征", "Syndrome associated with hearing loss"),
)
_RISK_CODES = frozenset(c.code for c in RISK_FACTORS)

EAR_RESULTS = (
    Choice("PASS", "通过", "Pass"),
    Choice("REFER", "未通过", "Refer"),
    Choice("INCOMPLETE", "未完成", "Incomplete"),
)
_DONE = ("screening_status", ("DONE",))

# fmt: off
FIELDS = (
    Field("screening_status", FieldKind.CHOICE, "筛查状态", "Screening status", choices=(
        Choice("DONE", "已筛查", "Screened"), Choice("MISSED", "漏筛", "Missed"),
    )),
    Field("screened_at", FieldKind.DATETIME, "筛查时间", "Screening time", required_when=_DONE,
          not_before_birth=True),
    Field("method", FieldKind.CHOICE, "筛查方法", "Method", required_when=_DONE, choices=(
        Choice("OAE", "耳声发射", "OAE"), Choice("AABR", "自动听性脑干反应", "AABR"),
        Choice("OAE_AABR", "OAE+AABR", "OAE and AABR"),
    )),
    Field("ward", FieldKind.CHOICE, "病区", "Ward", required=False, choices=(
        Choice("WELL_BABY", "母婴同室", "Well-baby"), Choice("NICU", "新生儿重症监护", "NICU"),
    )),
    Field("left_ear", FieldKind.CHOICE, "左耳", "Left ear", choices=EAR_RESULTS, required_when=_DONE),
    Field("right_ear", FieldKind.CHOICE, "右耳", "Right ear", choices=EAR_RESULTS, required_when=_DONE),
    Field("risk_factors", FieldKind.MULTI_CHOICE, "听力损失高危因素", "Risk factors", choices=RISK_FACTORS,
          required=False),
)
# fmt: on

# What the screens say about this program's notices; %(KEY)s is the value in force of setting KEY.
MESSAGES = {
    "RESCREEN_TOO_SOON": Message(
        "复筛距初筛不足%(RESCREEN_EARLIEST_HOURS)s小时：这是同一次筛查的重复，不是复筛，请核对时间。",
        "The rescreen is less than %(RESCREEN_EARLIEST_HOURS)s hours after the initial screen: a repeat of "
        "the same sitting, not a rescreen; check the time.",
    ),
    "BEFORE_48H": Message(
        "出生不满%(INITIAL_EARLIEST_AGE_HOURS)s小时进行初筛。",
        "Initial screen before %(INITIAL_EARLIEST_AGE_HOURS)s hours of age.",
    ),
    "NICU_REQUIRES_AABR": Message(
        "NICU新生儿应采用AABR筛查，OAE通过不视为通过。",
        "NICU infants are screened with AABR; an OAE pass is not a pass.",
    ),
    "RESCREEN_NOT_DONE": Message(
        "复筛完成后再记录复筛结果。", "Record a rescreen only once it has been done."
    ),
}

# What a screen tells about the baby, which the case's later steps still read.
NICU_STAY = "NICU_STAY"
RISK_FACTOR_TRAIT = "RISK_FACTORS"


def _in_nicu(ward: object) -> bool:
    return ward == "NICU"


def _risk_codes(recorded: object) -> tuple[str, ...]:
    assert isinstance(recorded, tuple)
    return tuple(str(code) for code in recorded)


SUBJECT_TRAITS = (
    SubjectTrait(NICU_STAY, "NICU住院", "NICU stay", "ward", _in_nicu),
    SubjectTrait(RISK_FACTOR_TRAIT, "听力损失高危因素", "Risk factors", "risk_factors", _risk_codes),
)


def _iso_time(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else None


def in_nicu(subject: Subject) -> bool:
    """Tell whether the baby is or was in the NICU, which changes the pathway [S28]."""
    return subject.traits.get(NICU_STAY) is True


def risk_factors(subject: Subject) -> tuple[str, ...]:
    """Return the hearing-loss risk factors recorded for the baby."""
    recorded = subject.traits.get(RISK_FACTOR_TRAIT, ())
    assert isinstance(recorded, tuple)
    return tuple(str(code) for code in recorded)


def has_risk_factor(subject: Subject) -> bool:
    """Tell whether a subject has a hearing-loss risk factor, which calls for surveillance [S29][S31]."""
    return bool(_RISK_CODES.intersection(risk_factors(subject)))


def _overall(left: str, right: str) -> str:
    # REFER or INCOMPLETE in either ear means not passed [P]
    left_ok, right_ok = left == "PASS", right == "PASS"
    if left_ok and right_ok:
        return "BILATERAL_PASS"
    if left_ok:
        return "UNILATERAL_REFER_R"
    if right_ok:
        return "UNILATERAL_REFER_L"
    return "BILATERAL_REFER"


def _classify(
    values: Mapping[str, object], subject: Subject, settings: SettingValues, rescreen: bool
) -> Verdict:
    if values["screening_status"] == "MISSED":
        if rescreen:
            # A rescreen not done is not a result: the open case's rescreen step simply stays due.
            not_done = FieldError("screening_status", "RESCREEN_NOT_DONE", "record a rescreen once done")
            return Verdict(None, errors=(not_done,))
        return Verdict("MISSED")
    screened_at = values["screened_at"]
    assert isinstance(screened_at, datetime)
    hours, approximate = hours_since_birth(subject, screened_at)
    warnings = [approximate_birth_notice("screened_at")] if approximate else []
    if not rescreen and hours < settings.whole(INITIAL_EARLIEST_AGE_HOURS):
        warnings.append(
            Notice(
                "screened_at",
                "BEFORE_48H",
                f"initial screen before {settings.whole(INITIAL_EARLIEST_AGE_HOURS)} h of age",
            )
        )
    initial_at = subject.traits.get(INITIAL_SCREENED_AT) if rescreen else None
    if isinstance(initial_at, str):
        gap = screened_at - datetime.fromisoformat(initial_at)
        if gap.total_seconds() < settings.whole(RESCREEN_EARLIEST_HOURS) * 3600:
            warnings.append(
                Notice(
                    "screened_at",
                    "RESCREEN_TOO_SOON",
                    f"rescreen under {settings.whole(RESCREEN_EARLIEST_HOURS)} h after the initial screen",
                )
            )
    left, right = str(values["left_ear"]), str(values["right_ear"])
    nicu = in_nicu(subject)
    if nicu and values["method"] == "OAE":
        # OAE alone misses auditory neuropathy, the NICU infant's particular risk [S28]
        warnings.append(Notice("method", "NICU_REQUIRES_AABR", "NICU infants are screened with AABR"))
        left, right = ("INCOMPLETE" if e == "PASS" else e for e in (left, right))
    findings = tuple(
        f"{side}_{result}" for side, result in (("LEFT", left), ("RIGHT", right)) if result != "PASS"
    )
    overall = _overall(left, right)
    at_risk = has_risk_factor(subject)
    if overall == "BILATERAL_PASS":
        if at_risk:
            return Verdict(
                overall,
                ("AT_RISK",),
                tuple(warnings),
                case_reason=CaseReason.HIGH_RISK_SURVEILLANCE,
                first_step="SURVEILLANCE_12M",
            )
        return Verdict(overall, (), tuple(warnings))
    if nicu and values["method"] != "OAE" and not rescreen:
        # an AABR refer in the NICU goes straight to the diagnosis centre [R]
        return Verdict(overall, (*findings, "NICU_AABR_REFER"), tuple(warnings), first_step="DIAGNOSIS")
    return Verdict(overall, findings, tuple(warnings))


def classify_initial(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify an initial screen per ear into the overall result."""
    return _classify(values, subject, settings, rescreen=False)


def classify_rescreen(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify a rescreen per ear into the overall result."""
    return _classify(values, subject, settings, rescreen=True)


def _results(not_passed_step: str, reason: CaseReason) -> tuple[ResultCode, ...]:
    return (
        ResultCode("BILATERAL_PASS", "双耳通过", "Both ears pass"),
        ResultCode("UNILATERAL_REFER_L", "左耳未通过", "Left ear refer", True, reason, not_passed_step),
        ResultCode("UNILATERAL_REFER_R", "右耳未通过", "Right ear refer", True, reason, not_passed_step),
        ResultCode("BILATERAL_REFER", "双耳未通过", "Both ears refer", True, reason, not_passed_step),
    )


_FINDINGS = (
    *(Choice(f"{side}_{r.code}", f"{zh}{r.zh}", f"{side.title()} ear {r.en.lower()}")
      for side, zh in (("LEFT", "左耳"), ("RIGHT", "右耳")) for r in EAR_RESULTS[1:]),
    Choice("AT_RISK", "有高危因素", "Risk factor present"),
    Choice("NICU_AABR_REFER", "NICU AABR未通过", "NICU AABR refer"),
)  # fmt: skip

INITIAL = ScreeningTest(
    "INITIAL",
    "初筛",
    "Initial screen",
    FIELDS,
    (
        *_results("RESCREEN", CaseReason.REFERRED_RESULT),
        ResultCode("MISSED", "漏筛", "Missed", True, CaseReason.MISSED_SCREENING, "RESCREEN"),
    ),
    classify_initial,
    _FINDINGS,
    performed_field="screened_at",
    subject_traits=(
        *SUBJECT_TRAITS,
        SubjectTrait(INITIAL_SCREENED_AT, "初筛时间", "Initial screen time", "screened_at", _iso_time),
    ),
)
RESCREEN = ScreeningTest(
    "RESCREEN",
    "复筛",
    "Rescreen",
    FIELDS,
    _results("DIAGNOSIS", CaseReason.REFERRED_RESULT),
    classify_rescreen,
    _FINDINGS,
    performed_field="screened_at",
    subject_traits=SUBJECT_TRAITS,
)

_NOT_CONFIRMED, _TREATED = ClosureOutcome.NOT_CONFIRMED, ClosureOutcome.CONFIRMED_TREATED
_PERMANENT = (
    ("PERMANENT_CONDUCTIVE", "永久性传导性", "Permanent conductive"),
    ("SENSORINEURAL", "感音神经性", "Sensorineural"),
    ("MIXED", "混合性", "Mixed"),
    ("ANSD", "听神经病", "Auditory neuropathy (ANSD)"),
)

# fmt: off
STEPS = (
    Step("RESCREEN", "复筛", "Rescreen", StepKind.RESCREEN, by_age(RESCREEN_BY_AGE_DAYS), (
        goto("BILATERAL_PASS", "双耳通过", "Both ears pass", "SURVEILLANCE_12M", when=has_risk_factor),
        close("BILATERAL_PASS", "双耳通过", "Both ears pass", ClosureOutcome.RESCREEN_NORMAL),
        goto("UNILATERAL_REFER_L", "左耳未通过", "Left ear refer", "DIAGNOSIS"),
        goto("UNILATERAL_REFER_R", "右耳未通过", "Right ear refer", "DIAGNOSIS"),
        goto("BILATERAL_REFER", "双耳未通过", "Both ears refer", "DIAGNOSIS"),
    ), test="RESCREEN"),
    Step("DIAGNOSIS", "听力诊断", "Audiological diagnosis", StepKind.DIAGNOSIS,
         by_age(DIAGNOSIS_BY_AGE_DAYS), (
        goto("NORMAL", "听力正常", "Normal hearing", "SURVEILLANCE_12M", when=has_risk_factor),
        close("NORMAL", "听力正常", "Normal hearing", _NOT_CONFIRMED),
        goto("TRANSIENT", "暂时性(中耳积液)", "Transient (middle-ear effusion)", "REEVALUATION"),
        *(goto(code, zh, en, "INTERVENTION") for code, zh, en in _PERMANENT),
    ), track_deadlines=((LATE_ONSET, within(LATE_DIAGNOSIS_DAYS)),)),
    Step("REEVALUATION", "复查诊断", "Re-evaluation", StepKind.DIAGNOSIS, within(REEVALUATION_DAYS), (
        goto("NORMAL", "听力正常", "Normal hearing", "SURVEILLANCE_12M", when=has_risk_factor),
        close("NORMAL", "听力正常", "Normal hearing", _NOT_CONFIRMED),
        *(goto(code, zh, en, "INTERVENTION") for code, zh, en in _PERMANENT),
    )),
    Step("INTERVENTION", "干预", "Intervention", StepKind.INTERVENTION, by_age(INTERVENTION_BY_AGE_DAYS), (
        close("HEARING_AID_FITTED", "已验配助听器", "Hearing aid fitted", _TREATED),
        close("COCHLEAR_IMPLANT", "已植入人工耳蜗", "Cochlear implant", _TREATED),
        close("REHABILITATION_ENROLLED", "已进入康复", "Rehabilitation enrolled", _TREATED),
        close("NOT_INDICATED", "无需干预", "No intervention needed", ClosureOutcome.CONFIRMED_MONITORED),
    ), track_deadlines=((LATE_ONSET, within(LATE_INTERVENTION_DAYS)),)),
    Step("SURVEILLANCE_12M", "高危随访(12月龄)", "Surveillance at 12 months", StepKind.SURVEILLANCE,
         by_age(SURVEILLANCE_1_MONTHS, TimeUnit.MONTHS), (
        goto("NORMAL", "未见异常", "Normal", "SURVEILLANCE_24M"),
        goto("SUSPECTED_LOSS", "怀疑听力损失", "Suspected loss", "DIAGNOSIS", sets_track=LATE_ONSET),
    )),
    Step("SURVEILLANCE_24M", "高危随访(24月龄)", "Surveillance at 24 months", StepKind.SURVEILLANCE,
         by_age(SURVEILLANCE_2_MONTHS, TimeUnit.MONTHS), (
        goto("NORMAL", "未见异常", "Normal", "SURVEILLANCE_36M"),
        goto("SUSPECTED_LOSS", "怀疑听力损失", "Suspected loss", "DIAGNOSIS", sets_track=LATE_ONSET),
    )),
    Step("SURVEILLANCE_36M", "高危随访(36月龄)", "Surveillance at 36 months", StepKind.SURVEILLANCE,
         by_age(SURVEILLANCE_3_MONTHS, TimeUnit.MONTHS), (
        close("NORMAL", "未见异常，随访结束", "Normal, surveillance complete", _NOT_CONFIRMED),
        goto("SUSPECTED_LOSS", "怀疑听力损失", "Suspected loss", "DIAGNOSIS", sets_track=LATE_ONSET),
    )),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)
_T_SCREEN = _S.add("TARGET_INITIAL_SCREEN_RATE", "90", "S", "S26", "%")
_T_PASS = _S.add("TARGET_INITIAL_PASS_RATE", "90", "S", "S26", "%")
_T_RESCREEN = _S.add("TARGET_RESCREEN_RATE", "80", "S", "S26", "%")
_T_REFERRAL_SHARE = _S.add("TARGET_REFERRAL_SHARE", "5", "S", "S26", "%")

_NOT_PASSED = ("UNILATERAL_REFER_L", "UNILATERAL_REFER_R", "BILATERAL_REFER")
_PERMANENT_CODES = tuple(code for code, _, _ in _PERMANENT)
MILESTONES = (
    sets(M.POSITIVE, "INITIAL", *_NOT_PASSED, "MISSED"),
    sets(M.RESCREENED, "RESCREEN"),
    sets(M.DIAGNOSED, "DIAGNOSIS"),
    sets(M.CONFIRMED, "DIAGNOSIS", *_PERMANENT_CODES),
    sets(M.CONFIRMED, "REEVALUATION", *_PERMANENT_CODES),
    sets(M.TREATED, "INTERVENTION", "HEARING_AID_FITTED", "COCHLEAR_IMPLANT", "REHABILITATION_ENROLLED"),
)

_RESCREEN_DUE = ResultClassIs(ResultClass.REFERRED, ResultClass.MISSED)  # initial not passed, or missed
_RESCREEN_FAILED = ResultIs(M.RESCREENED, *_NOT_PASSED)
_INTERVENED = Has(M.TREATED)
_ONE_MONTH = 30  # the "1" of 1-3-6 as days of age (§0.2: 3 and 6 months are 90 and 180 days)
_SCREENED_BY_ONE_MONTH = Within(M.SCREENED, days=_ONE_MONTH) | Within(M.RESCREENED, days=_ONE_MONTH)
_SCREENED_AT_ALL = Has(M.SCREENED) | Has(M.RESCREENED)  # a missed initial screen made up by the rescreen

INDICATORS = (
    Indicator("INITIAL_SCREEN_RATE", "初筛率", "Initial screening rate", "Initially screened", "Live births",
              BIRTH_COHORT, num=Has(M.SCREENED), den=Has(M.BORN), target=_T_SCREEN, source="S26"),
    Indicator("INITIAL_PASS_RATE", "初筛通过率", "Initial pass rate", "Passed initial", "Initially screened",
              BIRTH_COHORT, num=ResultIs(M.SCREENED, "BILATERAL_PASS"), den=Has(M.SCREENED),
              target=_T_PASS, source="S26"),
    Indicator("RESCREEN_RATE", "复筛率", "Rescreen rate", "Rescreened", "Initial not pass + missed",
              BIRTH_COHORT, num=Has(M.RESCREENED), den=_RESCREEN_DUE, target=_T_RESCREEN, source="S26"),
    Indicator("RESCREEN_FAIL_RATE", "复筛未通过率", "Rescreen fail rate", "Rescreen not pass", "Rescreened",
              BIRTH_COHORT, num=_RESCREEN_FAILED, den=Has(M.RESCREENED), source="S26,S32"),
    Indicator("REFERRAL_SHARE", "转诊人数占筛查人数", "Referrals as share of screened", "Rescreen not pass",
              "Screened", BIRTH_COHORT, num=_RESCREEN_FAILED, den=_SCREENED_AT_ALL, target=_T_REFERRAL_SHARE,
              comparison=TargetComparison.AT_MOST, source="S26"),
    Indicator("DIAGNOSIS_RATE", "转诊率/诊断率", "Referral/diagnosis rate", "Diagnosed at a centre",
              "Rescreen not pass", BIRTH_COHORT, num=Has(M.DIAGNOSED), den=_RESCREEN_FAILED,
              source="S26,S32"),
    Indicator("DETECTION_RATE", "听力损失检出率", "Detection rate", "Confirmed hearing loss", "Screened",
              BIRTH_COHORT, num=Has(M.CONFIRMED), den=_SCREENED_AT_ALL, unit=IndicatorUnit.PER_MILLE,
              source="S27,S32", note="permanent loss; a transient loss (middle-ear effusion) is not counted"),
    Indicator("INTERVENTION_RATE", "干预率", "Intervention rate", "Intervened", "Confirmed permanent loss",
              BIRTH_COHORT, num=_INTERVENED, den=Has(M.CONFIRMED), source="P"),
    Indicator("SCREENED_BY_1_MONTH", "1月龄内筛查率", "Screened by 1 month", "Screened by age 1 month",
              "Live births", BIRTH_COHORT, num=_SCREENED_BY_ONE_MONTH, den=Has(M.BORN), source="S22"),
    Indicator("DIAGNOSED_BY_3_MONTHS", "3月龄内诊断率", "Diagnosed by 3 months", "Diagnosed by 90 days",
              "Rescreen not pass", BIRTH_COHORT, num=Within(M.DIAGNOSED, days=DIAGNOSIS_BY_AGE_DAYS),
              den=_RESCREEN_FAILED, source="S22"),
    Indicator("INTERVENED_BY_6_MONTHS", "6月龄内干预率", "Intervened by 6 months", "Intervened by 180 days",
              "Confirmed permanent loss", BIRTH_COHORT, num=Within(M.TREATED, days=INTERVENTION_BY_AGE_DAYS),
              den=Has(M.CONFIRMED), source="S22"),
    Indicator("LTFU_RATE", "失访率", "Loss to follow-up", "Lost to follow-up", "Not passed at the stage",
              BIRTH_COHORT, num=LOST, den=Has(M.POSITIVE), source="S22,S23",
              note="over every infant who did not pass or missed the initial screen"),
)
# fmt: on

PROGRAM = Program(
    code=CODE,
    zh="新生儿听力筛查",
    en="Newborn hearing screening",
    rule_version=f"{CODE}/2026.1",
    eligibility=Eligibility((SubjectKind.NEWBORN,), description="All live births [S1]"),
    tests=(INITIAL, RESCREEN),
    steps=STEPS,
    tracks=(Choice(LATE_ONSET, "迟发性听力损失", "Late-onset loss (found in surveillance)"),),
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    screening_window=ScreeningWindow(
        test="INITIAL",
        earliest_age=INITIAL_EARLIEST_AGE_HOURS,
        due_age=INITIAL_DUE_AGE_DAYS,
        due_unit=TimeUnit.DAYS,
        missed_step="RESCREEN",
        missed_after_age=MISSED_AFTER_AGE_DAYS,
    ),
    settings=_S.freeze(),
    messages=MESSAGES,
    sources="S1,S12,S22–S32",
)
