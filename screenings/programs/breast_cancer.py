"""Breast cancer screening (乳腺癌筛查, part of 两癌筛查), programs.md §4.1, §4.3 and §4.4."""

from __future__ import annotations

from collections.abc import Mapping

from screenings.engine import (
    OUTCOME_MEANINGS,
    CaseReason,
    Choice,
    ClosureOutcome,
    CohortBasis,
    Eligibility,
    Field,
    FieldError,
    FieldKind,
    IndicatorUnit,
    Message,
    Program,
    ResultCode,
    RoutineRecall,
    ScreeningTest,
    SettingBook,
    SettingValues,
    Step,
    StepKind,
    Subject,
    SubjectKind,
    TimeUnit,
    Transition,
    Verdict,
    close,
    goto,
    within,
)
from screenings.engine.indicators import (
    Counting,
    Indicator,
    Period,
    Population,
    event_period,
    unsupported,
)
from screenings.engine.milestones import Milestone as M
from screenings.engine.milestones import ResultClass, sets
from screenings.engine.predicates import (
    Finding,
    Has,
    Or,
    OutcomeIs,
    ResultClassIs,
    ResultIs,
)

from ._common import standard_policies

CODE = "BREAST_CANCER"
_S = SettingBook(CODE)
_MONTHS = TimeUnit.MONTHS

MIN_AGE_YEARS = _S.add("ELIGIBLE_MIN_AGE_YEARS", 35, "S", "S44,S45", "years")
MAX_AGE_YEARS = _S.add("ELIGIBLE_MAX_AGE_YEARS", 64, "S", "S44,S45", "years")
ROUTINE_INTERVAL_YEARS = _S.add("ROUTINE_INTERVAL_YEARS", 3, "S", "S48 (BI-RADS 1/2)", "years")
MAMMOGRAPHY_DAYS = _S.add("MAMMOGRAPHY_DAYS", 30, "P", "§4.3 row 2", "days")
SENIOR_REVIEW_DAYS = _S.add("SENIOR_REVIEW_DAYS", 14, "P", "§4.3 row 3 (S57)", "days")
BIOPSY_DAYS = _S.add("BIOPSY_DAYS", 14, "P", "§4.3 row 4", "days")
HISTOLOGY_DAYS = _S.add("HISTOLOGY_DAYS", 14, "P", "§4.3 row 5", "days")
TREATMENT_DAYS = _S.add("TREATMENT_DAYS", 30, "P", "§4.3 row 6", "days")
SHORT_FOLLOW_UP_MONTHS = _S.add("SHORT_FOLLOW_UP_MONTHS", 6, "S", "S56 (final BI-RADS 3)", "months")
LONGER_FOLLOW_UP_MONTHS = _S.add(
    "LONGER_FOLLOW_UP_MONTHS", 12, "S", "S56 (then 12/24 per radiologist)", "months"
)

BIRADS = (
    Choice("0", "0类 评估不完全", "0 Incomplete"),
    Choice("1", "1类 阴性", "1 Negative"),
    Choice("2", "2类 良性", "2 Benign"),
    Choice("3", "3类 可能良性", "3 Probably benign"),
    Choice("4", "4类 可疑恶性", "4 Suspicious"),
    Choice("4A", "4A类 低度可疑", "4A Low suspicion"),
    Choice("4B", "4B类 中度可疑", "4B Moderate suspicion"),
    Choice("4C", "4C类 高度可疑", "4C High suspicion"),
    Choice("5", "5类 高度提示恶性", "5 Highly suggestive"),
    Choice("6", "6类 已知恶性", "6 Known malignancy"),
)
# Which breast decides the overall category: the one that calls for the most (0 and 3 both need imaging).
_SEVERITY = {"1": 0, "2": 1, "3": 2, "0": 3, "4": 4, "4A": 4, "4B": 5, "4C": 6, "5": 7, "6": 8}
_IMAGING, _BIOPSY = ("0", "3"), ("4", "4A", "4B", "4C", "5")


def _worst(*categories: object) -> str:
    present = [str(c) for c in categories if c is not None]
    return max(present, key=_SEVERITY.__getitem__)


