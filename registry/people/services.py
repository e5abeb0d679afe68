"""Registering people and catching duplicates; callers pass the actor and the time."""

import dataclasses
import datetime as dt

import sqlalchemy as sa
from blinker import Namespace
from pypinyin import Style, lazy_pinyin

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.people.idnumbers import normalise
from registry.people.models import Household, IdDocumentType, Person, PersonKind, Pregnancy, Sex
from registry.people.protection import blind_index_of_document, blind_index_of_phone

# Sent inside the registering transaction; the screenings package opens an exposed infant's follow-up
# here without the registry importing it.
person_registered = Namespace().signal("person-registered")


def pinyin_of(name: str) -> tuple[str, str]:
    """Full pinyin without tones or spaces, and the initials: 张三丰 → ('zhangsanfeng', 'zsf')."""
    syllables = [s.lower() for s in lazy_pinyin(name.strip(), errors="ignore") if s.strip()]
    initials = [s.lower()[:1] for s in lazy_pinyin(name.strip(), style=Style.FIRST_LETTER, errors="ignore")]
    return "".join(syllables), "".join(i for i in initials if i.isalnum())


@dataclasses.dataclass
class PersonDraft:
    kind: PersonKind
    name: str
    sex: Sex
    birth_on: dt.date
    institution_id: int
    birth_at: dt.datetime | None = None
    id_type: IdDocumentType = IdDocumentType.NONE
    id_number: str | None = None
    phone: str | None = None
    phone_alt: str | None = None
    address: str | None = None
    household: Household = Household.LOCAL
    mother_id: int | None = None
    birth_order: int | None = None
    birth_certificate_number: str | None = None


@dataclasses.dataclass(frozen=True)
class PregnancyDraft:
    registered_on: dt.date
    expected_delivery_on: dt.date
    last_menstrual_period_on: dt.date | None = None


@dataclasses.dataclass(frozen=True)
class DuplicateCheck:
    same_document: Person | None
    similar: list[Person]

    @property
    def clean(self) -> bool:
        return self.same_document is None and not self.similar


class DuplicatePerson(Exception):
    """Registration stopped: the identity document is taken, or look-alikes need a confirmation."""

    def __init__(self, check: DuplicateCheck):
        super().__init__("possible duplicate person")
        self.check = check


def find_duplicates(draft: PersonDraft) -> DuplicateCheck:
    """People already registered with the same document, or the same pinyin name, birth date and mother."""
    same_document = None
    if draft.id_number and draft.id_type != IdDocumentType.NONE:
        same_document = db.session.scalar(
            sa.select(Person).where(
                Person.id_type == draft.id_type,
                Person.id_number_index == blind_index_of_document(draft.id_number),
            )
        )
    pinyin, _ = pinyin_of(draft.name)
    query = sa.select(Person).where(
        Person.name_pinyin == pinyin, Person.birth_on == draft.birth_on, Person.merged_into_id.is_(None)
    )
    if draft.kind == PersonKind.NEWBORN and draft.mother_id is not None:
        query = query.where(Person.mother_id == draft.mother_id)
    similar = list(db.session.scalars(query.limit(20)))
    if same_document is None and draft.id_number and draft.id_type != IdDocumentType.NONE:
        # The second query runs on a newer snapshot (PostgreSQL, read committed): a concurrent registration of
        # this very document may have committed between the two: it is the same document, not a look-alike.
        number = normalise(draft.id_number)
        same_document = next(
            (p for p in similar if p.id_type == draft.id_type and p.id_number == number), None
        )
    similar = [p for p in similar if p is not same_document]
    return DuplicateCheck(same_document=same_document, similar=similar)


