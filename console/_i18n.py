"""Message catalogues and locale-aware formatting for the console (English, Simplified Chinese).

The ``.po`` files under ``console/locale`` are the source of truth. They are compiled to
gettext catalogues in memory when the console starts (Babel's ``read_po`` → ``write_mo``), so a
checkout never serves a stale ``.mo`` and nothing has to run at install time.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import (
    format_datetime,
    format_skeleton,
    format_time,
    format_timedelta,
    get_day_names,
    get_timezone,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALE_DIR",
    "NC_",
    "N_",
    "Localizer",
    "catalogue",
    "localizer",
    "negotiate",
]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: ``datetime`` under another name: the Localizer has a method of that name.
Instant = datetime
Day = date

DEFAULT_LANGUAGE = "en"
#: Language tag (as the cookie and ``?lang=`` carry it) → Babel locale id and catalogue folder.
LANGUAGES: Mapping[str, str] = {"en": "en", "zh-Hans": "zh_Hans_CN"}
_CATALOGUE_DIR = {"en": "en", "zh-Hans": "zh_Hans"}
_NATIVE_NAMES = {"en": "English", "zh-Hans": "简体中文"}


@cache
def catalogue(language: str) -> tuple[Translations, frozenset[str]]:
    """The compiled catalogue of ``language`` and the ids it translates (unknown: ``KeyError``)."""
    folder = _CATALOGUE_DIR[language]
    po_path = LOCALE_DIR / folder / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        parsed = read_po(handle, locale=LANGUAGES[language])
    known = frozenset(
        _key(message.context, str(message.id))
        for message in parsed
        if message.id and message.string and not message.fuzzy
    )
    buffer = io.BytesIO()
    write_mo(buffer, parsed)
    buffer.seek(0)
    return Translations(buffer), known


def _key(context: str | None, message: str) -> str:
    """A message's key as gettext stores it: ``context\x04message`` when it has a context."""
    return message if context is None else f"{context}\x04{message}"


@cache
def _zone(name: str) -> tzinfo:
    """A site's time zone; an unknown name (a typo in the site record) falls back to UTC."""
    try:
        return get_timezone(name)
    except LookupError:
        return get_timezone("UTC")


def negotiate(choice: str | None, accept_language: str | None) -> str:
    """The user's explicit choice if we speak it, else the browser's best match, else English.

    ``Accept-Language`` is parsed leniently: quality values order the tags, anything malformed
    is skipped, and any Chinese tag (``zh``, ``zh-CN``, ``zh-Hans-SG``) maps to Simplified
    Chinese, the only Chinese catalogue we ship.
    """
    if choice is not None and choice in LANGUAGES:
        return choice
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0].lower()
        if primary == "zh" and "hant" not in tag.lower():
            return "zh-Hans"
        if primary == "en":
            return "en"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Localizer:
    """Everything a template needs to speak one language: gettext and formatters.

    ``missing`` collects every message asked for that the catalogue does not translate, which
    is how the tests prove that no page shows an untranslated key.
    """

    language: str
    translations: Translations
    known: frozenset[str]
    missing: set[str] = field(default_factory=set)

    @property
    def locale(self) -> Locale:
        return Locale.parse(LANGUAGES[self.language])

    def gettext(self, message: str) -> str:
        if message not in self.known:
            self.missing.add(message)
        return self.translations.gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        """Translate ``message`` in ``context``: one English word with two meanings ("Order",
        a work order or a quantity to order) gets a catalogue entry per meaning."""
        if _key(context, message) not in self.known:
            self.missing.add(_key(context, message))
        return str(self.translations.pgettext(context, message))

    def label(self, message: str) -> str:
        """Translate a data value (a metric name) if the catalogue knows it, else show it as is."""
        return self.translations.gettext(message) if message in self.known else message

    def datetime(self, value: datetime | None, tz: str = "UTC") -> str:
        """A timestamp in the locale's medium format, in the site's time zone."""
        if value is None:
            return "—"
        return format_datetime(value, format="medium", tzinfo=_zone(tz), locale=self.locale)

    def time(self, value: Instant, tz: str = "UTC") -> str:
        """A clock time (hours and minutes) in the site's time zone: a chart axis tick."""
        return format_time(value, format="short", tzinfo=_zone(tz), locale=self.locale)

    def skeleton(self, skeleton: str, value: Instant | Day) -> str:
        """A date by CLDR skeleton, laid out as the locale writes it: ``yMMMM`` is "March 2026"
        in English and "2026年3月" in Chinese; ``MMMd`` is "Mar 2" / "3月2日"."""
        return str(format_skeleton(skeleton, value, locale=self.locale))

    def relative(self, delta: timedelta) -> str:
        """A time from now as people say it: "in 25 minutes", "2 hours ago" (25分钟后, 2小时前).
        Rounded to one unit, minutes at the finest: a countdown, not a stopwatch."""
        return str(
            format_timedelta(
                delta, granularity="minute", threshold=1.5, add_direction=True, locale=self.locale
            )
        )

    @property
    def weekdays(self) -> list[str]:
        """Short weekday names, Monday first (周一 ... 周日; Mon ... Sun)."""
        names = get_day_names("abbreviated", locale=self.locale)
        return [str(names[index]) for index in range(7)]

    def number(self, value: float | None, digits: int = 1) -> str:
        """A number with the locale's separators and at most ``digits`` decimals."""
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    @property
    def languages(self) -> list[tuple[str, str]]:
        return [(tag, _NATIVE_NAMES[tag]) for tag in LANGUAGES]


def localizer(language: str) -> Localizer:
    """A :class:`Localizer` for ``language`` (falls back to English for an unknown tag)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    try:
        return Localizer(language, *catalogue(language))
    except UnknownLocaleError:  # pragma: no cover - Babel ships both locales
        return Localizer(DEFAULT_LANGUAGE, *catalogue(DEFAULT_LANGUAGE))


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def NC_(context: str, message: str) -> tuple[str, str]:  # noqa: N802 - as N_, with a context
    """Mark ``message`` in ``context`` for extraction (``pybabel extract -k NC_:1c,2``); it is
    translated where it is shown, with :meth:`Localizer.pgettext`."""
    return context, message
