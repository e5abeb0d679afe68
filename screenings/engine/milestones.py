"""Milestones of one person × program × screening episode: the facts every indicator counts.

A fact row (`EpisodeFacts`) holds, for one episode, a `Mark` (when, and with which result code) for
each milestone reached. Two kinds of names share the one mapping:

- the **generic milestones** of `Milestone` (lower case: ``"screened"``, ``"diagnosed"`` …), the
  cascade every program has; and
- a program's own **step and test codes** (upper case: ``"HBIG_AND_DOSE_1"``), for indicators that
  need one step of one program (a first dose within 12 hours, an antibody test at 18 months).

Who sets what (the contract with the one writer of facts and with `rebuild-facts`):

- ``born``, ``delivered``, ``screened``, ``closed``, ``lost``, ``overdue`` and ``transferred`` come from
  the person, the results and the case state, the same for every program;
- ``positive``, ``recalled``, ``rescreened``, ``diagnosed``, ``confirmed`` and ``treated`` come from the
  program's `MilestoneRule`s: the first result that matches a rule sets the milestone, with that
  result's time and code;
- a step code is marked by the first result recorded at that step (time and result code).

A case opened in error contributes no milestone. A death, a move or a refusal closes the episode with
that outcome and is never a loss (programs.md §0.4): a fact row cannot hold both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from .times import local_date
from .vocabulary import CaseReason, ClosureOutcome, StepKind, SubjectKind

if TYPE_CHECKING:
    from .declarations import Program, ResultCode


class Milestone(StrEnum):
    """The generic milestones of an episode; each is a `Mark` on the fact row when reached."""

    BORN = "born"  # the subject's birth (newborns, exposed infants): the live-birth denominator
    DELIVERED = "delivered"  # PMTCT mother: the delivery of the period (产妇数)
    SCREENED = "screened"  # the primary screen was done (code: its result code)
    POSITIVE = "positive"  # a result calling for recall, referral or diagnosis
    RECALLED = "recalled"  # came back for repeat testing (召回)
    RESCREENED = "rescreened"  # rescreen done (code: the rescreen result)
    DIAGNOSED = "diagnosed"  # diagnostic assessment done (code: the diagnosis)
    CONFIRMED = "confirmed"  # a disease or a precursor confirmed (code: the diagnosis)
    TREATED = "treated"  # treatment or intervention started (code: which)
    CLOSED = "closed"  # follow-up closed (code: the ClosureOutcome)
    LOST = "lost"  # lost to follow-up (§0.4 rule met)
    OVERDUE = "overdue"  # a step is overdue now (at: since when; code: the step)
    TRANSFERRED = "transferred"  # handed over (at: accepted; code: the receiving institution)


class ResultClass(StrEnum):
    """What the primary screen's result code means, across programs."""

    NORMAL = "NORMAL"  # negative, passed
    POSITIVE = "POSITIVE"  # positive, suspected, abnormal
    REFERRED = "REFERRED"  # not passed or referred on (hearing, BI-RADS 0/3, repeat oximetry)
    UNSATISFACTORY = "UNSATISFACTORY"  # spoiled specimen, invalid test, key data missing
    MISSED = "MISSED"  # not done when due (漏筛, not collected, delayed)
    REFUSED = "REFUSED"  # signed refusal


# A death, a move away or a refusal ends follow-up but is never counted as lost (§0.4, EHDI [S23]).
NEVER_LOST: frozenset[ClosureOutcome] = frozenset(
    {ClosureOutcome.DIED, ClosureOutcome.MOVED_AWAY, ClosureOutcome.REFUSED}
)

_REASON_CLASS = {
    CaseReason.POSITIVE_RESULT: ResultClass.POSITIVE,
    CaseReason.EXPOSED_INFANT: ResultClass.POSITIVE,
    CaseReason.REFERRED_RESULT: ResultClass.REFERRED,
    CaseReason.UNSATISFACTORY_SPECIMEN: ResultClass.UNSATISFACTORY,
    CaseReason.MISSED_SCREENING: ResultClass.MISSED,
    CaseReason.HIGH_RISK_SURVEILLANCE: ResultClass.NORMAL,
}


def result_class_of(result: ResultCode) -> ResultClass:
    """Return the class of a declared result code, from the case it opens (or none)."""
    if result.code == "REFUSED":
        return ResultClass.REFUSED
    if not result.opens_case or result.case_reason is None:
        return ResultClass.NORMAL
    return _REASON_CLASS[result.case_reason]


@dataclass(frozen=True, slots=True)
class Mark:
    """When a milestone or step was reached, and the result code it was reached with."""

    at: datetime
    code: str | None = None

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("Mark.at must be timezone-aware")

    @property
    def on(self) -> date:
        """Return the local (Asia/Shanghai) date of the mark."""
        return local_date(self.at)


@dataclass(frozen=True, slots=True)
class MilestoneRule:
    """A program's rule: a result recorded at this step (or of this test) sets this milestone."""

    milestone: Milestone
    source: str  # a step code, or a test code for the result that opened the episode
    results: tuple[str, ...] = ()  # the result codes that count; empty: any result

    def matches(self, source: str, result_code: str) -> bool:
        """Tell whether a result recorded at a step or of a test sets the milestone."""
        return source == self.source and (not self.results or result_code in self.results)


