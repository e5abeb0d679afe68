"""Constants and small value types that every program declaration and the workflow share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class SubjectKind(StrEnum):
    """The role a person plays in a program."""

    NEWBORN = "NEWBORN"
    WOMAN = "WOMAN"
    PREGNANT_WOMAN = "PREGNANT_WOMAN"
    CHILD = "CHILD"
    EXPOSED_INFANT = "EXPOSED_INFANT"


class Sex(StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    UNKNOWN = "UNKNOWN"


class FieldKind(StrEnum):
    DECIMAL = "DECIMAL"
    INTEGER = "INTEGER"
    CHOICE = "CHOICE"
    MULTI_CHOICE = "MULTI_CHOICE"
    BOOLEAN = "BOOLEAN"
    TEXT = "TEXT"
    DATE = "DATE"
    DATETIME = "DATETIME"


class CaseReason(StrEnum):
    """Why a follow-up case exists."""

    POSITIVE_RESULT = "POSITIVE_RESULT"
    REFERRED_RESULT = "REFERRED_RESULT"  # not passed / referred on (hearing, repeat measurement)
    UNSATISFACTORY_SPECIMEN = "UNSATISFACTORY_SPECIMEN"
    MISSED_SCREENING = "MISSED_SCREENING"
    EXPOSED_INFANT = "EXPOSED_INFANT"
    HIGH_RISK_SURVEILLANCE = "HIGH_RISK_SURVEILLANCE"  # passed, but risk factors call for follow-up


class ClosureOutcome(StrEnum):
    """The one shared list of ways a case ends (see OUTCOME_MEANINGS for the indicator meaning)."""

    CONFIRMED_TREATED = "CONFIRMED_TREATED"
    CONFIRMED_MONITORED = "CONFIRMED_MONITORED"
    NOT_CONFIRMED = "NOT_CONFIRMED"
    RESCREEN_NORMAL = "RESCREEN_NORMAL"
    SCREENING_COMPLETED = "SCREENING_COMPLETED"
    DIED = "DIED"
    MOVED_AWAY = "MOVED_AWAY"
    REFUSED = "REFUSED"
    LOST_TO_FOLLOW_UP = "LOST_TO_FOLLOW_UP"
    OPENED_IN_ERROR = "OPENED_IN_ERROR"


class StepKind(StrEnum):
    """What a step is, so the cascade and Table G can group steps across programs."""

    SCREEN = "SCREEN"  # a missed or spoiled primary screen, done late
    NOTIFY = "NOTIFY"
    RECALL = "RECALL"
    RESCREEN = "RESCREEN"
    REPEAT_TEST = "REPEAT_TEST"
    REFERRAL = "REFERRAL"
    DIAGNOSIS = "DIAGNOSIS"
    TREATMENT = "TREATMENT"
    INTERVENTION = "INTERVENTION"
    FOLLOW_UP = "FOLLOW_UP"
    SURVEILLANCE = "SURVEILLANCE"
    PROPHYLAXIS = "PROPHYLAXIS"
    VACCINATION = "VACCINATION"
    CASE_REPORT = "CASE_REPORT"
    DATA_CORRECTION = "DATA_CORRECTION"


class TimeUnit(StrEnum):
    HOURS = "HOURS"
    DAYS = "DAYS"
    WORKING_DAYS = "WORKING_DAYS"  # Monday to Friday, Asia/Shanghai; public holidays are not known here
    MONTHS = "MONTHS"  # calendar months (月龄 for ages)
    YEARS = "YEARS"


class EventKind(StrEnum):
    OPENED = "OPENED"
    STEP_RESULT = "STEP_RESULT"
    CONTACT_ATTEMPT = "CONTACT_ATTEMPT"
    NOTE = "NOTE"
    TRANSFER_REQUESTED = "TRANSFER_REQUESTED"
    TRANSFER_ACCEPTED = "TRANSFER_ACCEPTED"
    TRANSFER_REFUSED = "TRANSFER_REFUSED"
    TRANSFER_WITHDRAWN = "TRANSFER_WITHDRAWN"  # the sender takes back a transfer not yet answered
    ESCALATED = "ESCALATED"
    CLOSED = "CLOSED"
    REOPENED = "REOPENED"
    # Written by the sweep and the reminder job so that every change they make is on the timeline; the
    # replay ignores them (the state they record is what the replay derives from the other events).
    STATUS_CHANGED = "STATUS_CHANGED"  # data: {"status": new status, "from": old status}
    REMINDER = "REMINDER"  # data: {"kind": DUE_SOON | OVERDUE, "due_on": ..., "channels": [...]}


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    DUE_SOON = "DUE_SOON"
    OVERDUE = "OVERDUE"
    ESCALATED = "ESCALATED"
    LOST_TO_FOLLOW_UP = "LOST_TO_FOLLOW_UP"  # §0.4 rule met, awaiting the coordinator's confirmation
    CLOSED = "CLOSED"


class CaseAction(StrEnum):
    LOG_CONTACT = "LOG_CONTACT"
    RECORD_STEP = "RECORD_STEP"  # offered as "RECORD_STEP:<step code>"
    ADD_NOTE = "ADD_NOTE"
    TRANSFER = "TRANSFER"
    ACCEPT_TRANSFER = "ACCEPT_TRANSFER"
    REFUSE_TRANSFER = "REFUSE_TRANSFER"
    WITHDRAW_TRANSFER = "WITHDRAW_TRANSFER"
    ESCALATE = "ESCALATE"
    CLOSE = "CLOSE"
    REOPEN = "REOPEN"


class ContactChannel(StrEnum):
    """Channels of a contact attempt (追访记录, §0.3)."""

    PHONE = "PHONE"
    SMS = "SMS"
    LETTER = "LETTER"
    HOME_VISIT = "HOME_VISIT"
    COMMUNITY = "COMMUNITY"  # via the community health centre or village doctor


class ContactOutcome(StrEnum):
    REACHED = "REACHED"
    NO_ANSWER = "NO_ANSWER"
    WRONG_CONTACT = "WRONG_CONTACT"
    MESSAGE_DELIVERED = "MESSAGE_DELIVERED"
    REFUSED = "REFUSED"
    MOVED_AWAY = "MOVED_AWAY"
    DIED = "DIED"


# A contact that learned something of the family reached them: someone answered, refused, or told of a move
# or a death. The one definition the case events' `reached` column, the forms and the bench all use.
REACHING_OUTCOMES: frozenset[ContactOutcome] = frozenset(
    {ContactOutcome.REACHED, ContactOutcome.REFUSED, ContactOutcome.MOVED_AWAY, ContactOutcome.DIED}
)


def reaches_family(outcome: ContactOutcome | str) -> bool:
    """Tell whether a contact with this outcome reached the family."""
    return ContactOutcome(outcome) in REACHING_OUTCOMES


class LtfuReason(StrEnum):
    """Reason codes of a loss to follow-up (§0.4, after the CDC EHDI taxonomy [S23])."""

    UNABLE_TO_CONTACT = "UNABLE_TO_CONTACT"
    CONTACTED_UNRESPONSIVE = "CONTACTED_UNRESPONSIVE"
    UNKNOWN = "UNKNOWN"


class CohortBasis(StrEnum):
    """How an indicator picks its people (§0.2 statistical periods)."""

    BIRTH_COHORT = "BIRTH_COHORT"
    EVENT_PERIOD = "EVENT_PERIOD"
    DELIVERY_PERIOD = "DELIVERY_PERIOD"
    SCREENING_CYCLE = "SCREENING_CYCLE"
    MANAGED_POPULATION = "MANAGED_POPULATION"


class IndicatorUnit(StrEnum):
    PERCENT = "PERCENT"
    PER_MILLE = "PER_MILLE"
    PER_100K = "PER_100K"
    DAYS = "DAYS"
    ONE_IN_N = "ONE_IN_N"


class TargetComparison(StrEnum):
    AT_LEAST = "AT_LEAST"
    AT_MOST = "AT_MOST"
    BELOW = "BELOW"


@dataclass(frozen=True, slots=True)
class Choice:
    """A coded value with its Chinese and English labels."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class FieldError:
    """A value a form or an import must reject, naming the field."""

    field: str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning attached to an accepted value (e.g. collected before 72 h)."""

    field: str | None
    code: str
    message: str


_TRAIT_SCALARS = (str, bool, int, float, type(None))


def _frozen_trait(name: str, value: object) -> object:
    if isinstance(value, _TRAIT_SCALARS):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        if all(isinstance(item, _TRAIT_SCALARS) for item in items):
            return tuple(items)
    # Traits are stored as JSON on the case, so only what JSON round-trips is a trait value.
    raise TypeError(f"trait {name}: {value!r} is not a JSON scalar or a sequence of them")


class Traits(Mapping[str, object]):
    """What a program's tests told about a subject, by trait name: immutable, hashable, JSON-shaped.

    The engine carries traits without knowing any; only the program that declares a trait reads it.
    """

    __slots__ = ("_pairs",)

    def __init__(self, traits: Mapping[str, object] | Iterable[tuple[str, object]] = ()) -> None:
        pairs = traits.items() if isinstance(traits, Mapping) else traits
        self._pairs = tuple(sorted((str(k), _frozen_trait(str(k), v)) for k, v in pairs))

    def __getitem__(self, name: str) -> object:
        for key, value in self._pairs:
            if key == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __hash__(self) -> int:
        return hash(self._pairs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Traits):
            return self._pairs == other._pairs
        return isinstance(other, Mapping) and dict(self._pairs) == dict(Traits(other)._pairs)

    def __repr__(self) -> str:
        return f"Traits({dict(self._pairs)!r})"

    def merged(self, told: Mapping[str, object]) -> Traits:
        """Return these traits with what a newer result told added, its values replacing older ones."""
        return Traits({**dict(self._pairs), **dict(told.items())}) if told else self

    def as_json(self) -> dict[str, object]:
        """Return the traits as a JSON object (sequences as lists), as the case stores them."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self._pairs}


