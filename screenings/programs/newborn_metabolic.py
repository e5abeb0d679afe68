"""Newborn inherited metabolic disease screening (新生儿遗传代谢病筛查), programs.md §1."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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
    DaysBetween,
    Indicator,
    event_period,
    unsupported,
)
from screenings.engine.milestones import Milestone as M
from screenings.engine.milestones import sets
from screenings.engine.predicates import (
    LOST,
    Has,
    Or,
    ResultIs,
    Within,
)
from screenings.engine.times import local_date

from ._common import (
    approximate_birth_notice,
    end_of_local_day,
    hours_since_birth,
    standard_policies,
)

CODE = "NEWBORN_METABOLIC"
_S = SettingBook(CODE)

# fmt: off
MIN_COLLECTION_AGE_HOURS = _S.add("MIN_COLLECTION_AGE_HOURS", 72, "S", "S2,S12", "h")
COLLECTION_DUE_AGE_DAYS = _S.add("COLLECTION_DUE_AGE_DAYS", 7, "S", "S2,S12", "days of age")
LATE_LIMIT_AGE_DAYS = _S.add("LATE_LIMIT_AGE_DAYS", 20, "S", "S12,S3", "days of age")
MIN_FEEDS = _S.add("MIN_FEEDS", 6, "S", "S12", "feeds")
MIN_SPOTS = _S.add("MIN_SPOTS", 3, "S", "S12", "spots", "each ≥8 mm")
# lab logistics limits: read by the turnaround indicators, not by a follow-up step
TRANSPORT_LIMIT = _S.add("TRANSPORT_LIMIT_WORKING_DAYS", 5, "R", "§1.2 (2010 规范)", "working days")
REPORT_LIMIT = _S.add("REPORT_LIMIT_WORKING_DAYS", 5, "P", "§1.4 row 3 (median ≤3 d)", "working days")
PHE_CUTOFF = _S.add("PHE_CUTOFF_UMOL_L", "120", "S", "S12,S13", "µmol/L")
TSH_CUTOFF = _S.add("TSH_CUTOFF_MIU_L", "9", "S", "S12,S14", "mIU/L", "lab-specific, typically 8–20")
OHP17_TERM_CUTOFF = _S.add("OHP17_CUTOFF_TERM_NMOL_L", "14", "S", "S15", "nmol/L")
OHP17_PRETERM_CUTOFF = _S.add("OHP17_CUTOFF_PRETERM_LBW_NMOL_L", "36", "S", "S15", "nmol/L")
G6PD_CUTOFF = _S.add("G6PD_CUTOFF_U_G_HB", "2.6", "P", "§1.3: lab-specific", "U/g Hb", "deficient below")
PRETERM_BELOW_WEEKS = _S.add("PRETERM_BELOW_WEEKS", 37, "P", "WHO definition of preterm", "weeks")
LBW_BELOW_GRAMS = _S.add("LOW_BIRTH_WEIGHT_BELOW_G", 2500, "P", "WHO definition of low birth weight", "g")
CARD_RETEST_DAYS = _S.add("CARD_RETEST_DAYS", 3, "P", "S4 (report median ≤3 d)", "days")
RECOLLECTION_DAYS = _S.add("RECOLLECTION_DAYS", 7, "P", "§1.4 row 4", "days")
DATA_CORRECTION_DAYS = _S.add("DATA_CORRECTION_DAYS", 7, "P", "§1.3 INFO_MISSING", "days")
NOTIFY_WORKING_DAYS = _S.add("NOTIFY_WORKING_DAYS", 2, "P", "§1.4 row 5", "working days")
RECALL_SAMPLE_DAYS = _S.add("RECALL_SAMPLE_DAYS", 7, "P", "§1.4 row 6", "days")
DIAGNOSIS_DAYS = _S.add("DIAGNOSIS_DAYS", 7, "P", "§1.4 row 7", "days")
BH4_TEST_DAYS = _S.add("BH4_TEST_DAYS", 7, "P", "S18 (every HPA tested for BH4D)", "days")
TREATMENT_START_DAYS = _S.add("TREATMENT_START_DAYS", 2, "P", "S19 (start immediately)", "days")
TREATED_BY_AGE_DAYS = _S.add("TREATED_BY_AGE_DAYS", 30, "S", "S17", "days of age")
TREATMENT_ESCALATE_DAYS = _S.add("TREATMENT_ESCALATE_AFTER_DAYS", 0, "S", "S17 (red flag at 30 d)", "days")
FIRST_RECHECK_DAYS = _S.add("FIRST_RECHECK_DAYS", 14, "R", "§1.5 (2010 规范)", "days")
FOLLOW_UP_INTERVAL_DAYS = _S.add("FOLLOW_UP_INTERVAL_DAYS", 90, "R", "§1.5 CH: 2–3 monthly in year 1", "days")
# fmt: on

# What the screens say about this program's notices; %(KEY)s is the value in force of setting KEY.
MESSAGES = {
    "NO_ANALYTE": Message("请至少填写一项检测指标结果。", "Enter at least one analyte result."),
    "AFTER_LATE_LIMIT": Message(
        "出生%(LATE_LIMIT_AGE_DAYS)s天后采血：不属于及时筛查。",
        "Collected after day %(LATE_LIMIT_AGE_DAYS)s: not a timely screen.",
    ),
    "AFTER_DAY_7": Message(
        "无特殊情况却在出生%(COLLECTION_DUE_AGE_DAYS)s天后采血。",
        "Collected after day %(COLLECTION_DUE_AGE_DAYS)s without a special circumstance.",
    ),
    "BEFORE_72H": Message(
        "出生不满%(MIN_COLLECTION_AGE_HOURS)s小时采血。",
        "Collected before %(MIN_COLLECTION_AGE_HOURS)s hours of age.",
    ),
    "INFO_MISSING": Message("采血卡关键信息缺失。", "Key data are missing on the card."),
}

LATE_COLLECTION = "LATE_COLLECTION"  # special circumstances: collection allowed up to day 20

# (value field, retest field, finding, cut-off(s)); G6PD is the one flagged *below* its cut-off.
_ANALYTES = (
    ("phe_umol_l", "phe_retest_umol_l", "PHE_HIGH"),
    ("tsh_miu_l", "tsh_retest_miu_l", "TSH_HIGH"),
    ("ohp17_nmol_l", "ohp17_retest_nmol_l", "OHP17_HIGH"),
    ("g6pd_u_g_hb", "g6pd_retest_u_g_hb", "G6PD_LOW"),
)

SPECIAL_CIRCUMSTANCES = (
    Choice("PRETERM", "早产", "Preterm"),
    Choice("LOW_BIRTH_WEIGHT", "低出生体重", "Low birth weight"),
    Choice("UNDER_TREATMENT", "正在治疗", "Under treatment"),
    Choice("EARLY_DISCHARGE", "提前出院", "Early discharge"),
)


def _analyte(name: str, zh: str, en: str, unit: str, top: int) -> Field:
    return Field(name, FieldKind.DECIMAL, zh, en, unit, Decimal(0), Decimal(top), required=False)


_COLLECTED = ("collection_status", ("COLLECTED",))
_ABNORMAL = (Choice("NORMAL", "未见异常", "Normal"), Choice("ABNORMAL", "异常", "Abnormal"))
_D, _I, _C, _B = FieldKind.DECIMAL, FieldKind.INTEGER, FieldKind.CHOICE, FieldKind.BOOLEAN

# fmt: off
FIELDS = (
    Field("collection_status", _C, "采血状态", "Collection status", choices=(
        Choice("COLLECTED", "已采血", "Collected"),
        Choice("NOT_COLLECTED", "未采", "Not collected"),
        Choice("DELAYED", "延期采血", "Delayed collection"),
        Choice("REFUSED", "知情不同意", "Refused (signed)"),
    )),
    Field("collected_at", FieldKind.DATETIME, "采血时间", "Collection time", required_when=_COLLECTED,
          not_before_birth=True),
    Field("appointment_on", FieldKind.DATE, "预约采血日期", "Appointment date", required=False),
    Field("special_circumstance", _C, "特殊情况", "Special circumstance", choices=SPECIAL_CIRCUMSTANCES,
          required=False),
    Field("feeds_count", _I, "哺乳次数", "Feeds before collection", "", 0, 60, required_when=_COLLECTED),
    Field("spot_count", _I, "血斑数", "Blood spots", "", 0, 10, required_when=_COLLECTED),
    Field("specimen_quality", _C, "血片质量", "Specimen quality", required_when=_COLLECTED, choices=(
        Choice("ADEQUATE", "合格", "Adequate"),
        Choice("SPOT_TOO_SMALL", "血斑直径<8 mm", "Spot under 8 mm"),
        Choice("NOT_SOAKED_THROUGH", "未渗透/正反面不一致", "Not soaked through"),
        Choice("CONTAMINATED", "污染", "Contaminated"),
        Choice("SERUM_RING", "血清圈", "Serum ring"),
        Choice("OTHER_DEFECT", "其他不合格", "Other defect"),
    )),
    Field("key_info_complete", _B, "重要信息完整", "Key data complete", required_when=_COLLECTED),
    Field("gestational_weeks", _I, "胎龄(周)", "Gestational age", "weeks", 20, 45, required=False),
    Field("birth_weight_g", _I, "出生体重", "Birth weight", "g", 300, 6500, required=False),
    _analyte("phe_umol_l", "苯丙氨酸", "Phe", "µmol/L", 5000),
    _analyte("phe_retest_umol_l", "苯丙氨酸(原血片复查)", "Phe, original-card retest", "µmol/L", 5000),
    _analyte("tsh_miu_l", "促甲状腺素", "TSH", "mIU/L", 1000),
    _analyte("tsh_retest_miu_l", "促甲状腺素(原血片复查)", "TSH, original-card retest", "mIU/L", 1000),
    _analyte("ohp17_nmol_l", "17-羟孕酮", "17-OHP", "nmol/L", 2000),
    _analyte("ohp17_retest_nmol_l", "17-羟孕酮(原血片复查)", "17-OHP, original-card retest", "nmol/L", 2000),
    _analyte("g6pd_u_g_hb", "G6PD活性", "G6PD activity", "U/g Hb", 60),
    _analyte("g6pd_retest_u_g_hb", "G6PD活性(原血片复查)", "G6PD, original-card retest", "U/g Hb", 60),
    Field("msms_result", _C, "串联质谱结果", "MS/MS panel (lab cut-offs)", choices=_ABNORMAL, required=False),
)
# fmt: on


def _is_preterm_or_lbw(values: Mapping[str, object], settings: SettingValues) -> bool:
    weeks, grams = values["gestational_weeks"], values["birth_weight_g"]
    return (
        values["special_circumstance"] in ("PRETERM", "LOW_BIRTH_WEIGHT")
        or (isinstance(weeks, int) and weeks < settings.whole(PRETERM_BELOW_WEEKS))
        or (isinstance(grams, int) and grams < settings.whole(LBW_BELOW_GRAMS))
    )


def _abnormal(name: str, value: Decimal, values: Mapping[str, object], settings: SettingValues) -> bool:
    if name.startswith("phe"):
        return value > settings.number(PHE_CUTOFF)
    if name.startswith("tsh"):
        return value > settings.number(TSH_CUTOFF)
    if name.startswith("ohp17"):
        # 17-OHP runs high in preterm and low-birth-weight infants, hence the stratified cut-off [S15]
        cutoff = OHP17_PRETERM_CUTOFF if _is_preterm_or_lbw(values, settings) else OHP17_TERM_CUTOFF
        return value >= settings.number(cutoff)
    return value < settings.number(G6PD_CUTOFF)


def _classify_analytes(values: Mapping[str, object], settings: SettingValues) -> tuple[list[str], list[str]]:
    """Return (still abnormal after the original-card retest, awaiting that retest) findings."""
    confirmed: list[str] = []
    pending: list[str] = []
    for name, retest_name, finding in _ANALYTES:
        value, retest = values[name], values[retest_name]
        if not isinstance(value, Decimal) or not _abnormal(name, value, values, settings):
            continue
        if retest is None:
            pending.append(finding)
        elif isinstance(retest, Decimal) and _abnormal(name, retest, values, settings):
            confirmed.append(finding)
    if values["msms_result"] == "ABNORMAL":
        pending.append("MSMS_ABNORMAL")  # the lab retests the card with its own analyte cut-offs
    return confirmed, pending


def classify_heel_blood(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify a heel-blood card: timing, specimen quality, then each analyte against its cut-off."""
    status = values["collection_status"]
    if status == "REFUSED":
        return Verdict("REFUSED")
    if status == "NOT_COLLECTED":
        return Verdict("NOT_COLLECTED")
    if status == "DELAYED":
        appointment = end_of_local_day(values["appointment_on"])
        return Verdict("DELAYED", track=LATE_COLLECTION, scheduled_due_at=appointment)
    collected_at = values["collected_at"]
    assert isinstance(collected_at, datetime)
    hours, approximate = hours_since_birth(subject, collected_at)
    if not any(values[name] is not None for name, _, _ in _ANALYTES) and values["msms_result"] is None:
        return Verdict(
            None, errors=(FieldError(None, "NO_ANALYTE", "at least one analyte result is required"),)
        )
    warnings: list[Notice] = [approximate_birth_notice("collected_at")] if approximate else []
    findings: list[str] = []
    late_day, due_day = settings.whole(LATE_LIMIT_AGE_DAYS), settings.whole(COLLECTION_DUE_AGE_DAYS)
    # Day 20 counts whole, as the screening-rate rule counts it (含20 d, [S3]): local calendar days of age.
    if (local_date(collected_at) - subject.birth_on).days > late_day:
        findings.append("NOT_WITHIN_20_DAYS")  # still interpreted, but not "screened" for the rate [S3]
        message = f"collected after day {late_day}: not a timely screen"
        warnings.append(Notice("collected_at", "AFTER_LATE_LIMIT", message))
    elif hours > due_day * 24 and values["special_circumstance"] is None:
        message = f"collected after day {due_day} without a special circumstance"
        warnings.append(Notice("collected_at", "AFTER_DAY_7", message))
    spots = values["spot_count"]
    if values["specimen_quality"] != "ADEQUATE" or (
        isinstance(spots, int) and spots < settings.whole(MIN_SPOTS)
    ):
        return Verdict("UNSATISFACTORY", (*findings, "SPECIMEN_DEFECT"), tuple(warnings))
    confirmed, pending = _classify_analytes(values, settings)
    too_early = hours < settings.whole(MIN_COLLECTION_AGE_HOURS)
    feeds = values["feeds_count"]
    underfed = isinstance(feeds, int) and feeds < settings.whole(MIN_FEEDS)
    if too_early:
        warnings.append(
            Notice(
                "collected_at",
                "BEFORE_72H",
                f"collected before {settings.whole(MIN_COLLECTION_AGE_HOURS)} h of age",
            )
        )
    if values["key_info_complete"] is False:
        warnings.append(Notice("key_info_complete", "INFO_MISSING", "key data missing on the card"))
    # A raised value is acted on whatever the timing; a normal one proves nothing before 72 h or 6 feeds.
    if confirmed:
        return Verdict("RECALL", tuple(findings + confirmed + pending), tuple(warnings))
    if pending:
        return Verdict("SUSPECTED_POSITIVE", tuple(findings + pending), tuple(warnings))
    if too_early or underfed:
        reason = "COLLECTED_TOO_EARLY" if too_early else "INSUFFICIENT_FEEDING"
        return Verdict("UNSATISFACTORY", (*findings, reason), tuple(warnings))
    if values["key_info_complete"] is False:
        return Verdict("INFO_MISSING", tuple(findings), tuple(warnings))
    return Verdict("NORMAL", tuple(findings), tuple(warnings))


