"""Cervical cancer screening (宫颈癌筛查, part of 两癌筛查), programs.md §4.1–4.2 and §4.4."""

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
    Notice,
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
    Has,
    OutcomeIs,
    ResultClassIs,
    ResultIs,
)

from ._common import standard_policies

CODE = "CERVICAL_CANCER"
_S = SettingBook(CODE)
_MONTHS = TimeUnit.MONTHS

MIN_AGE_YEARS = _S.add("ELIGIBLE_MIN_AGE_YEARS", 35, "S", "S44,S45", "years")
MAX_AGE_YEARS = _S.add("ELIGIBLE_MAX_AGE_YEARS", 64, "S", "S44,S45", "years")
CYTOLOGY_INTERVAL_YEARS = _S.add("CYTOLOGY_INTERVAL_YEARS", 3, "S", "S45", "years")
HPV_INTERVAL_YEARS = _S.add("HPV_INTERVAL_YEARS", 5, "S", "S45", "years")
TRIAGE_DAYS = _S.add("TRIAGE_CYTOLOGY_DAYS", 14, "P", "§4.2 row 2 (lab turnaround ≤14 d)", "days")
HPV_RESAMPLE_DAYS = _S.add("HPV_RESAMPLE_DAYS", 30, "P", "engineering default (invalid HPV test)", "days")
CYTOLOGY_RESAMPLE_DAYS = _S.add("CYTOLOGY_RESAMPLE_DAYS", 90, "P", "engineering default (2–4 months)", "days")
NOTIFY_DAYS = _S.add("NOTIFY_DAYS", 7, "P", "§4.2 row 3", "days")
COLPOSCOPY_HIGH_GRADE_DAYS = _S.add(
    "COLPOSCOPY_HIGH_GRADE_DAYS", 30, "P", "§4.2 row 4 (HPV16/18, ≥HSIL …)", "days"
)
COLPOSCOPY_ROUTINE_DAYS = _S.add("COLPOSCOPY_ROUTINE_DAYS", 90, "P", "§4.2 row 4 (other indications)", "days")
HISTOLOGY_DAYS = _S.add("HISTOLOGY_DAYS", 14, "P", "§4.2 rows 5–6 (biopsy same visit, ≤14 d)", "days")
PRECANCER_TREATMENT_DAYS = _S.add("PRECANCER_TREATMENT_DAYS", 60, "P", "§4.2 row 7", "days")
CANCER_REFERRAL_DAYS = _S.add("CANCER_REFERRAL_DAYS", 30, "P", "§4.2 row 7", "days")
CIN1_FOLLOW_UP_MONTHS = _S.add("CIN1_FOLLOW_UP_MONTHS", 12, "P", "§4.2 row 8", "months")
SHORT_FOLLOW_UP_MONTHS = _S.add(
    "SHORT_FOLLOW_UP_MONTHS", 12, "P", "§4.2 (colposcopy normal, per clinician)", "months"
)
POST_TREATMENT_MONTHS = _S.add("POST_TREATMENT_FOLLOW_UP_MONTHS", 12, "R", "§4.2 row 9 (WHO)", "months")
REPEAT_HPV_MONTHS = _S.add("REPEAT_HPV_MONTHS", 12, "P", "S52 (common Chinese practice)", "months")

HIGH_GRADE, ROUTINE = "HIGH_GRADE", "ROUTINE"

HPV_TYPES = tuple(
    Choice(f"HPV{t}", f"HPV{t}型", f"HPV type {t}")
    for t in (16, 18, 31, 33, 35, 39, 45, 51, 52, 56, 58, 59, 66, 68)
) + (Choice("HR_POOLED", "其他高危型(混合检测)", "Other high-risk (pooled)"),)

