"""Locale and time zone selection: Chinese first, English on request, times shown in Asia/Shanghai."""

import datetime as dt
import functools

import babel.dates
from flask import session
from flask_babel import format_datetime, get_locale

from registry import clock

SUPPORTED_LOCALES = ["zh_CN", "en"]
# The one display time zone and "today" there live with the clock; these names are what callers import.
DISPLAY_ZONE = clock.SHANGHAI
local_today = clock.local_today


def N_(message: str) -> str:
    """Mark a message for extraction where it is translated later, at display time."""
    return message


def select_locale() -> str:
    if (lang := session.get("lang")) in SUPPORTED_LOCALES:
        return lang
    return "zh_CN"


def html_lang() -> str:
    """The value for <html lang>: Babel names Chinese zh_Hans_CN, browsers expect zh-CN."""
    locale = get_locale()
    return "zh-CN" if locale is None or locale.language == "zh" else locale.language


def local_date(value: dt.date | dt.datetime | None, fmt: str = "long") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(DISPLAY_ZONE).date()
    locale = get_locale()
    return _formatted_day(value, fmt, str(locale) if locale is not None else "zh_Hans_CN")


@functools.lru_cache(maxsize=8192)
def _formatted_day(day: dt.date, fmt: str, locale: str) -> str:
    # Lists show the same few dozen dates many times; Babel's formatting is the slow part of a row.
    return babel.dates.format_date(day, fmt, locale=locale)


def local_datetime(value: dt.datetime | None, fmt: str = "medium") -> str:
    """Format a stored UTC time in Asia/Shanghai (Flask-Babel converts using BABEL_DEFAULT_TIMEZONE)."""
    if value is None:
        return ""
    return format_datetime(value, fmt)