def sets(milestone: Milestone, source: str, *results: str) -> MilestoneRule:
    """Build a milestone rule: any of these results at this step or test sets the milestone."""
    return MilestoneRule(milestone, source, tuple(results))


@dataclass(frozen=True)
class EpisodeFacts:
    """One fact row: one person × program × screening episode and the milestones it reached."""

    program: str
    person_id: int
    institution: str  # where the episode was screened or opened
    subject: SubjectKind
    marks: Mapping[str, Mark] = field(default_factory=dict)
    result_class: ResultClass | None = None  # of the primary screen (or MISSED / REFUSED without one)
    findings: frozenset[str] = frozenset()  # of the primary screen (FIRST_TRIMESTER, HIGH_RISK …)
    episode: int = 1
    district: str = ""

    def __post_init__(self) -> None:
        closed = self.marks.get(Milestone.CLOSED)
        if Milestone.LOST in self.marks and closed is not None and closed.code in NEVER_LOST:
            raise ValueError(f"an episode closed as {closed.code} is not lost to follow-up (§0.4)")
        for name in self.marks:
            if name.islower() and name not in Milestone.__members__.values():
                raise ValueError(f"unknown milestone {name!r}")

    def mark(self, name: str) -> Mark | None:
        """Return the mark of a milestone or step, or None when it was not reached."""
        return self.marks.get(name)

    @property
    def outcome(self) -> ClosureOutcome | None:
        """Return how the episode's follow-up closed, if it did."""
        closed = self.marks.get(Milestone.CLOSED)
        return ClosureOutcome(closed.code) if closed is not None and closed.code else None

    def institution_on(self, day: date) -> str:
        """Return the institution a figure for a period ending on this day counts the episode at.

        A transferred episode counts at the receiving institution from the transfer date (issue 17),
        so a closed month keeps its figures and every later period shows the episode where it is now.
        """
        moved = self.marks.get(Milestone.TRANSFERRED)
        if moved is not None and moved.code and moved.on <= day:
            return moved.code
        return self.institution


def age_on(facts: EpisodeFacts, day: date) -> int | None:
    """Return the subject's age in completed days on a local date, when the birth is known."""
    born = facts.marks.get(Milestone.BORN)
    return None if born is None else (day - born.on).days


@dataclass(frozen=True, slots=True)
class Recorded:
    """A result as the fact writer sees it: a test's result, or a result recorded at a case step."""

    source: str  # a test code (a screening result) or a step code (a step result)
    result_code: str
    at: datetime
    findings: tuple[str, ...] = ()


def episode_facts(
    program: Program,
    person_id: int,
    institution: str,
    subject: SubjectKind,
    records: Iterable[Recorded],
    *,
    born_at: datetime | None = None,
    delivered_at: datetime | None = None,
    closed: tuple[datetime, ClosureOutcome] | None = None,
    lost_at: datetime | None = None,
    overdue: tuple[datetime, str] | None = None,
    transferred: tuple[datetime, str] | None = None,
    episode: int = 1,
    district: str = "",
) -> EpisodeFacts:
    """Build one fact row from an episode's results and case state, by the program's milestone rules.

    The first result of a test gives the result class and findings; the first that is neither missed
    nor refused (or a late screen at a step of kind SCREEN) marks ``screened``. The first result at a
    step marks the step; the first result that matches a rule sets its milestone. A case opened in
    error must not be passed in at all.
    """
    tests = {t.code: t for t in program.tests}
    steps = {s.code for s in program.steps}
    # a late screen recorded at a case step with the primary test (a CHD catch-up screen) is a screen too
    screen_steps = {s.code for s in program.steps if s.kind is StepKind.SCREEN and s.test is not None}
    marks: dict[str, Mark] = {}
    result_class: ResultClass | None = None
    findings: frozenset[str] = frozenset()
    for record in sorted(records, key=lambda r: r.at):
        mark = Mark(record.at, record.result_code)
        test = tests.get(record.source)
        if test is not None and record.source not in steps:
            kind = result_class_of(test.result(record.result_code))
            if result_class is None:
                result_class, findings = kind, frozenset(record.findings)
            if kind not in (ResultClass.MISSED, ResultClass.REFUSED):
                marks.setdefault(Milestone.SCREENED, mark)
        if record.source in screen_steps:
            marks.setdefault(Milestone.SCREENED, mark)
        if record.source in steps:
            marks.setdefault(record.source, mark)
        for rule in program.milestones:
            if rule.matches(record.source, record.result_code):
                marks.setdefault(rule.milestone, mark)
    for name, moment, code in (
        (Milestone.BORN, born_at, None),
        (Milestone.DELIVERED, delivered_at, None),
        (Milestone.CLOSED, *(closed or (None, None))),
        (Milestone.LOST, lost_at, None),
        (Milestone.OVERDUE, *(overdue or (None, None))),
        (Milestone.TRANSFERRED, *(transferred or (None, None))),
    ):
        if moment is not None:
            marks[name] = Mark(moment, code)
    return EpisodeFacts(
        program.code,
        person_id,
        institution,
        subject,
        marks,
        result_class,
        findings,
        episode,
        district,
    )


__all__ = [
    "NEVER_LOST",
    "EpisodeFacts",
    "Mark",
    "Milestone",
    "MilestoneRule",
    "Recorded",
    "ResultClass",
    "age_on",
    "episode_facts",
    "result_class_of",
    "sets",
]
