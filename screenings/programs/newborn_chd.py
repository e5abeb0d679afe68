"""Newborn congenital heart disease screening (新生儿先天性心脏病筛查, 双指标法), programs.md §3."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

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
    Indicator,
    event_period,
    unsupported,
)
from screenings.engine.milestones import Milestone as M
from screenings.engine.milestones import sets
from screenings.engine.predicates import (
    Has,
    ResultIs,
    Within,
)

from ._common import approximate_birth_notice, hours_since_birth, standard_policies

CODE = "NEWBORN_CHD"
_S = SettingBook(CODE)
_H = TimeUnit.HOURS
# Trait: when the screen read the SpO2 (a repeat entered later is timed from it).
FIRST_OXIMETRY_AT = "FIRST_OXIMETRY_AT"

EARLIEST_AGE_HOURS = _S.add("SCREEN_EARLIEST_AGE_HOURS", 6, "S", "S12,S34", "h")
LATEST_AGE_HOURS = _S.add("SCREEN_LATEST_AGE_HOURS", 72, "S", "S12,S34", "h")
MURMUR_POSITIVE_GRADE = _S.add("MURMUR_POSITIVE_GRADE", 2, "R", "双指标法 (Zhao et al., Lancet 2014)", "/6")
SPO2_POSITIVE_BELOW = _S.add("SPO2_POSITIVE_BELOW", 90, "R", "双指标法 (Zhao et al., Lancet 2014)", "%")
SPO2_PASS_AT_LEAST = _S.add("SPO2_PASS_AT_LEAST", 95, "R", "双指标法 (Zhao et al., Lancet 2014)", "%")
HAND_FOOT_MAX_DIFF = _S.add("HAND_FOOT_MAX_DIFFERENCE", 3, "R", "双指标法 (Zhao et al., Lancet 2014)", "%")
REPEAT_EARLIEST_HOURS = _S.add("REPEAT_EARLIEST_HOURS", 2, "R", "§3.3 row 2 (repeat in 2–4 h)", "h")
REPEAT_WITHIN_HOURS = _S.add("REPEAT_WITHIN_HOURS", 4, "R", "§3.3 row 2 (repeat in 2–4 h)", "h")
CLINICAL_ITEMS_POSITIVE = _S.add(
    "CLINICAL_ITEMS_COUNT_AS_POSITIVE", False, "P", "S35,S36a (some provinces add clinical items)"
)
NOTIFY_HOURS = _S.add("NOTIFY_HOURS", 24, "S", "S34 (same day, before discharge)", "h")
ECHO_BY_AGE_DAYS = _S.add("ECHO_BY_AGE_DAYS", 7, "S", "S34 (出生7天内)", "days of age")
URGENT_ECHO_HOURS = _S.add("URGENT_ECHO_HOURS", 24, "P", "§3.3 row 4a (immediately, same day)", "h")
CATCH_UP_BY_AGE_DAYS = _S.add(
    "CATCH_UP_SCREEN_BY_AGE_DAYS", 7, "P", "no rule for a missed screen: echo limit", "days"
)
TREATMENT_DAYS = _S.add("TREATMENT_DAYS", 90, "P", "§3.3 row 6 (per cardiologist plan)", "days")
URGENT_TREATMENT_DAYS = _S.add("URGENT_TREATMENT_DAYS", 3, "P", "§3.3 row 6 (CCHD: urgent)", "days")
FOLLOW_UP_DAYS = _S.add("FOLLOW_UP_DAYS", 180, "P", "S35 (followed 6–18 months)", "days")

URGENT, ROUTINE = "URGENT", "ROUTINE"

CLINICAL_ITEMS = (
    Choice("FAMILY_HISTORY", "先心病家族史", "Family history of CHD"),
    Choice("SPECIAL_FACIES", "特殊面容", "Special facies"),
    Choice("OTHER_MALFORMATION", "其他畸形", "Other malformations"),
    Choice("CYANOSIS", "发绀", "Cyanosis"),
    Choice("RESPIRATORY_SIGNS", "呼吸系统症状", "Respiratory signs"),
    Choice("OXYGEN_USE", "生后吸氧", "Postnatal oxygen use"),
)


def _spo2(name: str, zh: str, en: str, required: bool = True) -> Field:
    return Field(name, FieldKind.DECIMAL, zh, en, "%", Decimal(50), Decimal(100), required=required)


FIELDS = (
    Field("screened_at", FieldKind.DATETIME, "筛查时间", "Screening time", not_before_birth=True),
    Field("murmur_grade", FieldKind.INTEGER, "杂音分级(0=无)", "Murmur grade (0 = none)", "/6", 0, 6),
    _spo2("spo2_right_hand", "右手血氧饱和度", "SpO2 right hand"),
    _spo2("spo2_foot", "足部血氧饱和度", "SpO2 foot"),
    Field("repeat_at", FieldKind.DATETIME, "复测时间", "Repeat time", required=False, not_before_birth=True),
    _spo2("repeat_spo2_right_hand", "复测右手血氧", "Repeat SpO2 right hand", required=False),
    _spo2("repeat_spo2_foot", "复测足部血氧", "Repeat SpO2 foot", required=False),
    Field(
        "symptomatic", FieldKind.BOOLEAN, "有发绀或呼吸症状", "Cyanosis or respiratory signs", required=False
    ),
    Field(
        "clinical_items",
        FieldKind.MULTI_CHOICE,
        "临床指标",
        "Clinical items",
        choices=CLINICAL_ITEMS,
        required=False,
    ),
)


def classify_pulse_oximetry(hand: Decimal, foot: Decimal, settings: SettingValues) -> str:
    """Classify one pair of readings: POX_POS_IMMEDIATE, POX_REPEAT or POX_NEG."""
    if min(hand, foot) < settings.number(SPO2_POSITIVE_BELOW):
        return "POX_POS_IMMEDIATE"
    too_low = max(hand, foot) < settings.number(SPO2_PASS_AT_LEAST)  # 90–94 % in both limbs
    if too_low or abs(hand - foot) > settings.number(HAND_FOOT_MAX_DIFF):
        return "POX_REPEAT"
    return "POX_NEG"


def _repeat_timing(first: object, repeat: object, settings: SettingValues) -> list[Notice]:
    """Warn of a repeat outside 2–4 h after the first reading (§3.3 row 2): too soon, or late."""
    if not (isinstance(first, datetime) and isinstance(repeat, datetime)):
        return []
    gap = repeat - first
    if gap < timedelta(hours=settings.whole(REPEAT_EARLIEST_HOURS)):
        return [
            Notice(
                "repeat_at",
                "REPEAT_TOO_SOON",
                f"repeat measured less than {settings.whole(REPEAT_EARLIEST_HOURS)} h after the first",
            )
        ]
    if gap > timedelta(hours=settings.whole(REPEAT_WITHIN_HOURS)):
        return [
            Notice(
                "repeat_at",
                "REPEAT_LATE",
                f"repeat measured more than {settings.whole(REPEAT_WITHIN_HOURS)} h after the first",
            )
        ]
    return []


def _repeat_before_first(first: object, repeat: object) -> FieldError | None:
    """Refuse a repeat time earlier than the first reading (a typing slip, never a measurement)."""
    if isinstance(first, datetime) and isinstance(repeat, datetime) and repeat < first:
        return FieldError("repeat_at", "REPEAT_BEFORE_FIRST", "the repeat time is before the first reading")
    return None


def _first_oximetry_at(value: object) -> object:
    """The first reading's time as the case keeps it (ISO text), for the timing of a repeat entered later."""
    return value.isoformat() if isinstance(value, datetime) else None