_POS, _UNSAT, _MISSED = (
    CaseReason.POSITIVE_RESULT,
    CaseReason.UNSATISFACTORY_SPECIMEN,
    CaseReason.MISSED_SCREENING,
)

# fmt: off
HEEL_BLOOD_SPOT = ScreeningTest(
    "HEEL_BLOOD_SPOT", "足跟血筛查", "Heel-prick blood spot", FIELDS,
    result_codes=(
        ResultCode("NORMAL", "正常/阴性", "Normal"),
        ResultCode("UNSATISFACTORY", "不合格血片", "Unsatisfactory card", True, _UNSAT, "RECOLLECTION"),
        ResultCode("INFO_MISSING", "重要信息遗漏", "Key data missing", True, _UNSAT, "DATA_CORRECTION"),
        ResultCode("SUSPECTED_POSITIVE", "初筛可疑阳性", "Suspected positive", True, _POS, "CARD_RETEST"),
        ResultCode("RECALL", "召回复查", "Recall", True, _POS, "NOTIFY"),
        ResultCode("NOT_COLLECTED", "未采血", "Not collected", True, _MISSED, "COLLECTION"),
        ResultCode("DELAYED", "延期采血", "Delayed collection", True, _MISSED, "COLLECTION"),
        ResultCode("REFUSED", "知情不同意", "Refused"),
    ),
    classify=classify_heel_blood,
    findings=(
        Choice("PHE_HIGH", "苯丙氨酸增高", "Phe above cut-off"),
        Choice("TSH_HIGH", "TSH增高", "TSH above cut-off"),
        Choice("OHP17_HIGH", "17-OHP增高", "17-OHP above cut-off"),
        Choice("G6PD_LOW", "G6PD活性降低", "G6PD activity below cut-off"),
        Choice("MSMS_ABNORMAL", "串联质谱异常", "MS/MS abnormal"),
        Choice("SPECIMEN_DEFECT", "血片不合格", "Specimen defect"),
        Choice("COLLECTED_TOO_EARLY", "采血过早(<72 h)", "Collected before 72 h"),
        Choice("INSUFFICIENT_FEEDING", "哺乳不足6次", "Fewer than 6 feeds"),
        Choice("NOT_WITHIN_20_DAYS", "超过20天采血", "Collected after day 20"),
    ),
    performed_field="collected_at",
)

