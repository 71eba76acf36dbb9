"""The condition language of ``expression`` rules, parsed by lark and compiled once to closures.

::

    supply_fan_status and mean(mixed_air_temperature, 5m) + eps_mat
        < min(mean(return_air_temperature, 5m) - eps_rat, outdoor_air_temperature - eps_oat)

What it has: numbers; names (a point, read as its latest value, or a parameter of the rule);
``mean(point, 5m)`` (the rolling mean of the point's readings within the window);
``changes(state, 1h)`` (how many times the G36 operating state changed within the window, for
FC4's hunting check; ``state`` is the only thing it counts); ``min``,
``max`` (two or more arguments) and ``abs``; ``+ - * /`` and unary ``-``; comparisons
``< <= > >= == !=`` (not chained); ``and``, ``or``, ``not``; ``true``, ``false``; parentheses.
Nothing else: no attribute access, no calls outside the four functions, no Python ``eval``.

Types are checked when the rule loads: arithmetic and comparisons take numbers, ``and``/``or``/
``not`` take booleans, a boolean point (fan status, occupancy) is a boolean and its ``mean`` a
number (the fraction of readings that were on). Every error carries the column it refers to.

A compiled :class:`Expression` lists the values it needs (``refs``: ``(metric, window_s)``, a
window of 0 meaning the latest value) and evaluates on a mapping holding them. The caller decides
what "unknown" means (a point missing or stale): it does not call the expression then. A division
by zero raises ``ZeroDivisionError``, which the caller also reads as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

__all__ = ["STATE_CHANGES", "Expression", "ExpressionError", "Key", "compile_expression"]

Key = tuple[str, float]  # (metric, window in seconds; 0 = the latest value)
Values = Mapping[Key, float]
Type = Literal["num", "bool", "duration"]

MAX_WINDOW_S = 86400.0
#: the metric part of a ``changes(state, W)`` key: not a point, the operating-state history
STATE_CHANGES = "@state_changes"
_FUNCTIONS = "mean, changes, min, max, abs"
MAX_LENGTH = 2000

_GRAMMAR = r"""
?start: disj
?disj: conj | disj "or" conj -> or_
?conj: neg | conj "and" neg -> and_
?neg: cmp | "not" neg -> not_
?cmp: sum
    | sum "<" sum -> lt
    | sum "<=" sum -> le
    | sum ">" sum -> gt
    | sum ">=" sum -> ge
    | sum "==" sum -> eq
    | sum "!=" sum -> ne
?sum: term | sum "+" term -> add | sum "-" term -> sub
?term: factor | term "*" factor -> mul | term "/" factor -> div
?factor: atom | "-" factor -> negate
?atom: DURATION -> duration
     | NUMBER -> number
     | "true" -> true
     | "false" -> false
     | NAME "(" [disj ("," disj)*] ")" -> call
     | NAME -> name
     | "(" disj ")"
DURATION.2: /\d+(\.\d+)?(ms|s|m|h|d)(?![A-Za-z0-9_])/
NUMBER: /\d+(\.\d+)?([eE][+-]?\d+)?/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
%ignore /[ \t\r\n]+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_TYPE_WORDS = {"num": "a number", "bool": "true/false", "duration": "a duration"}


class ExpressionError(ValueError):
    """An expression does not parse or does not type-check; ``column`` is 1-based."""

    def __init__(self, message: str, column: int | None) -> None:
        self.column = column
        where = f"column {column}: " if column is not None else ""
        super().__init__(f"{where}{message}")


Fn = Callable[[Values], Any]