def classify_ultrasound(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify CBE + ultrasound by the worse breast: 0/3 → mammography, 4/5 → biopsy, 6 → treatment."""
    left, right = values["birads_left"], values["birads_right"]
    if left is None and right is None:
        return Verdict(
            None, errors=(FieldError(None, "NO_BIRADS", "a BI-RADS category for a breast is required"),)
        )
    worst = _worst(left, right)
    findings = tuple(f"{side}_BIRADS_{c}" for side, c in (("LEFT", left), ("RIGHT", right)) if c is not None)
    if worst in ("1", "2") and values["high_risk"] is True:
        # high-risk women go to mammography even with a normal ultrasound [S48]
        return Verdict(
            f"BIRADS_{worst}",
            (*findings, "HIGH_RISK"),
            case_reason=CaseReason.REFERRED_RESULT,
            first_step="MAMMOGRAPHY",
        )
    return Verdict(f"BIRADS_{worst}", findings)


def classify_mammography(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify mammography: 0/3 → senior review, 4/5 → biopsy, 6 → treatment."""
    return Verdict(f"BIRADS_{values['birads']}")


def _result_codes(imaging_step: str) -> tuple[ResultCode, ...]:
    first = {**dict.fromkeys(_IMAGING, imaging_step), **dict.fromkeys(_BIOPSY, "BIOPSY"), "6": "TREATMENT"}
    codes = []
    for choice in BIRADS:
        step = first.get(choice.code)
        reason = CaseReason.REFERRED_RESULT if choice.code in _IMAGING else CaseReason.POSITIVE_RESULT
        codes.append(
            ResultCode(
                f"BIRADS_{choice.code}",
                choice.zh,
                choice.en,
                step is not None,
                reason if step else None,
                step,
            )
        )
    return tuple(codes)


# fmt: off
ULTRASOUND = ScreeningTest("ULTRASOUND", "乳腺体检+超声", "Clinical breast exam + ultrasound", (
    Field("examined_on", FieldKind.DATE, "检查日期", "Examination date"),
    Field("cbe_result", FieldKind.CHOICE, "乳腺体检", "Clinical breast exam", required=False, choices=(
        Choice("NORMAL", "未见异常", "Normal"), Choice("ABNORMAL", "异常", "Abnormal"),
    )),
    Field("birads_left", FieldKind.CHOICE, "左乳BI-RADS", "Left BI-RADS", choices=BIRADS, required=False),
    Field("birads_right", FieldKind.CHOICE, "右乳BI-RADS", "Right BI-RADS", choices=BIRADS, required=False),
    Field("high_risk", FieldKind.BOOLEAN, "乳腺癌高危人群", "High-risk woman", required=False),
), _result_codes("MAMMOGRAPHY"), classify_ultrasound, performed_field="examined_on")

MAMMOGRAPHY = ScreeningTest("MAMMOGRAPHY", "乳腺X线", "Mammography", (
    Field("examined_on", FieldKind.DATE, "检查日期", "Examination date"),
    Field("birads", FieldKind.CHOICE, "BI-RADS", "BI-RADS", choices=BIRADS),
    Field("density", FieldKind.CHOICE, "腺体密度", "Breast density", required=False, choices=tuple(
        Choice(d, f"{d}型", f"Type {d}") for d in "ABCD"
    )),
), _result_codes("SENIOR_REVIEW"), classify_mammography, performed_field="examined_on")
# fmt: on

# What the screens say about this program's errors.
MESSAGES = {
    "NO_BIRADS": Message(
        "请至少为一侧乳腺填写BI-RADS分类。", "Enter a BI-RADS category for at least one breast."
    ),
}


def _mammography_results() -> tuple[Transition, ...]:
    transitions: list[Transition] = []
    for choice in BIRADS:
        code = f"BIRADS_{choice.code}"
        if choice.code in ("1", "2"):
            transitions.append(close(code, choice.zh, choice.en, ClosureOutcome.NOT_CONFIRMED))
        else:
            target = (
                "SENIOR_REVIEW"
                if choice.code in _IMAGING
                else "BIOPSY"
                if choice.code in _BIOPSY
                else "TREATMENT"
            )
            transitions.append(goto(code, choice.zh, choice.en, target))
    return tuple(transitions)


_NOT_CONFIRMED, _TREATED = ClosureOutcome.NOT_CONFIRMED, ClosureOutcome.CONFIRMED_TREATED

# fmt: off
STEPS = (
    Step("MAMMOGRAPHY", "乳腺X线检查", "Mammography", StepKind.DIAGNOSIS, within(MAMMOGRAPHY_DAYS),
         _mammography_results(), test="MAMMOGRAPHY"),
    Step("SENIOR_REVIEW", "副高以上专家综合评估", "Senior specialist review", StepKind.DIAGNOSIS,
         within(SENIOR_REVIEW_DAYS), (
        goto("FINAL_BIRADS_3", "最终3类，短期随访", "Final BI-RADS 3, short follow-up", "SHORT_FOLLOW_UP"),
        goto("BIOPSY_RECOMMENDED", "建议活检", "Biopsy recommended", "BIOPSY"),
        close("BENIGN", "良性，回归常规筛查", "Benign, back to routine screening", _NOT_CONFIRMED),
    )),
    Step("SHORT_FOLLOW_UP", "短期随访", "Short-interval follow-up", StepKind.FOLLOW_UP,
         within(SHORT_FOLLOW_UP_MONTHS, _MONTHS), (
        goto("STABLE_CONTINUE", "稳定，继续随访", "Stable, keep following", "SHORT_FOLLOW_UP",
             deadline=within(LONGER_FOLLOW_UP_MONTHS, _MONTHS)),
        close("STABLE_COMPLETE", "稳定，随访结束", "Stable, follow-up complete", _NOT_CONFIRMED),
        close("DOWNGRADED", "降为1/2类", "Downgraded to 1/2", _NOT_CONFIRMED),
        goto("UPGRADED", "升为4/5类", "Upgraded to 4/5", "BIOPSY"),
    ), accepts_scheduled_due=True),
    Step("BIOPSY", "活检", "Biopsy", StepKind.DIAGNOSIS, within(BIOPSY_DAYS), (
        goto("DONE", "已活检", "Biopsy done", "HISTOPATHOLOGY"),
    )),
    Step("HISTOPATHOLOGY", "组织病理", "Histopathology", StepKind.DIAGNOSIS, within(HISTOLOGY_DAYS), (
        close("BENIGN", "良性", "Benign", _NOT_CONFIRMED),
        goto("ATYPICAL_HYPERPLASIA", "不典型增生", "Atypical hyperplasia", "TREATMENT"),
        goto("DCIS", "原位癌", "Ductal carcinoma in situ", "TREATMENT"),
        goto("INVASIVE", "浸润癌", "Invasive carcinoma", "TREATMENT"),
    )),
    Step("TREATMENT", "治疗", "Treatment", StepKind.TREATMENT, within(TREATMENT_DAYS), (
        close("SURGERY", "手术", "Surgery", _TREATED),
        close("REFERRED_TO_ONCOLOGY", "已转肿瘤专科治疗", "Treated by oncology", _TREATED),
    )),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)
_T_FOLLOW = _S.add("TARGET_FOLLOW_UP_MANAGEMENT_RATE", "95", "S", "S43", "%")
_T_EARLY = _S.add("TARGET_EARLY_DIAGNOSIS_RATE", "60", "S", "S43", "%")
_T_TREAT = _S.add("TARGET_TREATMENT_RATE", "90", "S", "S49 (both cancers)", "%")

_ULTRASOUND_ABNORMAL = tuple(f"BIRADS_{c}" for c in ("0", "3", "4", "4A", "4B", "4C", "5"))
_BIOPSY_NOW = tuple(f"BIRADS_{c}" for c in _BIOPSY)
MILESTONES = (
    sets(M.POSITIVE, "ULTRASOUND", *_BIOPSY_NOW, "BIRADS_6"),
    sets(M.POSITIVE, "MAMMOGRAPHY", *_BIOPSY_NOW, "BIRADS_6"),
    sets(M.POSITIVE, "SENIOR_REVIEW", "BIOPSY_RECOMMENDED"),
    sets(M.POSITIVE, "SHORT_FOLLOW_UP", "UPGRADED"),
    sets(M.DIAGNOSED, "HISTOPATHOLOGY"),
    sets(M.CONFIRMED, "HISTOPATHOLOGY", "DCIS", "INVASIVE"),
    sets(M.TREATED, "TREATMENT"),
)

_SCREENING_YEAR = event_period(M.SCREENED)
_BIOPSY_INDICATED = Or(
    ResultIs(M.SCREENED, *_BIOPSY_NOW),
    ResultIs("MAMMOGRAPHY", *_BIOPSY_NOW),
    ResultIs("SENIOR_REVIEW", "BIOPSY_RECOMMENDED"),
    ResultIs("SHORT_FOLLOW_UP", "UPGRADED"),
)
_COMPLETED = OutcomeIs(*(o for o, meaning in OUTCOME_MEANINGS.items() if meaning.follow_up_completed))
WOMEN_35_64 = Population("BREAST_CANCER.WOMEN_35_64", "35–64岁应查妇女数", "Women 35–64 to screen")

INDICATORS = (
    Indicator("SCREENING_RATE", "乳腺癌筛查率", "Screening rate",
              "Women 35–64 screened in the cycle (实查人数)", "Women 35–64 in the jurisdiction (应查人数)",
              Period(CohortBasis.SCREENING_CYCLE, M.SCREENED), num=Has(M.SCREENED), den=WOMEN_35_64,
              counting=Counting.PERSONS, source="S44,S58"),
    Indicator("PRIMARY_ABNORMAL_RATE", "初筛异常率", "Primary abnormal rate", "BI-RADS 0/3/4/5 ultrasounds",
              "Screened", _SCREENING_YEAR, num=ResultIs(M.SCREENED, *_ULTRASOUND_ABNORMAL),
              den=Has(M.SCREENED), source="S59"),
    Indicator("MAMMOGRAPHY_RATE", "X线检查率", "Mammography completion", "Mammographies done (实X线数)",
              "Mammographies indicated (应X线数)", _SCREENING_YEAR, num=Has("MAMMOGRAPHY"),
              den=ResultIs(M.SCREENED, "BIRADS_0", "BIRADS_3") | Finding("HIGH_RISK"), source="P"),
    Indicator("HISTOPATHOLOGY_RATE", "组织病理检查率", "Histopathology completion", "Biopsies done",
              "Biopsies indicated", _SCREENING_YEAR, num=Has("BIOPSY"), den=_BIOPSY_INDICATED, source="P"),
    Indicator("FOLLOW_UP_MANAGEMENT_RATE", "异常/可疑病例随访管理率", "Follow-up management rate",
              "Abnormal/suspicious cases with completed follow-up", "Abnormal/suspicious cases",
              _SCREENING_YEAR, num=_COMPLETED, den=ResultClassIs(ResultClass.POSITIVE, ResultClass.REFERRED),
              target=_T_FOLLOW, source="S43"),
    Indicator("DETECTION_RATE", "乳腺癌检出率", "Breast cancer detection rate", "Breast cancers", "Screened",
              _SCREENING_YEAR, num=Has(M.CONFIRMED), den=Has(M.SCREENED), unit=IndicatorUnit.PER_100K,
              source="S54"),
    unsupported("EARLY_DIAGNOSIS_RATE", "乳腺癌早诊率", "Early-diagnosis rate",
                "Early-stage breast cancers (stage 0–I)", "Breast cancers", _SCREENING_YEAR,
                "the TNM stage of an invasive cancer is not recorded, so stage I cannot be told from later "
                "stages", "未记录浸润癌的TNM分期，无法区分Ⅰ期与更晚期别", target=_T_EARLY, source="S43,S61"),
    Indicator("TREATMENT_RATE", "治疗率", "Treatment rate", "Cancers treated", "Cancers", _SCREENING_YEAR,
              num=Has(M.TREATED), den=Has(M.CONFIRMED), target=_T_TREAT, source="S49"),
)
# fmt: on

PROGRAM = Program(
    code=CODE,
    zh="乳腺癌筛查",
    en="Breast cancer screening",
    rule_version=f"{CODE}/2026.1",
    eligibility=Eligibility(
        (SubjectKind.WOMAN,), MIN_AGE_YEARS, MAX_AGE_YEARS, TimeUnit.YEARS, "Women 35–64 [S44][S45]"
    ),
    tests=(ULTRASOUND, MAMMOGRAPHY),
    steps=STEPS,
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    # §4.3: BI-RADS 1/2 → routine rescreen, every 3 years (Beijing) [S48]
    routine_recall=(
        RoutineRecall("ULTRASOUND", ("BIRADS_1", "BIRADS_2"), ROUTINE_INTERVAL_YEARS),
        RoutineRecall("MAMMOGRAPHY", ("BIRADS_1", "BIRADS_2"), ROUTINE_INTERVAL_YEARS),
    ),
    settings=_S.freeze(),
    messages=MESSAGES,
    sources="S43–S61",
)