_TREAT_NOW = within(TREATMENT_START_DAYS)  # out of the newborn window: start promptly, no age limit
_CONFIRMED, _MONITORED = ClosureOutcome.CONFIRMED_TREATED, ClosureOutcome.CONFIRMED_MONITORED
_DAYS = TimeUnit.DAYS

STEPS = (
    Step("COLLECTION", "采血", "Blood-spot collection", StepKind.SCREEN, by_age(COLLECTION_DUE_AGE_DAYS), (
        close("COLLECTED", "已采血", "Collected", ClosureOutcome.SCREENING_COMPLETED),
    ), track_deadlines=((LATE_COLLECTION, by_age(LATE_LIMIT_AGE_DAYS)),), accepts_scheduled_due=True),
    Step("RECOLLECTION", "补采血片", "Re-collection", StepKind.REPEAT_TEST,
         within_and_by_age(RECOLLECTION_DAYS, _DAYS, LATE_LIMIT_AGE_DAYS), (
        close("RECOLLECTED", "已补采", "Re-collected", ClosureOutcome.SCREENING_COMPLETED),
    )),
    Step("DATA_CORRECTION", "信息补正", "Data correction", StepKind.DATA_CORRECTION,
         within(DATA_CORRECTION_DAYS), (
        close("CORRECTED", "已补正", "Corrected", ClosureOutcome.SCREENING_COMPLETED),
    )),
    Step("CARD_RETEST", "原血片复查", "Original-card retest", StepKind.REPEAT_TEST,
         within(CARD_RETEST_DAYS), (
        goto("STILL_ABOVE_CUTOFF", "复查仍超出切值", "Still beyond cut-off", "NOTIFY"),
        close("BELOW_CUTOFF", "复查正常", "Retest normal", ClosureOutcome.RESCREEN_NORMAL),
    )),
    Step("NOTIFY", "通知家长", "Notify the family", StepKind.NOTIFY,
         within(NOTIFY_WORKING_DAYS, TimeUnit.WORKING_DAYS), (
        goto("NOTIFIED", "已通知", "Notified", "RECALL_SAMPLING"),
    )),
    Step("RECALL_SAMPLING", "召回采样", "Recall sample", StepKind.RECALL, within(RECALL_SAMPLE_DAYS), (
        goto("SAMPLED", "已采样", "Sampled", "DIAGNOSIS"),
    )),
    Step("DIAGNOSIS", "确诊", "Confirmatory diagnosis", StepKind.DIAGNOSIS,
         within_and_by_age(DIAGNOSIS_DAYS, _DAYS, TREATED_BY_AGE_DAYS), (
        goto("PKU_CLASSIC", "经典型PKU", "Classic PKU", "BH4_TESTING"),
        goto("PKU_MILD", "轻度PKU", "Mild PKU", "BH4_TESTING"),
        goto("HPA_MILD", "轻度HPA", "Mild HPA", "BH4_TESTING"),
        goto("BH4D", "BH4缺乏症", "BH4 deficiency", "TREATMENT"),
        goto("CH_PERMANENT", "先天性甲低", "Congenital hypothyroidism", "TREATMENT"),
        goto("HYPERTHYROTROPINAEMIA", "高TSH血症", "High-TSH state", "FOLLOW_UP"),
        goto("CAH_SW", "CAH失盐型", "CAH, salt-wasting", "TREATMENT"),
        goto("CAH_SV", "CAH单纯男性化型", "CAH, simple virilising", "TREATMENT"),
        goto("G6PD_DEF", "G6PD缺乏症", "G6PD deficiency", "TREATMENT"),
        goto("MSMS_DISORDER", "串联质谱疾病", "MS/MS disorder", "TREATMENT"),
        close("EXCLUDED", "排除", "Excluded", ClosureOutcome.NOT_CONFIRMED),
        close("FALSE_POSITIVE", "假阳性", "False positive", ClosureOutcome.NOT_CONFIRMED),
    )),
    Step("BH4_TESTING", "BH4缺乏症鉴别", "BH4 deficiency testing", StepKind.DIAGNOSIS,
         within_and_by_age(BH4_TEST_DAYS, _DAYS, TREATED_BY_AGE_DAYS), (
        goto("BH4D", "BH4缺乏症", "BH4 deficiency", "TREATMENT"),
        goto("DIET_NEEDED", "需低苯丙氨酸饮食", "Low-Phe diet needed", "TREATMENT"),
        goto("MONITOR_ONLY", "仅需监测", "Monitoring only", "FOLLOW_UP"),
    )),
    Step("TREATMENT", "开始治疗", "Start treatment", StepKind.TREATMENT,
         within_and_by_age(TREATMENT_START_DAYS, _DAYS, TREATED_BY_AGE_DAYS), (
        goto("STARTED", "已开始治疗", "Treatment started", "FOLLOW_UP", deadline=within(FIRST_RECHECK_DAYS)),
        close("EDUCATION_GIVEN", "已健康指导(G6PD)", "Education given (G6PD)", _CONFIRMED),
    ), escalate_after_days=TREATMENT_ESCALATE_DAYS),
    Step("FOLLOW_UP", "随访", "Follow-up visit", StepKind.FOLLOW_UP, within(FOLLOW_UP_INTERVAL_DAYS), (
        goto("VISIT_DONE", "已随访", "Visit done", "FOLLOW_UP"),
        goto("NEEDS_TREATMENT", "需要治疗", "Treatment needed", "TREATMENT", deadline=_TREAT_NOW),
        close("NORMALISED", "恢复正常", "Normalised", _MONITORED),
        close("TRANSIENT_CH_CONFIRMED", "暂时性甲低", "Transient CH confirmed", _CONFIRMED),
        close("LONG_TERM_MANAGEMENT", "转入长期管理", "Under long-term management", _CONFIRMED),
    ), accepts_scheduled_due=True),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)