TBS_RESULTS = (
    Choice("NILM", "未见上皮内病变或恶性病变", "NILM"),
    Choice("ASC_US", "无明确诊断意义的非典型鳞状细胞", "ASC-US"),
    Choice("ASC_H", "不除外高度病变的非典型鳞状细胞", "ASC-H"),
    Choice("LSIL", "低度鳞状上皮内病变", "LSIL"),
    Choice("HSIL", "高度鳞状上皮内病变", "HSIL"),
    Choice("SCC", "鳞状细胞癌", "Squamous cell carcinoma"),
    Choice("AGC", "非典型腺细胞", "AGC"),
    Choice("AGC_FN", "非典型腺细胞，倾向瘤变", "AGC, favour neoplastic"),
    Choice("AIS", "颈管原位腺癌", "Adenocarcinoma in situ"),
    Choice("ADENOCA", "腺癌", "Adenocarcinoma"),
    Choice("UNSATISFACTORY", "标本不满意", "Unsatisfactory"),
)
# ASC-US and LSIL go to colposcopy within 90 days; every other abnormal TBS within 30 [P]
_LOW_GRADE_TBS = ("ASC_US", "LSIL")
_HIGH_GRADE_TBS = ("ASC_H", "HSIL", "SCC", "AGC", "AGC_FN", "AIS", "ADENOCA")

_EXCLUSION = Field(
    "hysterectomy_non_cervical",
    FieldKind.BOOLEAN,
    "非宫颈原因子宫切除",
    "Hysterectomy (non-cervical)",
    required=False,
)


def _exclusion_notices(values: Mapping[str, object]) -> tuple[Notice, ...]:
    if values["hysterectomy_non_cervical"] is True:
        return (
            Notice("hysterectomy_non_cervical", "NOT_ELIGIBLE", "excluded after a non-cervical hysterectomy"),
        )
    return ()