NO_TRAITS = Traits()


@dataclass(frozen=True, slots=True)
class Subject:
    """The person a result or a case is about, as the engine needs to see them."""

    kind: SubjectKind
    sex: Sex
    birth_at: datetime | None  # aware; newborn deadlines in hours need it
    birth_on: date
    # What the program's tests told about the subject (declared per test as `subject_traits`).
    traits: Traits = NO_TRAITS
    has_address: bool = True  # §0.4: a visit is required among the attempts only when an address exists

    def __post_init__(self) -> None:
        if self.birth_at is not None and self.birth_at.utcoffset() is None:
            raise ValueError("Subject.birth_at must be timezone-aware")
        if not isinstance(self.traits, Traits):
            object.__setattr__(self, "traits", Traits(self.traits or ()))

    def told(self, traits: Mapping[str, object]) -> Subject:
        """Return this subject with the traits a result told of them added."""
        if not traits:
            return self
        return Subject(
            self.kind, self.sex, self.birth_at, self.birth_on, self.traits.merged(traits), self.has_address
        )


@dataclass(frozen=True, slots=True)
class OutcomeMeaning:
    """What a closure outcome counts as in the national indicators."""

    zh: str
    en: str
    indicator_meaning: str
    follow_up_completed: bool  # numerator of 异常/可疑病例随访管理率 and closure rates
    diagnosed: bool  # a diagnostic assessment was done (诊断数)
    lost: bool  # numerator of 失访率
    excluded_from_cohort: bool  # not counted in any denominator (opened in error)