_SCREENING_TARGET = _S.add("TARGET_SCREENING_RATE", "98", "R", "健康儿童行动提升计划 2021–25", "%")
_UNSATISFACTORY_TARGET = _S.add("TARGET_UNSATISFACTORY_CARD_RATE", "1", "S", "S4", "%")
_MISSING_TARGET = _S.add("TARGET_INFO_MISSING_RATE", "1", "S", "S4", "%")
_TRANSPORT_TARGET = _S.add("TARGET_TRANSPORT_TIMELY_RATE", "95", "S", "S4", "%")
_REPORT_TARGET = _S.add("TARGET_REPORT_TIMELY_RATE", "95", "S", "S4", "%")
_LTFU_TARGET = _S.add("TARGET_LTFU_RATE", "1", "S", "S4", "%")
_RECALL_TARGET = _S.add("TARGET_RECALL_RATE", "95", "S", "S5,S7 (local 95–99%)", "%")
_TREATMENT_TARGET = _S.add("TARGET_TREATMENT_RATE", "95", "P", "§1.6 row 12 (local)", "%")
_TREAT_AGE_TARGET = _S.add("TARGET_MEDIAN_TREATMENT_AGE_DAYS", 30, "S", "S17,S19 (≤14–30 d)", "days")
_BELOW, _AT_MOST = TargetComparison.BELOW, TargetComparison.AT_MOST

