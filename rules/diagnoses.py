"""The diagnosis catalogue: what a fault-detection rule's alert means to the technician sent out.

An alert says *that* a condition held ("mixed air colder than return and outdoor air"); the
work order must say *what is probably wrong and what to check*, in the language of the person
who reads it. That knowledge is data (``rules/diagnoses/*.yaml``), kept apart from the rule
definitions so the people who tune detection and the people who write SOPs do not edit the
same file. It is validated once at load time with pydantic, so a typo in a checklist key or a
missing translation is an error at start-up naming the file and the field, not a blank line on
a work order at 3 a.m.

Entries are matched to rules by name or by name prefix (``ahu-g36-fc4`` matches
``ahu-g36-fc4-hunting``), so a rule may be renamed within its fault condition without breaking
its diagnosis. Checklist steps are shared by key: maintenance deduplicates them by key when
several fault conditions fold into one work order.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from facility.core.errors import ConfigError

__all__ = [
    "DEFAULT_DIAGNOSES",
    "DIAGNOSES_DIR",
    "ChecklistStep",
    "Diagnosis",
    "DiagnosisCatalogue",
    "Text",
    "default_catalogue",
    "load_diagnoses",
    "parse_diagnoses",
]

DIAGNOSES_DIR = Path(__file__).resolve().parent / "diagnoses"
DEFAULT_DIAGNOSES = DIAGNOSES_DIR / "ahu-g36.yaml"

_CJK = re.compile(r"[\u3400-\u9fff]")
#: Longest text we accept; a checklist label must also fit ``checklist_items.label`` (200).
_MAX_TEXT = 600
_MAX_LABEL = 200

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
PointName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
RuleName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Frozen):
    """One text in English (``en``) and Simplified Chinese (``zh``), both required."""

    en: str = Field(min_length=1, max_length=_MAX_TEXT)
    zh: str = Field(min_length=1, max_length=_MAX_TEXT)

    @model_validator(mode="after")
    def _both_languages(self) -> Text:
        if not self.en.strip() or not self.zh.strip():
            raise ValueError("both 'en' and 'zh' need text")
        if _CJK.search(self.en):
            raise ValueError(f"'en' holds Chinese characters: {self.en[:40]!r}")
        if not _CJK.search(self.zh):
            raise ValueError(f"'zh' holds no Chinese text: {self.zh[:40]!r}; translate it")
        return self

    def get(self, language: str) -> str:
        """The text in ``language`` (``zh``, ``zh-Hans``...); English for anything else."""
        return self.zh if language.lower().startswith("zh") else self.en


class ChecklistStep(_Frozen):
    """One SOP step a diagnosed work order gets (as a checklist item of that ``kind``)."""

    kind: Literal["pass_fail", "number", "text"]
    label: Text

    @model_validator(mode="after")
    def _fits_a_checklist_item(self) -> ChecklistStep:
        if len(self.label.en) > _MAX_LABEL or len(self.label.zh) > _MAX_LABEL:
            raise ValueError(f"a checklist label holds at most {_MAX_LABEL} characters")
        return self


class Diagnosis(_Frozen):
    """What one fault condition means: the plain-words title and diagnosis, the likely causes
    (most likely first), the points whose values prove it and the checklist step keys."""

    match: RuleName
    fc: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,4}[0-9]{1,3}$")]
    title: Text
    diagnosis: Text
    causes: list[Text] = Field(min_length=1, max_length=12)
    points: list[PointName] = Field(min_length=1, max_length=20)
    checklist: list[Key] = Field(min_length=1, max_length=20)

    def matches(self, rule: str) -> bool:
        """True for the rule named ``match`` or any rule named ``<match>-...``."""
        return rule == self.match or rule.startswith(self.match + "-")


class DiagnosisCatalogue(_Frozen):
    """A whole catalogue file: shared checklist steps and the diagnoses that use them."""

    version: Literal[1]
    point_names: dict[PointName, Text]
    checklist_items: dict[Key, ChecklistStep]
    diagnoses: list[Diagnosis] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DiagnosisCatalogue:
        seen: set[str] = set()
        for index, entry in enumerate(self.diagnoses):
            if entry.match in seen:
                raise ValueError(f"diagnoses.{index}: match {entry.match!r} appears twice")
            seen.add(entry.match)
            unnamed = [point for point in entry.points if point not in self.point_names]
            if unnamed:
                raise ValueError(
                    f"diagnoses.{index} ({entry.match}): point(s) {', '.join(unnamed)} have no"
                    " name; add them under point_names"
                )
            unknown = [key for key in entry.checklist if key not in self.checklist_items]
            if unknown:
                raise ValueError(
                    f"diagnoses.{index} ({entry.match}): unknown checklist item(s) "
                    f"{', '.join(unknown)}; define them under checklist_items"
                )
            if len(set(entry.checklist)) != len(entry.checklist):
                raise ValueError(f"diagnoses.{index} ({entry.match}): a checklist key repeats")
        return self

    def for_rule(self, rule: str) -> Diagnosis | None:
        """The diagnosis of ``rule``: an exact match first, else the longest matching prefix."""
        best: Diagnosis | None = None
        for entry in self.diagnoses:
            if entry.match == rule:
                return entry
            if entry.matches(rule) and (best is None or len(entry.match) > len(best.match)):
                best = entry
        return best

    def steps(self, rules: list[str]) -> list[tuple[str, ChecklistStep]]:
        """The union of the checklist steps of ``rules``' diagnoses, in first-seen order, each
        key once (two fault conditions that both ask for the mixed-air sensor check ask once)."""
        keys: dict[str, None] = {}
        for rule in rules:
            entry = self.for_rule(rule)
            for key in entry.checklist if entry else ():
                keys.setdefault(key, None)
        return [(key, self.checklist_items[key]) for key in keys]


def _where(error: ValidationError) -> str:
    parts = []
    for detail in error.errors()[:5]:
        location = ".".join(str(p) for p in detail["loc"]) or "(top)"
        parts.append(f"field {location!r}: {detail['msg']}")
    more = error.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_diagnoses(text: str, *, source: str = "<text>") -> DiagnosisCatalogue:
    """Parse and validate a catalogue; any problem is a ConfigError naming ``source`` and field."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc}); fix the file's syntax") from exc
    if not isinstance(document, dict):
        raise ConfigError(
            f"{source}: expected a mapping with version, point_names, checklist_items and diagnoses"
        )
    try:
        return DiagnosisCatalogue.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_where(exc)}") from exc


def load_diagnoses(path: Path = DEFAULT_DIAGNOSES) -> DiagnosisCatalogue:
    """Read and validate a catalogue file (an unreadable file is a ConfigError naming it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read diagnosis catalogue {path}: {exc}") from exc
    return parse_diagnoses(text, source=str(path))


@cache
def default_catalogue() -> DiagnosisCatalogue:
    """The shipped catalogue, loaded once per process (it is read-only data)."""
    return load_diagnoses(DEFAULT_DIAGNOSES)