OUTCOME_MEANINGS: dict[ClosureOutcome, OutcomeMeaning] = {
    ClosureOutcome.CONFIRMED_TREATED: OutcomeMeaning(
        "确诊并已治疗/干预",
        "Confirmed and treated",
        "确诊数 and 治疗数/干预数 (treatment or intervention rate numerator)",
        True,
        True,
        False,
        False,
    ),
    ClosureOutcome.CONFIRMED_MONITORED: OutcomeMeaning(
        "确诊，无需治疗，随访结束",
        "Confirmed, no treatment needed, follow-up completed",
        "确诊数 (detection rate) but not in the treatment-rate denominator",
        True,
        True,
        False,
        False,
    ),
    ClosureOutcome.NOT_CONFIRMED: OutcomeMeaning(
        "诊断排除",
        "Not confirmed (excluded at diagnosis)",
        "诊断数 with a negative diagnosis; false positive for PPV",
        True,
        True,
        False,
        False,
    ),
    ClosureOutcome.RESCREEN_NORMAL: OutcomeMeaning(
        "复筛/复查正常",
        "Rescreen or recall test normal",
        "已召回数 / 复筛数 (recall and rescreen rate numerators), no diagnosis needed",
        True,
        False,
        False,
        False,
    ),
    ClosureOutcome.SCREENING_COMPLETED: OutcomeMeaning(
        "已补采/补筛",
        "Missed or unsatisfactory screen completed",
        "补采数; the new result is classified and counted on its own",
        True,
        False,
        False,
        False,
    ),
    ClosureOutcome.DIED: OutcomeMeaning(
        "死亡", "Died", "Not lost to follow-up (EHDI: infant died)", False, False, False, False
    ),
    ClosureOutcome.MOVED_AWAY: OutcomeMeaning(
        "迁出(已转交)",
        "Moved away and handed over",
        "Not lost to follow-up (EHDI: non-resident/moved)",
        False,
        False,
        False,
        False,
    ),
    ClosureOutcome.REFUSED: OutcomeMeaning(
        "拒绝", "Refused", "Not lost to follow-up (EHDI: parents declined)", False, False, False, False
    ),
    ClosureOutcome.LOST_TO_FOLLOW_UP: OutcomeMeaning(
        "失访",
        "Lost to follow-up",
        "失访率 numerator (EHDI: unable to contact / contacted but unresponsive / unknown)",
        False,
        False,
        True,
        False,
    ),
    ClosureOutcome.OPENED_IN_ERROR: OutcomeMeaning(
        "误开/重复", "Opened in error", "Excluded from every indicator", False, False, False, True
    ),
}