def classify_hpv(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify a high-risk HPV test: 16/18 straight to colposcopy, other types to cytology triage."""
    notices = _exclusion_notices(values)
    types = values["hpv_types"]
    assert isinstance(types, tuple)
    if values["hpv_result"] == "INVALID":
        return Verdict("INVALID", warnings=notices)
    if values["hpv_result"] == "NEGATIVE":
        if types:
            return Verdict(
                None, errors=(FieldError("hpv_types", "TYPES_ON_NEGATIVE", "negative test lists types"),)
            )
        return Verdict("NEG", warnings=notices)
    if not types:
        return Verdict(None, errors=(FieldError("hpv_types", "REQUIRED", "a positive test needs its types"),))
    has16, has18 = "HPV16" in types, "HPV18" in types
    if has16 or has18:
        code = "POS_16_18" if has16 and has18 else ("POS_16" if has16 else "POS_18")
        return Verdict(code, types, notices, track=HIGH_GRADE)
    return Verdict("POS_OTHER_HR", types, notices, track=ROUTINE)


def classify_cytology(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify TBS cytology: ≥ASC-US goes to colposcopy, faster for high-grade categories."""
    tbs = str(values["tbs"])
    track = HIGH_GRADE if tbs in _HIGH_GRADE_TBS else ROUTINE if tbs in _LOW_GRADE_TBS else None
    return Verdict(tbs, warnings=_exclusion_notices(values), track=track)


def classify_via(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify VIA/VILI: abnormal or suspicious goes to colposcopy."""
    code = {"NEGATIVE": "VIA_NEG", "POSITIVE": "VIA_POS", "SUSPECT_CANCER": "VIA_SUSPECT_CANCER"}[
        str(values["via"])
    ]
    track = {"VIA_POS": ROUTINE, "VIA_SUSPECT_CANCER": HIGH_GRADE}.get(code)
    return Verdict(code, warnings=_exclusion_notices(values), track=track)


_POS, _UNSAT = CaseReason.POSITIVE_RESULT, CaseReason.UNSATISFACTORY_SPECIMEN
_SAMPLED = Field("sampled_on", FieldKind.DATE, "取样日期", "Sample date")

# fmt: off
HPV = ScreeningTest("HPV", "高危型HPV检测", "High-risk HPV test", (
    _SAMPLED,
    Field("hpv_result", FieldKind.CHOICE, "检测结果", "Result", choices=(
        Choice("NEGATIVE", "阴性", "Negative"), Choice("POSITIVE", "阳性", "Positive"),
        Choice("INVALID", "无效", "Invalid"),
    )),
    Field("hpv_types", FieldKind.MULTI_CHOICE, "阳性型别", "Positive types", choices=HPV_TYPES,
          required=False),
    _EXCLUSION,
), (
    ResultCode("NEG", "阴性", "Negative"),
    ResultCode("POS_16", "HPV16阳性", "HPV16 positive", True, _POS, "NOTIFY"),
    ResultCode("POS_18", "HPV18阳性", "HPV18 positive", True, _POS, "NOTIFY"),
    ResultCode("POS_16_18", "HPV16和18阳性", "HPV16 and 18 positive", True, _POS, "NOTIFY"),
    ResultCode("POS_OTHER_HR", "其他高危型阳性", "Other high-risk positive", True, _POS, "CYTOLOGY_TRIAGE"),
    ResultCode("INVALID", "无效", "Invalid", True, _UNSAT, "HPV_RESAMPLE"),
), classify_hpv, HPV_TYPES, performed_field="sampled_on")

CYTOLOGY = ScreeningTest("CYTOLOGY", "宫颈细胞学(TBS)", "Cervical cytology (TBS)", (
    _SAMPLED,
    Field("tbs", FieldKind.CHOICE, "TBS结果", "TBS result", choices=TBS_RESULTS),
    _EXCLUSION,
), (
    ResultCode("NILM", "NILM", "NILM"),
    *(ResultCode(c.code, c.zh, c.en, True, _POS, "NOTIFY") for c in TBS_RESULTS[1:-1]),
    ResultCode("UNSATISFACTORY", "标本不满意", "Unsatisfactory", True, _UNSAT, "CYTOLOGY_RESAMPLE"),
), classify_cytology, performed_field="sampled_on")

VIA_VILI = ScreeningTest("VIA_VILI", "醋酸/碘染色肉眼观察", "VIA/VILI", (
    Field("examined_on", FieldKind.DATE, "检查日期", "Examination date"),
    Field("via", FieldKind.CHOICE, "结果", "Result", choices=(
        Choice("NEGATIVE", "阴性", "Negative"), Choice("POSITIVE", "异常", "Abnormal"),
        Choice("SUSPECT_CANCER", "可疑癌", "Suspicious for cancer"),
    )),
    _EXCLUSION,
), (
    ResultCode("VIA_NEG", "阴性", "Negative"),
    ResultCode("VIA_POS", "异常", "Abnormal", True, _POS, "NOTIFY"),
    ResultCode("VIA_SUSPECT_CANCER", "可疑癌", "Suspicious for cancer", True, _POS, "NOTIFY"),
), classify_via, performed_field="examined_on")
# fmt: on

# What the screens say about this program's notices and errors.
MESSAGES = {
    "NOT_ELIGIBLE": Message("因非宫颈病变子宫切除而排除。", "Excluded after a non-cervical hysterectomy."),
    "TYPES_ON_NEGATIVE": Message("HPV阴性时不应填写分型。", "A negative HPV test cannot list HPV types."),
}


def _hpv_results(invalid_step: str, negative: ClosureOutcome) -> tuple[Transition, ...]:
    return (
        close("NEG", "阴性", "Negative", negative),
        goto("POS_16", "HPV16阳性", "HPV16 positive", "NOTIFY", sets_track=HIGH_GRADE),
        goto("POS_18", "HPV18阳性", "HPV18 positive", "NOTIFY", sets_track=HIGH_GRADE),
        goto("POS_16_18", "HPV16和18阳性", "HPV16 and 18 positive", "NOTIFY", sets_track=HIGH_GRADE),
        goto(
            "POS_OTHER_HR",
            "其他高危型阳性",
            "Other high-risk positive",
            "CYTOLOGY_TRIAGE",
            sets_track=ROUTINE,
        ),
        goto("INVALID", "无效", "Invalid", invalid_step, deadline=within(HPV_RESAMPLE_DAYS)),
    )


def _tbs_results(nilm: Transition, unsatisfactory_step: str) -> tuple[Transition, ...]:
    return (
        nilm,
        *(
            goto(c.code, c.zh, c.en, "NOTIFY", sets_track=ROUTINE)
            for c in TBS_RESULTS
            if c.code in _LOW_GRADE_TBS
        ),
        *(
            goto(c.code, c.zh, c.en, "NOTIFY", sets_track=HIGH_GRADE)
            for c in TBS_RESULTS
            if c.code in _HIGH_GRADE_TBS
        ),
        goto("UNSATISFACTORY", "标本不满意", "Unsatisfactory", unsatisfactory_step),
    )


_TREATED, _MONITORED, _NOT_CONFIRMED = (
    ClosureOutcome.CONFIRMED_TREATED,
    ClosureOutcome.CONFIRMED_MONITORED,
    ClosureOutcome.NOT_CONFIRMED,
)
_REPEAT_NOTIFY = goto("POSITIVE", "阳性/异常", "Positive or abnormal", "NOTIFY", sets_track=ROUTINE)

# fmt: off
STEPS = (
    Step("HPV_RESAMPLE", "HPV重新取样", "HPV re-sample", StepKind.REPEAT_TEST, within(HPV_RESAMPLE_DAYS),
         _hpv_results("HPV_RESAMPLE", ClosureOutcome.RESCREEN_NORMAL), test="HPV"),
    Step("CYTOLOGY_RESAMPLE", "细胞学重新取样", "Cytology re-sample", StepKind.REPEAT_TEST,
         within(CYTOLOGY_RESAMPLE_DAYS), _tbs_results(
             close("NILM", "NILM", "NILM", ClosureOutcome.RESCREEN_NORMAL), "CYTOLOGY_RESAMPLE"),
         test="CYTOLOGY"),
    Step("CYTOLOGY_TRIAGE", "细胞学分流", "Cytology triage", StepKind.REPEAT_TEST, within(TRIAGE_DAYS),
         _tbs_results(goto("NILM", "NILM", "NILM", "REPEAT_HPV_12M"), "CYTOLOGY_TRIAGE"), test="CYTOLOGY"),
    Step("NOTIFY", "通知", "Notify", StepKind.NOTIFY, within(NOTIFY_DAYS), (
        goto("NOTIFIED", "已通知", "Notified", "COLPOSCOPY"),
    )),
    Step("COLPOSCOPY", "阴道镜检查", "Colposcopy", StepKind.DIAGNOSIS, within(COLPOSCOPY_ROUTINE_DAYS), (
        close("NORMAL_ROUTINE", "正常，回归常规筛查", "Normal, back to routine screening", _NOT_CONFIRMED),
        goto("NORMAL_SHORT_FOLLOW_UP", "正常，短期随访", "Normal, short follow-up", "SHORT_FOLLOW_UP"),
        goto("LOW_GRADE", "低级别病变(已活检)", "Low grade (biopsied)", "HISTOPATHOLOGY"),
        goto("HIGH_GRADE", "高级别病变(已活检)", "High grade (biopsied)", "HISTOPATHOLOGY"),
        goto("SUSPECT_CANCER", "可疑癌(已活检)", "Suspicious for cancer (biopsied)", "HISTOPATHOLOGY"),
        goto("INADEQUATE", "转化区3型(已取样)", "Inadequate, TZ type 3 (sampled)", "HISTOPATHOLOGY"),
    ), track_deadlines=((HIGH_GRADE, within(COLPOSCOPY_HIGH_GRADE_DAYS)),)),
    Step("HISTOPATHOLOGY", "组织病理", "Histopathology", StepKind.DIAGNOSIS, within(HISTOLOGY_DAYS), (
        close("NORMAL_INFLAMMATION", "正常/炎症", "Normal or inflammation", _NOT_CONFIRMED),
        goto("LSIL_CIN1", "LSIL(CIN1)", "LSIL (CIN1)", "CIN1_FOLLOW_UP"),
        goto("HSIL_CIN2", "HSIL(CIN2)", "HSIL (CIN2)", "TREATMENT"),
        goto("HSIL_CIN3", "HSIL(CIN3)", "HSIL (CIN3)", "TREATMENT"),
        goto("AIS", "原位腺癌", "Adenocarcinoma in situ", "TREATMENT"),
        goto("MICROINVASIVE", "微小浸润癌", "Microinvasive carcinoma", "ONCOLOGY_REFERRAL"),
        goto("INVASIVE_SCC", "浸润性鳞癌", "Invasive squamous carcinoma", "ONCOLOGY_REFERRAL"),
        goto("INVASIVE_ADENO", "浸润性腺癌", "Invasive adenocarcinoma", "ONCOLOGY_REFERRAL"),
        goto("OTHER", "其他", "Other", "SHORT_FOLLOW_UP"),
    )),
    Step("TREATMENT", "癌前病变治疗", "Precancer treatment", StepKind.TREATMENT,
         within(PRECANCER_TREATMENT_DAYS), (
        goto("LEEP", "LEEP", "LEEP", "POST_TREATMENT_FOLLOW_UP"),
        goto("COLD_KNIFE_CONE", "冷刀锥切", "Cold-knife cone", "POST_TREATMENT_FOLLOW_UP"),
        goto("ABLATION", "消融治疗", "Ablation", "POST_TREATMENT_FOLLOW_UP"),
        goto("HYSTERECTOMY", "子宫切除", "Hysterectomy", "POST_TREATMENT_FOLLOW_UP"),
    )),
    Step("ONCOLOGY_REFERRAL", "转诊肿瘤专科", "Oncology referral", StepKind.TREATMENT,
         within(CANCER_REFERRAL_DAYS), (
        close("TREATED_BY_ONCOLOGY", "已接受肿瘤治疗", "Treated by oncology", _TREATED),
    )),
    Step("POST_TREATMENT_FOLLOW_UP", "治疗后随访", "Post-treatment follow-up", StepKind.FOLLOW_UP,
         within(POST_TREATMENT_MONTHS, _MONTHS), (
        close("NEGATIVE", "阴性", "Negative", _TREATED),
        _REPEAT_NOTIFY,
    )),
    Step("CIN1_FOLLOW_UP", "CIN1随访", "CIN1 follow-up", StepKind.FOLLOW_UP,
         within(CIN1_FOLLOW_UP_MONTHS, _MONTHS), (
        close("NEGATIVE", "阴性", "Negative", _MONITORED),
        _REPEAT_NOTIFY,
    )),
    Step("SHORT_FOLLOW_UP", "短期随访", "Short-interval follow-up", StepKind.FOLLOW_UP,
         within(SHORT_FOLLOW_UP_MONTHS, _MONTHS), (
        close("NEGATIVE", "阴性", "Negative", _NOT_CONFIRMED),
        _REPEAT_NOTIFY,
    ), accepts_scheduled_due=True),
    Step("REPEAT_HPV_12M", "12个月复查HPV", "Repeat HPV at 12 months", StepKind.RESCREEN,
         within(REPEAT_HPV_MONTHS, _MONTHS), _hpv_results("REPEAT_HPV_12M", ClosureOutcome.RESCREEN_NORMAL),
         test="HPV"),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)
_T_SCREEN = _S.add("TARGET_SCREENING_RATE", "50", "S", "S44 (2025; 70 % by 2030 [S49])", "%")
_T_AWARE = _S.add("TARGET_AWARENESS_RATE", "80", "S", "S44", "%")
_T_FOLLOW = _S.add("TARGET_FOLLOW_UP_MANAGEMENT_RATE", "95", "S", "S43", "%")
_T_EARLY = _S.add("TARGET_EARLY_DIAGNOSIS_RATE", "90", "S", "S43,S44", "%")
_T_TREAT = _S.add("TARGET_TREATMENT_RATE", "90", "S", "S49", "%")
_K = IndicatorUnit.PER_100K

_HPV_16_18 = ("POS_16", "POS_18", "POS_16_18")
_TBS_ABNORMAL = (*_LOW_GRADE_TBS, *_HIGH_GRADE_TBS)
_PRECANCER = ("HSIL_CIN2", "HSIL_CIN3", "AIS")
_CANCER = ("MICROINVASIVE", "INVASIVE_SCC", "INVASIVE_ADENO")
_BIOPSIED = ("LOW_GRADE", "HIGH_GRADE", "SUSPECT_CANCER", "INADEQUATE")
MILESTONES = (
    # "positive" here is "colposcopy indicated" (应阴道镜): the result that sends a woman to NOTIFY
    sets(M.POSITIVE, "HPV", *_HPV_16_18),
    sets(M.POSITIVE, "CYTOLOGY", *_TBS_ABNORMAL),
    sets(M.POSITIVE, "VIA_VILI", "VIA_POS", "VIA_SUSPECT_CANCER"),
    sets(M.POSITIVE, "CYTOLOGY_TRIAGE", *_TBS_ABNORMAL),  # other high-risk HPV, then cytology ≥ASC-US
    sets(M.POSITIVE, "HPV_RESAMPLE", *_HPV_16_18),
    sets(M.POSITIVE, "CYTOLOGY_RESAMPLE", *_TBS_ABNORMAL),
    sets(M.POSITIVE, "REPEAT_HPV_12M", *_HPV_16_18),
    sets(M.RESCREENED, "REPEAT_HPV_12M"),
    sets(M.DIAGNOSED, "COLPOSCOPY"),
    sets(M.CONFIRMED, "HISTOPATHOLOGY", *_PRECANCER, *_CANCER),
    sets(M.TREATED, "TREATMENT"),
    sets(M.TREATED, "ONCOLOGY_REFERRAL", "TREATED_BY_ONCOLOGY"),
)

_SCREENING_YEAR = event_period(M.SCREENED)
_ABNORMAL = ResultClassIs(ResultClass.POSITIVE)
_COMPLETED = OutcomeIs(*(o for o, meaning in OUTCOME_MEANINGS.items() if meaning.follow_up_completed))
WOMEN_35_64 = Population("CERVICAL_CANCER.WOMEN_35_64", "35–64岁应查妇女数", "Women 35–64 to screen")

INDICATORS = (
    Indicator("SCREENING_RATE", "宫颈癌筛查率", "Screening rate", "Women 35–64 screened in the cycle",
              "Women 35–64 in the jurisdiction (应查人数)", Period(CohortBasis.SCREENING_CYCLE, M.SCREENED),
              num=Has(M.SCREENED), den=WOMEN_35_64, target=_T_SCREEN, counting=Counting.PERSONS,
              source="S44,S49,S58"),
    unsupported("AWARENESS_RATE", "核心知识知晓率", "Core-knowledge awareness",
                "Women answering ≥70 % correctly", "Women surveyed", _SCREENING_YEAR,
                "the core-knowledge questionnaire is not recorded", "未记录核心知识问卷", target=_T_AWARE,
                source="S44,S58"),
    Indicator("PRIMARY_ABNORMAL_RATE", "初筛异常率", "Primary abnormal rate", "Abnormal primary results",
              "Screened", _SCREENING_YEAR, num=_ABNORMAL, den=Has(M.SCREENED), source="S59"),
    Indicator("COLPOSCOPY_RATE", "阴道镜检查率", "Colposcopy completion", "Colposcopies done",
              "Colposcopies indicated", _SCREENING_YEAR, num=Has("COLPOSCOPY"), den=Has(M.POSITIVE),
              source="P"),
    Indicator("COLPOSCOPY_ABNORMAL_RATE", "阴道镜异常率", "Colposcopy abnormal rate", "Abnormal colposcopies",
              "Colposcopies", _SCREENING_YEAR, num=ResultIs("COLPOSCOPY", "LOW_GRADE", "HIGH_GRADE",
                                                            "SUSPECT_CANCER"),
              den=Has("COLPOSCOPY"), source="S59"),
    Indicator("HISTOPATHOLOGY_RATE", "组织病理检查率", "Histopathology completion", "Biopsies done",
              "Biopsies indicated", _SCREENING_YEAR, num=Has("HISTOPATHOLOGY"),
              den=ResultIs("COLPOSCOPY", *_BIOPSIED), source="P"),
    Indicator("FOLLOW_UP_MANAGEMENT_RATE", "异常/可疑病例随访管理率", "Follow-up management rate",
              "Abnormal/suspicious cases with completed follow-up", "Abnormal/suspicious cases",
              _SCREENING_YEAR, num=_COMPLETED, den=_ABNORMAL, target=_T_FOLLOW, source="S43"),
    Indicator("PRECANCER_DETECTION_RATE", "宫颈癌前病变检出率", "Precancer detection rate",
              "Precancer cases (CIN2/3, AIS)", "Screened", _SCREENING_YEAR,
              num=ResultIs(M.CONFIRMED, *_PRECANCER), den=Has(M.SCREENED), unit=_K, source="S59,S60"),
    Indicator("CANCER_DETECTION_RATE", "宫颈癌检出率", "Cancer detection rate", "Cancers", "Screened",
              _SCREENING_YEAR, num=ResultIs(M.CONFIRMED, *_CANCER), den=Has(M.SCREENED), unit=_K,
              source="S59"),
    unsupported("EARLY_DIAGNOSIS_RATE", "宫颈癌早诊率", "Early-diagnosis rate", "Precancer + early cancer",
                "Precancer + all cancer", _SCREENING_YEAR,
                "the FIGO stage of an invasive cancer is not recorded, so stage I cannot be told from later "
                "stages", "未记录浸润癌的FIGO分期，无法区分Ⅰ期与更晚期别", target=_T_EARLY,
                source="S43,S44,S59"),
    Indicator("TREATMENT_RATE", "治疗率", "Treatment rate", "Precancer + cancer treated",
              "Precancer + cancer", _SCREENING_YEAR, num=Has(M.TREATED), den=Has(M.CONFIRMED),
              target=_T_TREAT, source="S49"),
)
# fmt: on

PROGRAM = Program(
    code=CODE,
    zh="宫颈癌筛查",
    en="Cervical cancer screening",
    rule_version=f"{CODE}/2026.1",
    eligibility=Eligibility(
        (SubjectKind.WOMAN,), MIN_AGE_YEARS, MAX_AGE_YEARS, TimeUnit.YEARS, "Women 35–64 [S44][S45]"
    ),
    tests=(HPV, CYTOLOGY, VIA_VILI),
    steps=STEPS,
    tracks=(
        Choice(ROUTINE, "常规(≤90天阴道镜)", "Routine (colposcopy ≤90 d)"),
        Choice(HIGH_GRADE, "高级别(≤30天阴道镜)", "High grade (colposcopy ≤30 d)"),
    ),
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    # §4.2: HPV negative → routine rescreen in 5 years, cytology NILM in 3 [S45]
    routine_recall=(
        RoutineRecall("HPV", ("NEG",), HPV_INTERVAL_YEARS),
        RoutineRecall("CYTOLOGY", ("NILM",), CYTOLOGY_INTERVAL_YEARS),
    ),
    settings=_S.freeze(),
    messages=MESSAGES,
    sources="S43–S60",
)