_DISEASES = ("PKU_CLASSIC", "PKU_MILD", "HPA_MILD", "BH4D", "CH_PERMANENT", "CAH_SW", "CAH_SV", "G6PD_DEF",
             "MSMS_DISORDER")
MILESTONES = (
    sets(M.POSITIVE, "HEEL_BLOOD_SPOT", "RECALL"),  # still beyond the cut-off: the family is recalled
    sets(M.POSITIVE, "CARD_RETEST", "STILL_ABOVE_CUTOFF"),
    sets(M.RECALLED, "RECALL_SAMPLING"),
    sets(M.DIAGNOSED, "DIAGNOSIS"),
    sets(M.CONFIRMED, "DIAGNOSIS", *_DISEASES),
    sets(M.TREATED, "TREATMENT", "STARTED", "EDUCATION_GIVEN"),  # G6PD deficiency is managed by education
)

_CARDS = event_period(M.SCREENED)
_FIRST_CARD = ("counted on each newborn's first card: a re-collected card belongs to the same episode, "
               "which the fact table keeps as one row")
_VALID_BY_DAY_20 = Or(
    Within(M.SCREENED, days=LATE_LIMIT_AGE_DAYS) & ~ResultIs(M.SCREENED, "UNSATISFACTORY"),
    Within("RECOLLECTION", days=LATE_LIMIT_AGE_DAYS),
)
_RECALLED_FOR = ("suspected positives still beyond the cut-off after the original-card retest: those whose "
                 "family is recalled")
