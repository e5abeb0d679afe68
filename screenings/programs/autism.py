"""Autism screening and intervention for children aged 0–6 (0～6岁儿童孤独症筛查干预), programs.md §5."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from screenings.engine import (
    CaseReason,
    Choice,
    ClosureOutcome,
    CohortBasis,
    Eligibility,
    Field,
    FieldError,
    FieldKind,
    Message,
    Notice,
    Program,
    ResultCode,
    ScreeningTest,
    SettingBook,
    SettingValues,
    Step,
    StepKind,
    Subject,
    SubjectKind,
    TimeUnit,
    Verdict,
    add_calendar_months,
    close,
    completed_age,
    goto,
    within,
)
from screenings.engine.indicators import (
    Counting,
    Indicator,
    Period,
    Population,
    event_period,
)
from screenings.engine.milestones import Milestone as M
from screenings.engine.milestones import sets
from screenings.engine.predicates import (
    Has,
    ResultIs,
)

from ._common import standard_policies

CODE = "AUTISM"
_S = SettingBook(CODE)

MIN_AGE_YEARS = _S.add("ELIGIBLE_MIN_AGE_YEARS", 0, "S", "S63,S64", "years")
MAX_AGE_YEARS = _S.add("ELIGIBLE_MAX_AGE_YEARS", 6, "S", "S63,S64", "years")
MCHAT_MEDIUM_FROM = _S.add("MCHAT_MEDIUM_RISK_FROM", 3, "S", "S74,S75", "points")
MCHAT_HIGH_FROM = _S.add("MCHAT_HIGH_RISK_FROM", 8, "S", "S74,S75", "points")
MCHAT_FOLLOW_UP_POSITIVE_FROM = _S.add("MCHAT_FOLLOW_UP_POSITIVE_FROM", 2, "S", "S74", "points")
MCHAT_MIN_AGE_MONTHS = _S.add("MCHAT_MIN_AGE_MONTHS", 16, "R", "§5.2 (tool choice)", "months")
MCHAT_MAX_AGE_MONTHS = _S.add("MCHAT_MAX_AGE_MONTHS", 30, "R", "§5.2 (tool choice)", "months")
MCHAT_RESCREEN_AGE_MONTHS = _S.add("MCHAT_LOW_RISK_RESCREEN_AGE_MONTHS", 24, "S", "S74", "months")
REFERRAL_HOURS = _S.add("REFERRAL_HOURS", 24, "P", "§5.3 row 2 (same day)", "h")
RESCREEN_DAYS = _S.add("RESCREEN_DAYS", 30, "P", "§5.3 row 3", "days")
FOLLOW_UP_INTERVIEW_DAYS = _S.add("FOLLOW_UP_INTERVIEW_DAYS", 14, "P", "§5.3 row 4", "days")
DIAGNOSIS_DAYS = _S.add("DIAGNOSIS_DAYS", 60, "P", "§5.3 row 5 (S67 green channel)", "days")
INTERVENTION_DAYS = _S.add("INTERVENTION_DAYS", 30, "P", "§5.3 row 6", "days")
REASSESSMENT_MONTHS = _S.add("REASSESSMENT_MONTHS", 6, "P", "§5.3 row 7 (every 3–6 months)", "months")

# The 11 age points of the initial screen [S68], as (code, months of age).
AGE_POINTS = (
    ("M03", 3), ("M06", 6), ("M08", 8), ("M12", 12), ("M18", 18), ("M24", 24), ("M30", 30), ("M36", 36),
    ("Y4", 48), ("Y5", 60), ("Y6", 72),
)  # fmt: skip

# 儿童心理行为发育问题预警征象筛查表, four signs per age point: recalled from 国家基本公共卫生服务规范
# (第三版) [R]; programs.md names the checklist [S68][S69] but not its items.
_SIGNS = {
    "M03": (
        "对很大声音没有反应",
        "逗引时不发音或不会微笑",
        "不注视人脸，不追视移动人或物品",
        "俯卧时不会抬头",
    ),
    "M06": ("发音少，不会笑出声", "不会伸手抓物", "紧握拳松不开", "不能扶坐"),
    "M08": ("听到声音无应答", "不会区分生人和熟人", "双手间不会传递玩具", "不会独坐"),
    "M12": ("呼唤名字无反应", "不会模仿“再见”或“欢迎”动作", "不会用拇食指对捏小物品", "不会扶物站立"),
    "M18": ("不会有意识叫“爸爸”或“妈妈”", "不会按要求指人或物", "与人无目光交流", "不会独走"),
    "M24": ("不会说3个物品的名称", "不会按吩咐做简单事情", "不会用勺吃饭", "不会扶栏上楼梯/台阶"),
    "M30": ("不会说2～3个字的短语", "兴趣单一、刻板", "不会示意大小便", "不会跑"),
    "M36": ("不会说自己的名字", "不会玩“拿棍当马骑”等假想游戏", "不会模仿画圆", "不会双脚跳"),
    "Y4": ("不会说带形容词的句子", "不能按要求等待或轮流", "不会独立穿衣", "不会单脚站立"),
    "Y5": ("不能简单叙说事情经过", "不知道自己的性别", "不会用筷子吃饭", "不会单脚跳"),
    "Y6": ("不会表达自己的感受或想法", "不会玩角色扮演的集体游戏", "不会画方形", "不会奔跑"),
}
_SIGNS_EN = {
    "M03": ("No response to loud sounds", "No sounds or smile when engaged", "Does not follow faces",
            "Cannot lift head when prone"),
    "M06": ("Few sounds, no laughing", "Does not reach for objects", "Fists stay clenched",
            "Cannot sit supported"),
    "M08": ("No response to voices", "Cannot tell strangers from family", "Does not pass toys hand to hand",
            "Cannot sit alone"),
    "M12": ("No response to own name", "Does not wave bye-bye or clap", "No pincer grasp",
            "Cannot stand holding on"),
    "M18": ("Does not say mama or papa with meaning", "Does not point when asked", "No eye contact",
            "Cannot walk alone"),
    "M24": ("Cannot name 3 objects", "Does not follow simple instructions", "Cannot eat with a spoon",
            "Cannot climb stairs holding a rail"),
    "M30": ("No 2–3 word phrases", "Narrow, rigid interests", "Does not signal toilet needs", "Cannot run"),
    "M36": ("Cannot say own name", "No pretend play", "Cannot copy a circle", "Cannot jump with both feet"),
    "Y4": ("No sentences with adjectives", "Cannot wait or take turns", "Cannot dress alone",
           "Cannot stand on one foot"),
    "Y5": ("Cannot tell what happened", "Does not know own sex", "Cannot use chopsticks", "Cannot hop"),
    "Y6": ("Cannot express feelings or ideas", "No group role play", "Cannot draw a square",
           "Cannot run fast"),
}  # fmt: skip
WARNING_SIGNS = tuple(
    Choice(f"{point}_{i}", zh, en)
    for point, _ in AGE_POINTS
    for i, (zh, en) in enumerate(zip(_SIGNS[point], _SIGNS_EN[point], strict=True), start=1)
)
_AGE_POINT_CHOICES = tuple(
    Choice(code, f"{months}月龄" if code.startswith("M") else f"{months // 12}岁",
           f"{months} months" if code.startswith("M") else f"{months // 12} years")
    for code, months in AGE_POINTS
)  # fmt: skip

MCHAT_ITEMS = tuple(range(1, 21))
MCHAT_REVERSED_ITEMS = frozenset({2, 5, 12})  # "yes" is the risk answer only for these [S74]


def age_point_window(age_point: str, birth_on: date) -> tuple[date, date]:
    """Return the check window of an age point: within the month of age, or before the next birthday."""
    months = dict(AGE_POINTS)[age_point]
    span = 1 if age_point.startswith("M") else 12
    return add_calendar_months(birth_on, months), add_calendar_months(birth_on, months + span)


def score_mchat(answers: Mapping[int, bool]) -> int:
    """Return the M-CHAT-R total: items 2, 5 and 12 score on "yes", every other item on "no"."""
    return sum(1 for item, yes in answers.items() if yes == (item in MCHAT_REVERSED_ITEMS))


def mchat_risk(total: int, settings: SettingValues) -> str:
    """Return LOW (0–2), MEDIUM (3–7) or HIGH (8–20) for an M-CHAT-R total [S74]."""
    if total >= settings.whole(MCHAT_HIGH_FROM):
        return "HIGH"
    if total >= settings.whole(MCHAT_MEDIUM_FROM):
        return "MEDIUM"
    return "LOW"


def classify_initial(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify the warning-sign checklist: any sign for the age point, or any regression, is positive."""
    point = str(values["age_point"])
    signs = values["warning_signs"]
    assert isinstance(signs, tuple)
    foreign = [s for s in signs if not s.startswith(f"{point}_")]
    if foreign:
        message = f"signs {', '.join(foreign)} do not belong to age point {point}"
        return Verdict(None, errors=(FieldError("warning_signs", "WRONG_AGE_POINT", message),))
    warnings = []
    screened_on = values["screened_on"]
    assert isinstance(screened_on, date)
    start, end = age_point_window(point, subject.birth_on)
    if not start <= screened_on < end:
        warnings.append(
            Notice("screened_on", "OUTSIDE_CHECK_WINDOW", f"screened outside the {point} check window")
        )
    findings = signs + (("REGRESSION",) if values["regression"] else ())
    return Verdict("INITIAL_POS" if findings else "INITIAL_NEG", findings, tuple(warnings))


