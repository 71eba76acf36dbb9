"""Load and validate a YAML rules file; every error names the rule, the field and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from facility.core.errors import RuleError
from rules.model import KINDS, RuleFile

#: The rules files shipped with the package: the office example (``serve``) and the demo story.
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
DEFAULT_RULES = EXAMPLES_DIR / "office.yaml"
DEMO_RULES = EXAMPLES_DIR / "demo.yaml"

__all__ = [
    "DEFAULT_RULES",
    "DEMO_RULES",
    "EXAMPLES_DIR",
    "check_rules",
    "load_rules",
    "parse_rules",
]

MAX_RULES_BYTES = 2 * 1024 * 1024
# libyaml's safe loader when PyYAML was built with it (about 10x faster on big rule files)
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_index(text: str) -> dict[tuple[Any, ...], int]:
    """Map (rule index, key...) paths to 1-based line numbers using the YAML node tree."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return lines

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return lines


def check_rules(text: str) -> tuple[RuleFile | None, list[RuleError]]:
    """Validate rules text; return the parsed file (if valid) and every error found."""
    if len(text.encode()) > MAX_RULES_BYTES:
        return None, [RuleError("-", "-", f"file is larger than {MAX_RULES_BYTES} bytes")]
    try:
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [RuleError("-", "-", f"not valid YAML: {exc}".splitlines()[0], line)]
    except RecursionError:
        return None, [RuleError("-", "-", "YAML nested too deeply; a rules file is a flat list")]
    if data is None:
        data = {"rules": []}
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict):
        return None, [RuleError("-", "-", "expected a mapping with a 'rules' list")]
    try:
        try:
            return RuleFile.model_validate(data), []
        except ValidationError as exc:
            return None, _errors(exc, data, _line_index(text))
    except RecursionError:
        return None, [RuleError("-", "-", "YAML aliases refer to themselves (a loop); remove it")]


def _errors(
    exc: ValidationError, data: dict[str, Any], lines: dict[tuple[Any, ...], int]
) -> list[RuleError]:
    errors: list[RuleError] = []
    for error in exc.errors():
        loc = list(error["loc"])
        rule_name = "-"
        field_path = loc
        yaml_path: tuple[Any, ...] = tuple(loc)
        if len(loc) >= 2 and loc[0] in ("rules", "maintenance") and isinstance(loc[1], int):
            section, index = loc[0], loc[1]
            listed = data.get(section)
            raw = listed[index] if isinstance(listed, list) and index < len(listed) else None
            rule_name = (
                str(raw.get("name"))
                if isinstance(raw, dict) and raw.get("name")
                else f"#{index + 1}"
            )
            if section == "maintenance":
                rule_name = f"maintenance window {rule_name}"
                field_path = loc[2:]
            else:
                # drop the discriminator tag pydantic inserts ("threshold") from the field path
                field_path = loc[3:] if len(loc) > 2 and loc[2] in KINDS else loc[2:]
            yaml_path = (section, index, *field_path)
        field = ".".join(str(p) for p in field_path) or "-"
        field = field.replace("for_", "for")
        line = None
        probe = yaml_path
        while probe and line is None:
            line = lines.get(probe)
            probe = probe[:-1]
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.append(RuleError(rule_name, field, message, line))
    return errors


def parse_rules(text: str) -> RuleFile:
    """Parse rules text or raise the first :class:`RuleError`."""
    parsed, errors = check_rules(text)
    if errors or parsed is None:
        raise errors[0]
    return parsed


def load_rules(path: Path) -> RuleFile:
    """Read and parse a rules file; a missing file is a RuleError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError("-", "-", f"cannot read rules file {path}: {exc}") from exc
    return parse_rules(text)