# Outcomes a user may choose when closing by hand; clinical outcomes come only from step results.
ADMINISTRATIVE_OUTCOMES: tuple[ClosureOutcome, ...] = (
    ClosureOutcome.DIED,
    ClosureOutcome.MOVED_AWAY,
    ClosureOutcome.REFUSED,
    ClosureOutcome.LOST_TO_FOLLOW_UP,
    ClosureOutcome.OPENED_IN_ERROR,
)

# A contact that learns of a death, refusal or move settles the case; it is never a loss (§0.4).
CONTACT_OUTCOME_CLOSURES: dict[ContactOutcome, ClosureOutcome] = {
    ContactOutcome.DIED: ClosureOutcome.DIED,
    ContactOutcome.REFUSED: ClosureOutcome.REFUSED,
    ContactOutcome.MOVED_AWAY: ClosureOutcome.MOVED_AWAY,
}

CHANNEL_CHOICES: tuple[Choice, ...] = (
    Choice(ContactChannel.PHONE, "电话", "Phone"),
    Choice(ContactChannel.SMS, "短信", "SMS"),
    Choice(ContactChannel.LETTER, "信函", "Letter"),
    Choice(ContactChannel.HOME_VISIT, "上门", "Home visit"),
    Choice(ContactChannel.COMMUNITY, "社区/村医", "Community or village doctor"),
)

CONTACT_OUTCOME_CHOICES: tuple[Choice, ...] = (
    Choice(ContactOutcome.REACHED, "已联系到", "Reached"),
    Choice(ContactOutcome.NO_ANSWER, "无人接听/未见到", "No answer"),
    Choice(ContactOutcome.WRONG_CONTACT, "号码或地址错误", "Wrong number or address"),
    Choice(ContactOutcome.MESSAGE_DELIVERED, "已送达信息", "Message delivered"),
    Choice(ContactOutcome.REFUSED, "拒绝", "Refused"),
    Choice(ContactOutcome.MOVED_AWAY, "已迁出", "Moved away"),
    Choice(ContactOutcome.DIED, "已死亡", "Died"),
)