def _mchat_answers(values: Mapping[str, object]) -> dict[int, bool]:
    return {i: v for i in MCHAT_ITEMS if isinstance(v := values[f"mchat_{i:02d}"], bool)}


def classify_rescreen(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    """Classify the rescreen: observed abnormality, a risk scale or a developmental delay is positive."""
    answers = _mchat_answers(values)
    if answers and len(answers) < len(MCHAT_ITEMS):
        missing = ", ".join(str(i) for i in MCHAT_ITEMS if i not in answers)
        return Verdict(
            None, errors=(FieldError(None, "MCHAT_INCOMPLETE", f"M-CHAT items {missing} unanswered"),)
        )
    flags = [
        f for f in ("clinical_abnormality", "other_scale_risk", "developmental_delay") if values[f] is True
    ]
    if not answers and all(
        values[f] is None for f in ("clinical_abnormality", "other_scale_risk", "developmental_delay")
    ):
        return Verdict(
            None, errors=(FieldError(None, "NO_TOOL", "record at least one rescreen tool's result"),)
        )
    findings: list[str] = [f.upper() for f in flags]
    warnings: list[Notice] = []
    mchat_positive: bool | None = False
    if answers:
        screened_on = values["screened_on"]
        assert isinstance(screened_on, date)
        months = completed_age(subject.birth_on, screened_on, TimeUnit.MONTHS)
        low, high = settings.whole(MCHAT_MIN_AGE_MONTHS), settings.whole(MCHAT_MAX_AGE_MONTHS)
        if not low <= months <= high:
            warnings.append(
                Notice(
                    "mchat_01", "MCHAT_AGE", f"M-CHAT-R/F is validated for {low}–{high} months, not {months}"
                )
            )
        risk = mchat_risk(score_mchat(answers), settings)
        findings.append(f"MCHAT_{risk}")
        follow_up = values["mchat_follow_up_score"]
        if risk == "HIGH":
            mchat_positive = True  # refer at once; the follow-up interview may be skipped
        elif risk == "MEDIUM":
            mchat_positive = (
                None if follow_up is None else follow_up >= settings.whole(MCHAT_FOLLOW_UP_POSITIVE_FROM)
            )
        elif months < settings.whole(MCHAT_RESCREEN_AGE_MONTHS):
            warnings.append(
                Notice(
                    None,
                    "MCHAT_RESCREEN_AT_24M",
                    f"low risk: rescreen after {settings.whole(MCHAT_RESCREEN_AGE_MONTHS)} months of age",
                )
            )
    if flags or mchat_positive:
        return Verdict("RESCREEN_POS", tuple(findings), tuple(warnings))
    if mchat_positive is None:
        return Verdict("FOLLOW_UP_INTERVIEW_NEEDED", tuple(findings), tuple(warnings))
    return Verdict("RESCREEN_NEG", tuple(findings), tuple(warnings))


_POS = CaseReason.POSITIVE_RESULT
_SCREENED_ON = Field("screened_on", FieldKind.DATE, "筛查日期", "Screening date")

# fmt: off
INITIAL = ScreeningTest("INITIAL", "初筛(预警征象)", "Initial screen (warning signs)", (
    _SCREENED_ON,
    Field("age_point", FieldKind.CHOICE, "筛查月龄", "Age point", choices=_AGE_POINT_CHOICES),
    Field("warning_signs", FieldKind.MULTI_CHOICE, "阳性预警征象", "Warning signs present",
          choices=WARNING_SIGNS, required=False),
    Field("regression", FieldKind.BOOLEAN, "语言或社交能力倒退", "Loss of language or social skills"),
), (
    ResultCode("INITIAL_NEG", "初筛阴性", "Initial screen negative"),
    ResultCode("INITIAL_POS", "初筛阳性", "Initial screen positive", True, _POS, "REFERRAL"),
), classify_initial, (*WARNING_SIGNS, Choice("REGRESSION", "能力倒退", "Regression")), "screened_on")

RESCREEN = ScreeningTest("RESCREEN", "复筛", "Rescreen", (
    _SCREENED_ON,
    *(Field(f"mchat_{i:02d}", FieldKind.BOOLEAN, f"M-CHAT第{i}题(是)", f"M-CHAT-R item {i} answered yes",
            required=False) for i in MCHAT_ITEMS),
    Field("mchat_follow_up_score", FieldKind.INTEGER, "M-CHAT后续访谈得分", "M-CHAT follow-up score", "",
          0, 20, required=False),
    Field("other_scale_risk", FieldKind.BOOLEAN, "其他量表提示风险", "Other scale indicates risk",
          required=False),
    Field("developmental_delay", FieldKind.BOOLEAN, "儿心量表提示发育落后",
          "Developmental delay (儿心量表-II)", required=False),
    Field("clinical_abnormality", FieldKind.BOOLEAN, "观察到异常", "Observed abnormality", required=False),
), (
    ResultCode("RESCREEN_NEG", "复筛阴性", "Rescreen negative"),
    ResultCode("RESCREEN_POS", "复筛阳性", "Rescreen positive", True, _POS, "DIAGNOSIS"),
    ResultCode("FOLLOW_UP_INTERVIEW_NEEDED", "需M-CHAT后续访谈", "M-CHAT follow-up interview needed", True,
               _POS, "FOLLOW_UP_INTERVIEW"),
), classify_rescreen, (
    Choice("MCHAT_LOW", "M-CHAT低风险", "M-CHAT low risk"),
    Choice("MCHAT_MEDIUM", "M-CHAT中风险", "M-CHAT medium risk"),
    Choice("MCHAT_HIGH", "M-CHAT高风险", "M-CHAT high risk"),
    Choice("CLINICAL_ABNORMALITY", "观察到异常", "Observed abnormality"),
    Choice("OTHER_SCALE_RISK", "其他量表提示风险", "Other scale indicates risk"),
    Choice("DEVELOPMENTAL_DELAY", "发育落后", "Developmental delay"),
), "screened_on")

_DIAGNOSES = (("ASD", "孤独症谱系障碍", "Autism spectrum disorder"), ("GDD", "全面发育迟缓", "Global delay"),
              ("DLD", "发育性语言障碍", "Developmental language disorder"),
              ("OTHER_DEVELOPMENTAL", "其他发育障碍", "Other developmental disorder"))

STEPS = (
    Step("REFERRAL", "转介复筛", "Referral to rescreen", StepKind.REFERRAL,
         within(REFERRAL_HOURS, TimeUnit.HOURS), (
        goto("REFERRED", "已转介", "Referred", "RESCREEN"),
    )),
    Step("RESCREEN", "复筛", "Rescreen", StepKind.RESCREEN, within(RESCREEN_DAYS), (
        close("RESCREEN_NEG", "复筛阴性", "Rescreen negative", ClosureOutcome.RESCREEN_NORMAL),
        goto("RESCREEN_POS", "复筛阳性", "Rescreen positive", "DIAGNOSIS"),
        goto("FOLLOW_UP_INTERVIEW_NEEDED", "需后续访谈", "Follow-up interview needed", "FOLLOW_UP_INTERVIEW"),
    ), test="RESCREEN"),
    Step("FOLLOW_UP_INTERVIEW", "M-CHAT后续访谈", "M-CHAT follow-up interview", StepKind.RESCREEN,
         within(FOLLOW_UP_INTERVIEW_DAYS), (
        close("RESCREEN_NEG", "访谈阴性", "Interview negative", ClosureOutcome.RESCREEN_NORMAL),
        goto("RESCREEN_POS", "访谈阳性", "Interview positive", "DIAGNOSIS"),
    )),
    Step("DIAGNOSIS", "诊断评估", "Diagnostic assessment", StepKind.DIAGNOSIS, within(DIAGNOSIS_DAYS), (
        *(goto(code, zh, en, "INTERVENTION") for code, zh, en in _DIAGNOSES),
        close("NOT_ASD", "未见发育障碍", "No developmental disorder", ClosureOutcome.NOT_CONFIRMED),
    )),
    Step("INTERVENTION", "干预康复", "Intervention", StepKind.INTERVENTION, within(INTERVENTION_DAYS), (
        goto("STARTED", "已开始干预", "Intervention started", "REASSESSMENT"),
    )),
    Step("REASSESSMENT", "定期评估", "Reassessment", StepKind.FOLLOW_UP,
         within(REASSESSMENT_MONTHS, TimeUnit.MONTHS), (
        goto("CONTINUE", "继续干预", "Continue intervention", "REASSESSMENT"),
        close("COMPLETED", "干预结束", "Intervention completed", ClosureOutcome.CONFIRMED_TREATED),
    ), accepts_scheduled_due=True),
)

_WARN, _ESCALATE, _LTFU = standard_policies(_S)
_T_INITIAL = _S.add("TARGET_INITIAL_SCREEN_RATE", "80", "S", "S65 (Shanghai from 2025)", "%")
_T_RESCREEN = _S.add("TARGET_RESCREEN_RATE", "50", "S", "S65 (Shanghai from 2025)", "%")
_T_DIAGNOSIS = _S.add("TARGET_DIAGNOSIS_RATE", "80", "S", "S65 (Shanghai from 2025)", "%")

_DIAGNOSIS_CODES = tuple(code for code, _, _ in _DIAGNOSES)
MILESTONES = (
    sets(M.POSITIVE, "INITIAL", "INITIAL_POS"),
    sets(M.RESCREENED, "RESCREEN"),
    sets(M.DIAGNOSED, "DIAGNOSIS"),
    sets(M.CONFIRMED, "DIAGNOSIS", *_DIAGNOSIS_CODES),
    sets(M.TREATED, "INTERVENTION", "STARTED"),
)

_SCREENED_IN_PERIOD = event_period(M.SCREENED)
_RESCREEN_POSITIVE = ResultIs("RESCREEN", "RESCREEN_POS") | ResultIs("FOLLOW_UP_INTERVIEW", "RESCREEN_POS")
CHILDREN_0_6 = Population("AUTISM.CHILDREN_0_6", "0–6岁管理儿童数", "Children 0–6 under management")

INDICATORS = (
    Indicator("INITIAL_SCREEN_RATE", "初筛率", "Initial screening rate",
              "Children 0–6 given the initial screen",
              "Children 0–6 in the jurisdiction or under child-health management",
              Period(CohortBasis.MANAGED_POPULATION, M.SCREENED), num=Has(M.SCREENED), den=CHILDREN_0_6,
              target=_T_INITIAL, counting=Counting.PERSONS, source="S64,S65; formula [R]"),
    Indicator("RESCREEN_RATE", "复筛率", "Rescreen rate", "Initial positives rescreened", "Initial positives",
              _SCREENED_IN_PERIOD, num=Has(M.RESCREENED), den=Has(M.POSITIVE), target=_T_RESCREEN,
              source="S64,S65"),
    Indicator("DIAGNOSIS_RATE", "诊断率", "Diagnosis rate",
              "Rescreen positives given a diagnostic assessment",
              "Rescreen positives", _SCREENED_IN_PERIOD, num=Has(M.DIAGNOSED), den=_RESCREEN_POSITIVE,
              target=_T_DIAGNOSIS, source="S64,S65"),
    Indicator("INITIAL_POSITIVE_RATE", "初筛阳性率", "Initial positive rate", "Initial positives",
              "Initially screened", _SCREENED_IN_PERIOD, num=Has(M.POSITIVE), den=Has(M.SCREENED),
              source="S76"),
    Indicator("RESCREEN_POSITIVE_RATE", "复筛阳性率", "Rescreen positive rate", "Rescreen positives",
              "Rescreened", _SCREENED_IN_PERIOD, num=_RESCREEN_POSITIVE, den=Has(M.RESCREENED), source="S76"),
    Indicator("INTERVENTION_RATE", "干预率", "Intervention rate", "Diagnosed children starting intervention",
              "Diagnosed", _SCREENED_IN_PERIOD, num=Has(M.TREATED), den=Has(M.CONFIRMED), source="S77",
              note="over children diagnosed with a developmental disorder (ASD, GDD, DLD, other)"),
)
# fmt: on

# What the screens say about this program's notices and errors; %(KEY)s is the value in force of setting KEY.
MESSAGES = {
    "WRONG_AGE_POINT": Message(
        "所勾选的预警征象不属于所选月龄。", "The warning signs ticked do not belong to the chosen age point."
    ),
    "OUTSIDE_CHECK_WINDOW": Message(
        "筛查时间不在该月龄的检查时间窗内。", "Screened outside the check window of this age point."
    ),
    "MCHAT_INCOMPLETE": Message("请回答M-CHAT-R/F的全部条目。", "Answer every M-CHAT-R/F item."),
    "NO_TOOL": Message("请至少填写一种复筛量表的结果。", "Enter the result of at least one rescreen tool."),
    "MCHAT_AGE": Message(
        "M-CHAT-R/F适用于%(MCHAT_MIN_AGE_MONTHS)s–%(MCHAT_MAX_AGE_MONTHS)s月龄。",
        "M-CHAT-R/F is validated for %(MCHAT_MIN_AGE_MONTHS)s–%(MCHAT_MAX_AGE_MONTHS)s months of age.",
    ),
    "MCHAT_RESCREEN_AT_24M": Message(
        "低风险：%(MCHAT_LOW_RISK_RESCREEN_AGE_MONTHS)s月龄后再次筛查。",
        "Low risk: rescreen after %(MCHAT_LOW_RISK_RESCREEN_AGE_MONTHS)s months of age.",
    ),
}

PROGRAM = Program(
    code=CODE,
    zh="0～6岁儿童孤独症筛查干预",
    en="Autism screening for children 0–6",
    rule_version=f"{CODE}/2026.1",
    eligibility=Eligibility(
        (SubjectKind.CHILD,), MIN_AGE_YEARS, MAX_AGE_YEARS, TimeUnit.YEARS, "Resident children 0–6 [S63][S64]"
    ),
    tests=(INITIAL, RESCREEN),
    steps=STEPS,
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=INDICATORS,
    milestones=MILESTONES,
    settings=_S.freeze(),
    messages=MESSAGES,
    sources="S62–S78",
)