@dataclass(frozen=True, slots=True)
class _Node:
    type: Type
    fn: Fn
    column: int
    const: float | None = None  # the value of a constant (a number, a duration in seconds)


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: ``fn(values)`` with a value for every key in ``refs``."""

    text: str
    type: Literal["num", "bool"]
    fn: Fn
    refs: frozenset[Key]
    names: dict[str, str]  # point name used -> metric

    def __call__(self, values: Values) -> Any:
        return self.fn(values)


class _Compiler:
    def __init__(
        self,
        points: Mapping[str, str],
        params: Mapping[str, float],
        known: frozenset[str],
        booleans: frozenset[str],
    ) -> None:
        self.points = points
        self.params = params
        self.known = known
        self.booleans = booleans
        self.refs: set[Key] = set()
        self.names: dict[str, str] = {}

    def metric_of(self, name: str) -> str | None:
        if name in self.points:
            return self.points[name]
        return name if name in self.known else None

    def compile(self, tree: Tree[Token] | Token) -> _Node:
        if isinstance(tree, Token):  # a lone token only when the grammar inlines (not used)
            raise ExpressionError(f"unexpected {tree!s}", tree.column)
        column = tree.meta.column if not tree.meta.empty else 1
        handler = getattr(self, f"_{tree.data}", None)
        if handler is None:
            raise ExpressionError(f"unsupported construct {tree.data}", column)
        node: _Node = handler(tree, column)
        return node

    # -- leaves ---------------------------------------------------------------------------------
    def _number(self, tree: Tree[Token], column: int) -> _Node:
        value = float(str(tree.children[0]))
        return _Node("num", lambda _v: value, column, value)

    def _duration(self, tree: Tree[Token], column: int) -> _Node:
        text = str(tree.children[0])
        unit = text.lstrip("0123456789.")
        seconds = float(text[: len(text) - len(unit)]) * _UNIT_S[unit]
        return _Node("duration", lambda _v: seconds, column, seconds)

    def _true(self, tree: Tree[Token], column: int) -> _Node:
        return _Node("bool", lambda _v: True, column)

    def _false(self, tree: Tree[Token], column: int) -> _Node:
        return _Node("bool", lambda _v: False, column)

    def _name(self, tree: Tree[Token], column: int) -> _Node:
        name = str(tree.children[0])
        if name in self.params:
            value = float(self.params[name])
            return _Node("num", lambda _v: value, column, value)
        metric = self.metric_of(name)
        if metric is None:
            raise ExpressionError(
                f"unknown point or parameter {name!r}; declare it under 'points' (name: metric) "
                "or 'params', or use a canonical point name (docs/fdd.md)",
                column,
            )
        key: Key = (metric, 0.0)
        self.refs.add(key)
        self.names[name] = metric
        if metric in self.booleans:
            return _Node("bool", lambda v: v[key] >= 0.5, column)
        return _Node("num", lambda v: v[key], column)

    # -- functions ------------------------------------------------------------------------------
    def _call(self, tree: Tree[Token], column: int) -> _Node:
        name = str(tree.children[0])
        raw = [child for child in tree.children[1:] if child is not None]
        if name == "mean":
            return self._mean(raw, column)
        if name == "changes":
            return self._changes(raw, column)
        if name not in ("min", "max", "abs"):
            raise ExpressionError(f"unknown function {name!r}; functions: {_FUNCTIONS}", column)
        args = [self.compile(child) for child in raw]
        for arg in args:
            self._want(arg, "num", f"{name}()")
        if name == "abs":
            if len(args) != 1:
                raise ExpressionError(f"abs() takes one argument, got {len(args)}", column)
            inner = args[0].fn
            return _Node("num", lambda v: abs(inner(v)), column)
        if len(args) < 2:
            raise ExpressionError(f"{name}() takes two or more arguments", column)
        fns = tuple(arg.fn for arg in args)
        pick = min if name == "min" else max
        if len(fns) == 2:
            a, b = fns
            return _Node("num", lambda v: pick(a(v), b(v)), column)
        return _Node("num", lambda v: pick(f(v) for f in fns), column)

    def _mean(self, raw: list[Any], column: int) -> _Node:
        if len(raw) != 2:
            raise ExpressionError(
                f"mean() takes a point and a window, e.g. mean(mixed_air_temperature, 5m); "
                f"got {len(raw)} arguments",
                column,
            )
        point, window = raw
        if not (isinstance(point, Tree) and point.data == "name"):
            raise ExpressionError("mean()'s first argument must be a point name", column)
        name = str(point.children[0])
        metric = self.metric_of(name)
        if metric is None or name in self.params:
            raise ExpressionError(
                f"mean() needs a point, and {name!r} is not one (declare it under 'points')",
                point.meta.column,
            )
        seconds = self.compile(window)
        if seconds.type != "duration" or seconds.const is None:
            raise ExpressionError(
                "mean()'s window must be a duration like 30s, 5m or 1h", seconds.column
            )
        if not 0 < seconds.const <= MAX_WINDOW_S:
            raise ExpressionError("mean()'s window must be above 0 and at most 1d", seconds.column)
        key: Key = (metric, seconds.const)
        self.refs.add(key)
        self.refs.add((metric, 0.0))  # the latest value says whether the point is fresh
        self.names[name] = metric
        return _Node("num", lambda v: v[key], column)

    def _changes(self, raw: list[Any], column: int) -> _Node:
        """``changes(state, W)``: operating-state changes within ``W`` (G36 FC4, hunting).

        Only the operating state is counted: it is what G36 limits (ΔOSmax changes per hour),
        and counting a point's value changes would count every noisy reading.
        """
        usage = "changes() counts operating-state changes: changes(state, 1h)"
        if len(raw) != 2:
            raise ExpressionError(f"{usage}; got {len(raw)} arguments", column)
        what, window = raw
        if not (
            isinstance(what, Tree) and what.data == "name" and str(what.children[0]) == "state"
        ):
            where = what.meta.column if isinstance(what, Tree) and not what.meta.empty else column
            raise ExpressionError(f"{usage}; its first argument must be 'state'", where)
        seconds = self.compile(window)
        if seconds.type != "duration" or seconds.const is None:
            raise ExpressionError(
                "changes()'s window must be a duration like 30m or 1h", seconds.column
            )
        if not 0 < seconds.const <= MAX_WINDOW_S:
            raise ExpressionError(
                "changes()'s window must be above 0 and at most 1d", seconds.column
            )
        key: Key = (STATE_CHANGES, seconds.const)
        self.refs.add(key)
        return _Node("num", lambda v: v[key], column)

    # -- operators ------------------------------------------------------------------------------
    def _want(self, node: _Node, wanted: Type, where: str) -> None:
        if node.type != wanted:
            raise ExpressionError(
                f"{where} needs {_TYPE_WORDS[wanted]}, got {_TYPE_WORDS[node.type]}", node.column
            )

    def _binary(self, tree: Tree[Token], operand: Type, symbol: str) -> tuple[Fn, Fn]:
        left, right = (self.compile(child) for child in tree.children)
        self._want(left, operand, f"'{symbol}'")
        self._want(right, operand, f"'{symbol}'")
        return left.fn, right.fn

    def _or_(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._binary(tree, "bool", "or")
        return _Node("bool", lambda v: a(v) or b(v), column)

    def _and_(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._binary(tree, "bool", "and")
        return _Node("bool", lambda v: a(v) and b(v), column)

    def _not_(self, tree: Tree[Token], column: int) -> _Node:
        inner = self.compile(tree.children[0])
        self._want(inner, "bool", "'not'")
        fn = inner.fn
        return _Node("bool", lambda v: not fn(v), column)

    def _negate(self, tree: Tree[Token], column: int) -> _Node:
        inner = self.compile(tree.children[0])
        self._want(inner, "num", "'-'")
        fn = inner.fn
        if inner.const is not None:
            value = -inner.const
            return _Node("num", lambda _v: value, column, value)
        return _Node("num", lambda v: -fn(v), column)

    def _add(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._binary(tree, "num", "+")
        return _Node("num", lambda v: a(v) + b(v), column)

    def _sub(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._binary(tree, "num", "-")
        return _Node("num", lambda v: a(v) - b(v), column)

    def _mul(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._binary(tree, "num", "*")
        return _Node("num", lambda v: a(v) * b(v), column)

    def _div(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._binary(tree, "num", "/")
        return _Node("num", lambda v: a(v) / b(v), column)

    def _compare(self, tree: Tree[Token], symbol: str) -> tuple[Fn, Fn]:
        left, right = (self.compile(child) for child in tree.children)
        if symbol in ("==", "!=") and left.type == right.type == "bool":
            return left.fn, right.fn
        self._want(left, "num", f"'{symbol}'")
        self._want(right, "num", f"'{symbol}'")
        return left.fn, right.fn

    def _lt(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._compare(tree, "<")
        return _Node("bool", lambda v: a(v) < b(v), column)

    def _le(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._compare(tree, "<=")
        return _Node("bool", lambda v: a(v) <= b(v), column)

    def _gt(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._compare(tree, ">")
        return _Node("bool", lambda v: a(v) > b(v), column)

    def _ge(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._compare(tree, ">=")
        return _Node("bool", lambda v: a(v) >= b(v), column)

    def _eq(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._compare(tree, "==")
        return _Node("bool", lambda v: a(v) == b(v), column)

    def _ne(self, tree: Tree[Token], column: int) -> _Node:
        a, b = self._compare(tree, "!=")
        return _Node("bool", lambda v: a(v) != b(v), column)


def _parse(text: str) -> Tree[Token]:
    try:
        tree = _PARSER.parse(text)
    except UnexpectedCharacters as exc:
        raise ExpressionError(
            f"unexpected character {text[exc.pos_in_stream or 0]!r}", exc.column
        ) from None
    except UnexpectedEOF:
        raise ExpressionError("the expression ends too early", len(text) + 1) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise ExpressionError("the expression ends too early", len(text) + 1) from None
        raise ExpressionError(f"unexpected {exc.token!s}", exc.column) from None
    except UnexpectedInput as exc:  # pragma: no cover - the three above are its subclasses
        raise ExpressionError("cannot parse the expression", exc.column) from None
    if isinstance(tree, Token):  # pragma: no cover - ?start always yields a tree here
        raise ExpressionError("cannot parse the expression", 1)
    return tree


def compile_expression(
    text: str,
    *,
    want: Literal["num", "bool"],
    points: Mapping[str, str],
    params: Mapping[str, float],
    known: frozenset[str],
    booleans: frozenset[str],
) -> Expression:
    """Parse and type-check ``text``; raise :class:`ExpressionError` with the column."""
    return _compile(
        text,
        want,
        tuple(sorted(points.items())),
        tuple(sorted(params.items())),
        known,
        booleans,
    )


@lru_cache(maxsize=1024)
def _compile(
    text: str,
    want: Literal["num", "bool"],
    points: tuple[tuple[str, str], ...],
    params: tuple[tuple[str, float], ...],
    known: frozenset[str],
    booleans: frozenset[str],
) -> Expression:
    if not text.strip():
        raise ExpressionError("the expression is empty", 1)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters", None)
    tree = _parse(text)
    compiler = _Compiler(dict(points), dict(params), known, booleans)
    try:
        node = compiler.compile(tree)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply", None) from None
    if node.type != want:
        hint = " (add a comparison, e.g. '> 0')" if want == "bool" else ""
        raise ExpressionError(
            f"the expression must give {_TYPE_WORDS[want]}, "
            f"it gives {_TYPE_WORDS[node.type]}{hint}",
            1,
        )
    return Expression(text, want, node.fn, frozenset(compiler.refs), compiler.names)