def register_person(
    draft: PersonDraft,
    actor: Actor,
    now: dt.datetime,
    confirmed_distinct: bool = False,
    pregnancy: PregnancyDraft | None = None,
) -> Person:
    """Add a person after the duplicate checks; look-alikes need `confirmed_distinct`, a taken ID fails."""
    check = find_duplicates(draft)
    if check.same_document is not None or (check.similar and not confirmed_distinct):
        raise DuplicatePerson(check)
    pinyin, initials = pinyin_of(draft.name)
    person = Person(
        **{
            **dataclasses.asdict(draft),
            "name": draft.name.strip(),
            "id_number": normalise(draft.id_number) if draft.id_number else None,
        },
        name_pinyin=pinyin,
        name_initials=initials,
        created_at=now,
        created_by_id=actor.user_id,
    )
    if person.id_type == IdDocumentType.NONE:
        person.id_number = None
    try:
        # A savepoint: when another registration of the same document commits between our check and this
        # insert, the unique index refuses it, and the loser sees the duplicate message, not a 500.
        with db.session.begin_nested():
            db.session.add(person)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise DuplicatePerson(find_duplicates(draft)) from None
    summary = f"registered {draft.kind.value}"
    if check.similar:
        summary += f"; confirmed distinct from person(s) {', '.join(str(p.id) for p in check.similar)}"
    audit.record(actor, now, "person", person.id, "CREATE", summary)
    if pregnancy is not None:
        add_pregnancy(person, pregnancy, actor, now)
    person_registered.send(person, actor=actor, now=now)
    return person


def add_pregnancy(mother: Person, draft: PregnancyDraft, actor: Actor, now: dt.datetime) -> Pregnancy:
    record = Pregnancy(
        mother_id=mother.id,
        registered_on=draft.registered_on,
        expected_delivery_on=draft.expected_delivery_on,
        last_menstrual_period_on=draft.last_menstrual_period_on,
        institution_id=mother.institution_id,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(actor, now, "pregnancy", record.id, "CREATE", f"pregnancy of person {mother.id}")
    return record


def next_birth_order(mother_id: int) -> int:
    highest = db.session.scalar(
        sa.select(sa.func.max(Person.birth_order)).where(Person.mother_id == mother_id)
    )
    return (highest or 0) + 1


def search_term_kind(text: str) -> str:
    """What a search term is (ID, PHONE, PINYIN or NAME): said in the audit row instead of the term."""
    term = text.strip()
    compact = normalise(term)
    if compact[:-1].isdigit() and len(compact) >= 15:
        return "ID"
    if compact.isdigit() and len(compact) >= 7:
        return "PHONE"
    return "PINYIN" if term.isascii() else "NAME"


def audited_search(
    text: str, scope_clause: sa.ColumnElement[bool], actor: Actor, now: dt.datetime, limit: int = 50
) -> list[Person]:
    """Search people and record the search (DHIS2's SEARCH audit): what kind of term, whom it found.

    The term itself is not stored: it may be a full ID or phone number."""
    found = search_people(text, scope_clause, limit)
    ids = ",".join(str(p.id) for p in found)
    audit.record(
        actor, now, "person", None, "SEARCH", f"by {search_term_kind(text)}: {len(found)} found [{ids}]"
    )
    return found


def search_people(text: str, scope_clause: sa.ColumnElement[bool], limit: int = 50) -> list[Person]:
    """People in scope matching an ID number, a phone number, a name or its pinyin (full or initials)."""
    term = text.strip()
    if not term:
        return []
    # A merged record is hidden: its kept person carries its results and cases.
    query = sa.select(Person).where(scope_clause, Person.merged_into_id.is_(None))
    compact = normalise(term)
    if compact[:-1].isdigit() and len(compact) >= 15:
        query = query.where(Person.id_number_index == blind_index_of_document(compact))
    elif compact.isdigit() and len(compact) >= 7:
        phone = blind_index_of_phone(compact)
        query = query.where(sa.or_(Person.phone_index == phone, Person.phone_alt_index == phone))
    elif term.isascii():
        letters = "".join(c for c in term.lower() if c.isalpha())
        query = query.where(sa.or_(Person.name_pinyin.startswith(letters), Person.name_initials == letters))
    else:
        query = query.where(Person.name.startswith(term))
    return list(db.session.scalars(query.order_by(Person.name_pinyin, Person.birth_on).limit(limit)))


def set_reminder_opt_out(person: Person, opt_out: bool, actor: Actor, now: dt.datetime) -> None:
    """Record the family's choice about automated SMS reminders (staff still call, write and visit)."""
    if person.reminder_opt_out == opt_out:
        return
    person.reminder_opt_out = opt_out
    summary = "reminder_opt_out " + ("on" if opt_out else "off")
    audit.record(actor, now, "person", person.id, "UPDATE", summary)