_NEEDS_TREATMENT = Has(M.CONFIRMED) & ~ResultIs("BH4_TESTING", "MONITOR_ONLY")

INDICATORS = (
    unsupported("EDUCATION_RATE", "新筛健康教育知晓率", "Education/consent rate",
                "Signed consent forms (agree + refuse)", "Live births", BIRTH_COHORT,
                "signed consent is recorded only when the family refuses (知情不同意); agreements are "
                "not kept", "仅在家属拒绝时记录签字（知情不同意），同意书未保存",
                source="S3"),
    Indicator("SCREENING_RATE", "筛查率", "Screening rate", "Newborns validly screened within 20 d of birth",
              "Live births in the same period", BIRTH_COHORT, num=_VALID_BY_DAY_20, den=Has(M.BORN),
              target=_SCREENING_TARGET, source="S3"),
    Indicator("UNSATISFACTORY_CARD_RATE", "不合格血片率", "Unsatisfactory card rate", "Unsatisfactory cards",
              "Cards received", _CARDS, num=ResultIs(M.SCREENED, "UNSATISFACTORY"), den=Has(M.SCREENED),
              target=_UNSATISFACTORY_TARGET, comparison=_BELOW, source="S4", note=_FIRST_CARD),
    Indicator("INFO_MISSING_RATE", "重要信息遗漏血片百分比", "Cards with key data missing",
              "Cards missing key data", "Cards received", _CARDS, num=ResultIs(M.SCREENED, "INFO_MISSING"),
              den=Has(M.SCREENED), target=_MISSING_TARGET, comparison=_BELOW, source="S4", note=_FIRST_CARD),
    unsupported("TRANSPORT_TIMELY_RATE", "检验前血片周转及时率", "Timely card transport",
                "Cards received within 5 working days", "Cards received", _CARDS,
                "a card's dispatch and laboratory receipt times are not recorded, only its collection time",
                "未记录血片寄出时间和实验室接收时间，仅记录采血时间", target=_TRANSPORT_TARGET, source="S4"),
    unsupported("REPORT_TIMELY_RATE", "检验报告发出时间及时率", "Timely reports",
                "Reports issued within the lab limit", "Reports", _CARDS,
                "the laboratory's receipt and report times are not recorded, only when the result was "
                "entered", "未记录实验室接收时间和报告发出时间，仅记录结果录入时间",
                target=_REPORT_TARGET, source="S4"),
    Indicator("LTFU_RATE", "失访率", "Loss to follow-up", "Lost to follow-up", "Suspected positives",
              BIRTH_COHORT, num=LOST, den=Has(M.POSITIVE), target=_LTFU_TARGET, comparison=_BELOW,
              source="S4", note=_RECALLED_FOR),
    Indicator("RECALL_RATE", "召回率", "Recall rate", "Suspected positives who came back for repeat testing",
              "Suspected positives", BIRTH_COHORT, num=Has(M.RECALLED), den=Has(M.POSITIVE),
              target=_RECALL_TARGET, source="S5,S7", note=_RECALLED_FOR),
    Indicator("PPV", "阳性预测值", "Positive predictive value", "Confirmed cases", "Recalled positives",
              BIRTH_COHORT, num=Has(M.CONFIRMED), den=Has(M.RECALLED), source="P"),
    Indicator("DETECTION_RATE", "检出率", "Detection rate", "Confirmed cases", "Screened", BIRTH_COHORT,
              num=Has(M.CONFIRMED), den=Has(M.SCREENED), unit=IndicatorUnit.ONE_IN_N, source="S13,S26"),
    Indicator("TREATMENT_RATE", "治疗率", "Treatment rate", "Confirmed cases on treatment", "Confirmed cases",
              BIRTH_COHORT, num=Has(M.TREATED), den=_NEEDS_TREATMENT, target=_TREATMENT_TARGET, source="P",
              note="mild HPA found to need monitoring only (BH4 testing) is not in the denominator"),
    unsupported("REGULAR_FOLLOW_UP_RATE", "规范随访率", "Regular follow-up rate",
                "Cases with all scheduled checks done in the period", "Cases under management",
                event_period(M.TREATED),
                "each case's scheduled checks are not kept per period: the fact table holds milestones, "
                "not every visit of long-term management",
                "未按统计期保存各个案的定期复查：事实表只记录关键节点，不记录长期管理中的每次随访",
                source="P"),
    Indicator("MEDIAN_TREATMENT_AGE", "开始治疗中位日龄", "Median age at treatment start",
              "Age at first treatment", "Treated cases", BIRTH_COHORT, den=Has(M.TREATED),
              measure=DaysBetween(M.TREATED), unit=IndicatorUnit.DAYS, target=_TREAT_AGE_TARGET,
              comparison=_AT_MOST, source="S17,S19"),
)
# fmt: on

PROGRAM = Program(
    code=CODE,
    zh="新生儿遗传代谢病筛查",
    en="Newborn metabolic screening",
    rule_version=f"{CODE}/2026.1",
    eligibility=Eligibility((SubjectKind.NEWBORN,), description="All live births in the district [S1]"),
    tests=(HEEL_BLOOD_SPOT,),
    steps=STEPS,
    tracks=(Choice(LATE_COLLECTION, "延期采血(≤20天)", "Late collection (by day 20)"),),
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    screening_window=ScreeningWindow(
        test="HEEL_BLOOD_SPOT",
        earliest_age=MIN_COLLECTION_AGE_HOURS,
        due_age=COLLECTION_DUE_AGE_DAYS,
        due_unit=TimeUnit.DAYS,
        missed_step="COLLECTION",
        missed_track=LATE_COLLECTION,
    ),
    settings=_S.freeze(),
    messages=MESSAGES,
    sources="S1–S21",
)
