"""Locale and time zone selection: Chinese first, English on request, times shown in Asia/Shanghai."""

import datetime as dt
import functools
import logging
import os
from pathlib import Path

import babel
import babel.dates
from flask import session
from flask_babel import get_locale

from registry import clock

SUPPORTED_LOCALES = ["zh_CN", "en"]
# The one display time zone and "today" there live with the clock; these names are what callers import.
DISPLAY_ZONE = clock.SHANGHAI
local_today = clock.local_today


TRANSLATIONS = Path(__file__).parent / "translations"
log = logging.getLogger(__name__)


def compiled_catalog_directories(instance_path: Path) -> list[str]:
    """Compile each catalog whose .mo is missing or older than its .po; return where Flask-Babel looks.

    A wheel or a plain `pip install .` carries the .po sources; compiling them here on first start makes
    the interface Chinese however the package was installed. When the package folder is read-only, the
    compiled catalogs go under the instance folder instead.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    directories = [str(TRANSLATIONS)]
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parent.parent.name)
        try:
            _write_atomically(mo_path, catalog, write_mo)
        except OSError:
            fallback = instance_path / "translations" / po_path.relative_to(TRANSLATIONS).with_suffix(".mo")
            fallback.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(fallback, catalog, write_mo)
            directories.insert(0, str(instance_path / "translations"))
            log.info("compiled %s into %s (the package folder is read-only)", po_path.name, fallback)
    return directories


def _write_atomically(path: Path, catalog, write_mo) -> None:
    # Several web workers may start at once: each writes its own file and renames it into place.
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with partial.open("wb") as target:
        write_mo(target, catalog)
    os.replace(partial, path)


def N_(message: str) -> str:
    """Mark a message for extraction where it is translated later, at display time."""
    return message


def select_locale() -> babel.Locale:
    if (lang := session.get("lang")) in SUPPORTED_LOCALES:
        return _parsed_locale(lang)
    return _parsed_locale("zh_CN")


@functools.lru_cache(maxsize=len(SUPPORTED_LOCALES))
def _parsed_locale(name: str) -> babel.Locale:
    # Flask-Babel parses what the selector returns on every request, and parsing searches Babel's locale
    # data on disk; a Locale it is given is used as it is.
    return babel.Locale.parse(name)


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


def local_datetime(value: dt.datetime | None) -> str:
    """Format a stored UTC time in Asia/Shanghai, one way everywhere: the long date and hours:minutes.

    2026年12月2日 10:52 in Chinese (issue 14: one format for dates, one for times), December 2, 2026 10:52 in
    English; seconds are never shown.
    """
    if value is None:
        return ""
    locale = get_locale()
    name = str(locale) if locale is not None else "zh_Hans_CN"
    return babel.dates.format_datetime(value, _time_pattern(name), tzinfo=DISPLAY_ZONE, locale=name)


@functools.lru_cache(maxsize=16)
def _time_pattern(locale: str) -> str:
    return f"{babel.Locale.parse(locale).date_formats['long'].pattern} HH:mm"


def install_template_gettext(app) -> None:
    """Templates look their messages up in the request locale's catalog, kept per locale for the process.

    Flask-Babel's own callables find the request's domain, locale and catalog through `g` three times for
    every message, and a list page says hundreds (its column labels on every row): a tenth of a page's CPU.
    Here the locale is read once per message and its catalog is one dictionary look-up away; a language
    switch, `force_locale` and a locale chosen per request behave as before, since the locale is still
    Flask-Babel's. Jinja's newstyle formatting (autoescaped variables, `%%`) is unchanged.
    """
    import flask_babel

    catalogs: dict = {}

    def translations():
        locale = get_locale()
        if locale is None:
            return flask_babel.get_translations()  # outside a request: the untranslated messages
        found = catalogs.get(locale)
        if found is None:
            found = catalogs[locale] = flask_babel.get_translations()
        return found

    env = app.jinja_env
    env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    # `_` is the extension's alias that resolves and calls `gettext`: point it at that function directly.
    env.globals["_"] = env.globals["gettext"]
