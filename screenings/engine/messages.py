"""Messages that name a program's concepts, declared by the program and filled from its settings.

A program module declares `messages`: a mapping of message keys (the code of a notice, an error or
a refusal) to a `Message` with its Chinese and English templates. A template's `%(KEY)s` names a
setting of the program by its key (`%(LATE_LIMIT_AGE_DAYS)s`), so the text always states the value
in force: a district that overrides the setting changes the message too. A program's templates name
only its settings (`check_program` says so otherwise); the caller may pass further parameters.

Pure: no Flask. The edge picks the language (screenings.texts) and passes the district's overrides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from .settings import SettingValue

if TYPE_CHECKING:
    from .declarations import Program

LANGUAGES = ("zh", "en")
_PLACEHOLDER = re.compile(r"%\((\w+)\)")


@dataclass(frozen=True, slots=True)
class Message:
    """One message in both languages; `%(KEY)s` is the value in force of the program's setting KEY."""

    zh: str
    en: str

    def template(self, language: str) -> str:
        """Return the template in a language ("zh" or "en")."""
        if language not in LANGUAGES:
            raise ValueError(f"no {language!r} wording; languages are {', '.join(LANGUAGES)}")
        return self.zh if language == "zh" else self.en

    def placeholders(self) -> set[str]:
        """Return the names every template of the message fills."""
        return {name for text in (self.zh, self.en) for name in _PLACEHOLDER.findall(text)}


# The §0.4 rule stated with the program's own lost-to-follow-up settings (engine.ltfu declares them
# in every program that uses the default policy); a program with another policy declares its own.
COMMON_MESSAGES: Mapping[str, Message] = {
    "NOT_LOST": Message(
        zh="尚不满足失访条件：到期后需历时至少%(LTFU_MIN_SPAN_DAYS)s天、通过至少%(LTFU_MIN_CHANNELS)s种方式"
        "追访至少%(LTFU_MIN_ATTEMPTS)s次。",
        en="The lost-to-follow-up rule does not hold yet: at least %(LTFU_MIN_ATTEMPTS)s attempts over "
        "%(LTFU_MIN_SPAN_DAYS)s days through %(LTFU_MIN_CHANNELS)s channels after the due date.",
    ),
}


def program_message(program: Program, key: str) -> Message | None:
    """Return the program's message for a key, or the engine's common one, or None."""
    return program.messages.get(key) or COMMON_MESSAGES.get(key)


def _shown(value: SettingValue) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def setting_parameters(program: Program, overrides: Mapping[str, object] | None = None) -> dict[str, str]:
    """Return the value in force of each of the program's settings, by key, as shown in a message."""
    values = program.values(overrides)
    return {setting.name.split(".", 1)[1]: _shown(values(setting)) for setting in program.settings}


def render_message(
    program: Program,
    key: str,
    language: str,
    overrides: Mapping[str, object] | None = None,
    **parameters: object,
) -> str | None:
    """Return a program's message in a language with its settings (and a district's overrides) filled.

    None when neither the program nor the engine declares the key: the caller words it generically.
    """
    message = program_message(program, key)
    if message is None:
        return None
    return message.template(language) % {**setting_parameters(program, overrides), **parameters}


def message_problems(program: Program) -> list[str]:
    """Return every message of the program that lacks a language or names an unknown setting."""
    keys = {s.name.split(".", 1)[1] for s in program.settings}
    problems = []
    for key, message in program.messages.items():
        if not (message.zh and message.en):
            problems.append(f"message {key} lacks a language")
        unknown = sorted(message.placeholders() - keys)
        if unknown:
            problems.append(f"message {key} names unknown settings {', '.join(unknown)}")
    return problems