def first_oximetry_at(subject: Subject) -> datetime | None:
    """When the screen that asked for the repeat read the SpO2 (told by the SCREEN test, kept by the case)."""
    told = subject.traits.get(FIRST_OXIMETRY_AT)
    try:
        return datetime.fromisoformat(told) if isinstance(told, str) else None
    except ValueError:
        return None


def classify_screen(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify the 双指标 screen: murmur ≥2/6, or SpO2 <90 %, or a repeat that fails again, is positive."""
    screened_at = values["screened_at"]
    assert isinstance(screened_at, datetime)
    hours, approximate = hours_since_birth(subject, screened_at)
    warnings = [approximate_birth_notice("screened_at")] if approximate else []
    if hours < settings.whole(EARLIEST_AGE_HOURS):
        warnings.append(
            Notice(
                "screened_at", "BEFORE_6H", f"screened before {settings.whole(EARLIEST_AGE_HOURS)} h of age"
            )
        )
    elif hours > settings.whole(LATEST_AGE_HOURS):
        warnings.append(
            Notice("screened_at", "AFTER_72H", f"screened after {settings.whole(LATEST_AGE_HOURS)} h of age")
        )
    findings: list[str] = []
    murmur = values["murmur_grade"]
    if isinstance(murmur, int) and murmur >= settings.whole(MURMUR_POSITIVE_GRADE):
        findings.append("MURMUR_POS")
    hand, foot = values["spo2_right_hand"], values["spo2_foot"]
    assert isinstance(hand, Decimal) and isinstance(foot, Decimal)
    pox = classify_pulse_oximetry(hand, foot, settings)
    repeat_hand, repeat_foot = values["repeat_spo2_right_hand"], values["repeat_spo2_foot"]
    if pox == "POX_REPEAT" and isinstance(repeat_hand, Decimal) and isinstance(repeat_foot, Decimal):
        too_early = _repeat_before_first(screened_at, values["repeat_at"])
        if too_early is not None:
            return Verdict(None, errors=(too_early,))
        findings.append("POX_REPEAT")
        warnings += _repeat_timing(screened_at, values["repeat_at"], settings)
        second = classify_pulse_oximetry(repeat_hand, repeat_foot, settings)
        pox = (
            "POX_POS" if second == "POX_REPEAT" else second
        )  # failing the repeat criterion twice is positive
    findings.append(pox)
    items = values["clinical_items"]
    if items and settings(CLINICAL_ITEMS_POSITIVE):
        findings.append("CLINICAL_POS")
    symptomatic = values["symptomatic"] is True
    positive = any(f in ("MURMUR_POS", "POX_POS", "POX_POS_IMMEDIATE", "CLINICAL_POS") for f in findings)
    if positive:
        if pox == "POX_POS_IMMEDIATE" or symptomatic:
            # SpO2 <90 % or symptoms: echo or transfer the same day, no separate notification [P]
            return Verdict("SCREEN_POS", tuple(findings), tuple(warnings), first_step="ECHO", track=URGENT)
        return Verdict("SCREEN_POS", tuple(findings), tuple(warnings), track=ROUTINE)
    if pox == "POX_REPEAT":
        return Verdict("REPEAT_REQUIRED", tuple(findings), tuple(warnings))
    if symptomatic:
        warnings.append(
            Notice("symptomatic", "SYMPTOMATIC", "symptoms with a negative screen: assess clinically")
        )
    return Verdict("SCREEN_NEG", tuple(findings), tuple(warnings))


SCREEN = ScreeningTest(
    "SCREEN",
    "双指标筛查",
    "Auscultation + pulse oximetry",
    FIELDS,
    (
        ResultCode("SCREEN_NEG", "筛查阴性", "Screen negative"),
        ResultCode("SCREEN_POS", "筛查阳性", "Screen positive", True, CaseReason.POSITIVE_RESULT, "NOTIFY"),
        ResultCode(
            "REPEAT_REQUIRED", "需复测血氧", "Repeat oximetry", True, CaseReason.REFERRED_RESULT, "POX_REPEAT"
        ),
    ),
    classify_screen,
    (
        Choice("MURMUR_POS", "杂音≥2/6级", "Murmur grade ≥2/6"),
        Choice("POX_POS_IMMEDIATE", "血氧<90%", "SpO2 below 90 %"),
        Choice("POX_REPEAT", "血氧需复测", "SpO2 90–94 % or difference >3 %"),
        Choice("POX_POS", "复测仍异常", "Repeat still failing"),
        Choice("POX_NEG", "血氧阴性", "Oximetry negative"),
        Choice("CLINICAL_POS", "临床指标阳性", "Clinical item positive"),
    ),
    performed_field="screened_at",
    subject_traits=(
        SubjectTrait(
            FIRST_OXIMETRY_AT, "首次血氧测量时间", "First oximetry time", "screened_at", _first_oximetry_at
        ),
    ),
)

REPEAT_FIELDS = (
    Field("repeat_at", FieldKind.DATETIME, "复测时间", "Repeat time", not_before_birth=True),
    _spo2("spo2_right_hand", "复测右手血氧", "Repeat SpO2 right hand"),
    _spo2("spo2_foot", "复测足部血氧", "Repeat SpO2 foot"),
)
# A repeat that meets the repeat criterion again is positive (§3.2 POX_POS); below 90 % it is urgent.
_REPEAT_OUTCOME = {"POX_NEG": "POX_NEG", "POX_REPEAT": "POX_POS", "POX_POS_IMMEDIATE": "POX_POS_IMMEDIATE"}


def classify_repeat(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify the repeat pulse oximetry of a screen that needed one (§3.3 row 2) from its two readings."""
    repeat_at = values["repeat_at"]
    assert isinstance(repeat_at, datetime)
    hours, approximate = hours_since_birth(subject, repeat_at)
    # The screen that asked for this repeat told the case when it read the SpO2 (entered on its own form,
    # the repeat is warned of its timing as the inline repeat is).
    first = first_oximetry_at(subject)
    too_early = _repeat_before_first(first, repeat_at)
    if too_early is not None:
        return Verdict(None, errors=(too_early,))
    warnings = ((approximate_birth_notice("repeat_at"),) if approximate else ()) + tuple(
        _repeat_timing(first, repeat_at, settings)
    )
    hand, foot = values["spo2_right_hand"], values["spo2_foot"]
    assert isinstance(hand, Decimal) and isinstance(foot, Decimal)
    code = _REPEAT_OUTCOME[classify_pulse_oximetry(hand, foot, settings)]
    if code == "POX_POS_IMMEDIATE":
        return Verdict(code, (code,), warnings, first_step="ECHO", track=URGENT)
    return Verdict(code, (code,), warnings, track=ROUTINE if code == "POX_POS" else None)


REPEAT = ScreeningTest(
    "POX_REPEAT",
    "血氧复测",
    "Repeat pulse oximetry",
    REPEAT_FIELDS,
    (
        ResultCode("POX_NEG", "复测阴性", "Repeat negative"),
        ResultCode(
            "POX_POS", "复测仍异常", "Repeat still failing", True, CaseReason.POSITIVE_RESULT, "NOTIFY"
        ),
        ResultCode(
            "POX_POS_IMMEDIATE", "复测血氧<90%", "Repeat below 90 %", True, CaseReason.POSITIVE_RESULT, "ECHO"
        ),
    ),
    classify_repeat,
    (
        Choice("POX_NEG", "血氧阴性", "Oximetry negative"),
        Choice("POX_POS", "复测仍异常", "Repeat still failing"),
        Choice("POX_POS_IMMEDIATE", "血氧<90%", "SpO2 below 90 %"),
    ),
    performed_field="repeat_at",
)

_NOT_CONFIRMED, _TREATED, _MONITORED = (
    ClosureOutcome.NOT_CONFIRMED,
    ClosureOutcome.CONFIRMED_TREATED,
    ClosureOutcome.CONFIRMED_MONITORED,
)

# fmt: off
STEPS = (
    Step("POX_REPEAT", "血氧复测", "Repeat pulse oximetry", StepKind.REPEAT_TEST,
         within(REPEAT_WITHIN_HOURS, _H), (
        close("POX_NEG", "复测阴性", "Repeat negative", ClosureOutcome.RESCREEN_NORMAL),
        goto("POX_POS", "复测仍异常", "Repeat still failing", "NOTIFY", sets_track=ROUTINE),
        goto("POX_POS_IMMEDIATE", "复测血氧<90%", "Repeat below 90 %", "ECHO", sets_track=URGENT),
    ), test="POX_REPEAT", entered_as_test=True),
    Step("CATCH_UP_SCREEN", "补筛", "Catch-up screen", StepKind.SCREEN, by_age(CATCH_UP_BY_AGE_DAYS), (
        close("SCREEN_NEG", "筛查阴性", "Screen negative", ClosureOutcome.SCREENING_COMPLETED),
        goto("SCREEN_POS", "筛查阳性", "Screen positive", "NOTIFY", sets_track=ROUTINE),
        goto("SCREEN_POS_URGENT", "阳性且血氧<90%或有症状", "Positive, SpO2 <90 % or symptoms", "ECHO",
             sets_track=URGENT),
    ), test="SCREEN"),
    Step("NOTIFY", "告知家长", "Notify the family", StepKind.NOTIFY, within(NOTIFY_HOURS, _H), (
        goto("NOTIFIED", "已告知", "Notified", "ECHO"),
    )),
    Step("ECHO", "超声心动图诊断", "Echocardiography and diagnosis", StepKind.DIAGNOSIS,
         by_age(ECHO_BY_AGE_DAYS), (
        close("NORMAL", "正常", "Normal", _NOT_CONFIRMED),
        close("PFO", "卵圆孔未闭", "Patent foramen ovale (benign)", _NOT_CONFIRMED),
        close("NON_CARDIAC", "非心脏原因", "Non-cardiac cause", _NOT_CONFIRMED),
        goto("CCHD", "危重先心病", "Critical CHD", "TREATMENT", sets_track=URGENT),
        goto("CHD_TREATMENT_NEEDED", "先心病需治疗", "CHD to treat", "TREATMENT", sets_track=ROUTINE),
        goto("CHD_WATCHFUL", "先心病需随访", "CHD, watchful waiting", "FOLLOW_UP"),
    ), track_deadlines=((URGENT, within_and_by_age(URGENT_ECHO_HOURS, _H, ECHO_BY_AGE_DAYS)),)),
    Step("TREATMENT", "转诊治疗", "Treatment", StepKind.TREATMENT, within(TREATMENT_DAYS), (
        close("SURGERY", "手术", "Surgery", _TREATED),
        close("CATHETER_INTERVENTION", "介入治疗", "Catheter intervention", _TREATED),
        close("MEDICAL", "药物治疗", "Medical treatment", _TREATED),
    ), track_deadlines=((URGENT, within(URGENT_TREATMENT_DAYS)),), accepts_scheduled_due=True),
    Step("FOLLOW_UP", "随访", "Follow-up", StepKind.FOLLOW_UP, within(FOLLOW_UP_DAYS), (
        goto("VISIT_DONE", "已随访", "Visit done", "FOLLOW_UP"),
        goto("NEEDS_TREATMENT", "需要治疗", "Treatment needed", "TREATMENT", sets_track=ROUTINE),
        close("CLOSED_SPONTANEOUSLY", "自然闭合", "Closed spontaneously", _MONITORED),
        close("DISCHARGED", "结束随访", "Discharged from follow-up", _MONITORED),
    ), accepts_scheduled_due=True),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)
_T_SCREEN = _S.add("TARGET_SCREENING_RATE", "99.5", "S", "S25 (Shanghai 2023)", "%")
_T_ECHO = _S.add("TARGET_ECHO_RATE", "100", "P", "§3.4", "%")

_CHD = ("CCHD", "CHD_TREATMENT_NEEDED", "CHD_WATCHFUL")
MILESTONES = (
    sets(M.POSITIVE, "SCREEN", "SCREEN_POS"),
    sets(M.POSITIVE, "POX_REPEAT", "POX_POS", "POX_POS_IMMEDIATE"),
    sets(M.POSITIVE, "CATCH_UP_SCREEN", "SCREEN_POS", "SCREEN_POS_URGENT"),
    sets(M.DIAGNOSED, "ECHO"),
    sets(M.CONFIRMED, "ECHO", *_CHD),
    sets(M.TREATED, "TREATMENT"),
)

_NEEDS_TREATMENT = ResultIs(M.CONFIRMED, "CCHD", "CHD_TREATMENT_NEEDED") | ResultIs(
    "FOLLOW_UP", "NEEDS_TREATMENT"
)

INDICATORS = (
    Indicator("SCREENING_RATE", "筛查率", "Screening rate", "Screened", "Live births", BIRTH_COHORT,
              num=Has(M.SCREENED), den=Has(M.BORN), target=_T_SCREEN, source="S25"),
    Indicator("SCREEN_POSITIVE_RATE", "筛查阳性率", "Screen-positive rate", "Screen positive", "Screened",
              BIRTH_COHORT, num=Has(M.POSITIVE), den=Has(M.SCREENED), source="S35,S36a",
              note="a repeat oximetry counts once it is positive, not when it is only required"),
    Indicator("ECHO_RATE", "阳性病例诊断率", "Echo rate of positives", "Positives with echo", "Positives",
              BIRTH_COHORT, num=Has(M.DIAGNOSED), den=Has(M.POSITIVE), target=_T_ECHO, source="P"),
    Indicator("ECHO_WITHIN_7_DAYS", "7日内诊断及时率", "Echo within 7 days", "Echo within 7 d of birth",
              "Positives", BIRTH_COHORT, num=Within(M.DIAGNOSED, days=ECHO_BY_AGE_DAYS), den=Has(M.POSITIVE),
              source="P from S34"),
    Indicator("DETECTION_RATE", "检出率", "Detection rate", "Confirmed CHD", "Screened", BIRTH_COHORT,
              num=Has(M.CONFIRMED), den=Has(M.SCREENED), unit=IndicatorUnit.PER_MILLE, source="S35,S39"),
    Indicator("TREATMENT_RATE", "治疗率", "Treatment rate", "Treated (surgery/intervention)",
              "CHD needing treatment", BIRTH_COHORT, num=Has(M.TREATED), den=_NEEDS_TREATMENT, source="P"),
    unsupported("FOLLOW_UP_RATE", "随访率", "Follow-up rate", "Followed per plan", "CHD under management",
                event_period(M.CONFIRMED),
                "the cardiologist's plan of visits is not recorded, so no visit can be counted as per plan",
                "未记录心脏专科医生的随访计划，无法判断随访是否按计划完成", source="P"),
)
# fmt: on

# What the screens say about this program's notices; %(KEY)s is the value in force of setting KEY.
MESSAGES = {
    "BEFORE_6H": Message(
        "出生不满%(SCREEN_EARLIEST_AGE_HOURS)s小时进行筛查。",
        "Screened before %(SCREEN_EARLIEST_AGE_HOURS)s hours of age.",
    ),
    "AFTER_72H": Message(
        "出生%(SCREEN_LATEST_AGE_HOURS)s小时后进行筛查。",
        "Screened after %(SCREEN_LATEST_AGE_HOURS)s hours of age.",
    ),
    "REPEAT_TOO_SOON": Message(
        "复测距首次测量不足%(REPEAT_EARLIEST_HOURS)s小时。",
        "The repeat was measured less than %(REPEAT_EARLIEST_HOURS)s hours after the first.",
    ),
    "REPEAT_BEFORE_FIRST": Message(
        "复测时间早于首次测量时间，请核对。", "The repeat time is before the first reading; check it."
    ),
    "REPEAT_LATE": Message(
        "复测距首次测量超过%(REPEAT_WITHIN_HOURS)s小时。",
        "The repeat was measured more than %(REPEAT_WITHIN_HOURS)s hours after the first.",
    ),
    "SYMPTOMATIC": Message(
        "筛查阴性但有症状：请进行临床评估。", "Symptoms with a negative screen: assess clinically."
    ),
}

PROGRAM = Program(
    code=CODE,
    zh="新生儿先天性心脏病筛查",
    en="Newborn congenital heart disease screening",
    rule_version=f"{CODE}/2026.1",
    eligibility=Eligibility((SubjectKind.NEWBORN,), description="All live births [S33]"),
    tests=(SCREEN, REPEAT),
    steps=STEPS,
    tracks=(
        Choice(ROUTINE, "常规", "Routine"),
        Choice(URGENT, "紧急(血氧<90%或有症状/危重)", "Urgent (SpO2 <90 %, symptoms or critical)"),
    ),
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    screening_window=ScreeningWindow(
        test="SCREEN",
        earliest_age=EARLIEST_AGE_HOURS,
        due_age=LATEST_AGE_HOURS,
        due_unit=TimeUnit.HOURS,
        missed_step="CATCH_UP_SCREEN",
    ),
    settings=_S.freeze(),
    messages=MESSAGES,
    sources="S12,S25,S33–S39",
)
