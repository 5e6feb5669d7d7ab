"""BBQL: Bitbucket Cloud's ``q=`` filter language and ``sort=`` parameter for list endpoints.

Grammar (keywords are case-insensitive; AND binds tighter than OR)::

    query      := or_expr EOF
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := primary ("AND" primary)*
    primary    := "(" or_expr ")" | comparison
    comparison := FIELD OP value | FIELD ["NOT"] "IN" "(" value ("," value)* ")"
    value      := STRING | NUMBER | DATETIME | null | true | false

A dotted field fans out over lists, and a positive comparison (``=``, ``~``, ``>``, ``IN`` ...) holds when
it holds for any reached value. The negated operators (``!=``, ``!~``, ``NOT IN``) negate the whole positive
test, so ``reviewers.uuid != "{x}"`` means "no reviewer is {x}".

Every malformed query or sort raises :class:`BBQLError`; nothing else escapes :func:`parse`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, NoReturn, TypeVar

MAX_QUERY_LENGTH = 2000
MAX_NESTING = 50

T = TypeVar("T", bound=Mapping[str, Any])

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<badstring>")
    | (?P<datetime>[0-9]{4}-[0-9]{2}-[0-9]{2}
        (?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?)
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
    | (?P<op>[=!<>~]+)
    | (?P<lparen>\()
    | (?P<rparen>\))
    | (?P<comma>,)
    | (?P<ident>[A-Za-z_.][A-Za-z0-9_.]*)
    """,
    re.VERBOSE | re.DOTALL,
)
# Dots are tokenized as part of identifiers so a bad path gets a precise "invalid field name" message.
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_KEYWORDS = frozenset({"AND", "OR", "IN", "NOT"})
_LITERALS: dict[str, Any] = {"null": None, "true": True, "false": False}
_OPERATORS = ("=", "!=", "~", "!~", ">", ">=", "<", "<=")
_NEGATIONS = {"!=": "=", "!~": "~"}
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class BBQLError(ValueError):
    """A malformed ``q`` or ``sort``; ``detail`` is the human-readable text for the 400 response."""

    def __init__(self, detail: str, position: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.position = position  # 1-based character position, when there is one


class _Token(NamedTuple):
    kind: str
    text: str
    pos: int  # 0-based offset into the query


def _query_error(message: str, pos: int, text: str) -> BBQLError:
    return BBQLError(f"Invalid query: {message} at position {pos + 1} in '{text}'", pos + 1)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise _query_error(f"unexpected character {text[pos]!r}", pos, text)
        kind = match.lastgroup or ""
        if kind == "badstring":
            raise _query_error("unterminated string starting", pos, text)
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "", len(text)))
    return tokens


# --- evaluation -------------------------------------------------------------------------------------------


def resolve(obj: Mapping[str, Any], path: str) -> list[Any]:
    """Every value reached by the dotted ``path``: lists on the way are flattened, missing keys give None."""
    current: list[Any] = [obj]
    for key in path.split("."):
        reached = [item.get(key) if isinstance(item, Mapping) else None for item in current]
        current = _flatten(reached)
    return current


def _flatten(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    stack = list(reversed(values))  # iterative so nested lists can never hit the recursion limit
    while stack:
        value = stack.pop()
        if isinstance(value, list | tuple):
            stack.extend(reversed(value))
        else:
            out.append(value)
    return out


@lru_cache(maxsize=4096)
def _parse_iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # naive means UTC


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _parse_iso(value) if isinstance(value, str) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)  # bool is an int subclass


def _compare(actual: Any, op: str, literal: Any) -> bool:
    """The positive test ``actual <op> literal``; incompatible types never match."""
    if op == "in":
        return any(_compare(actual, "=", item) for item in literal)
    if literal is None or isinstance(literal, bool):
        return op == "=" and type(actual) is type(literal) and actual == literal
    left: Any
    if isinstance(literal, datetime):
        left = _as_datetime(actual)
    elif _is_number(literal):
        left = actual if _is_number(actual) else None
    else:
        left = actual if isinstance(actual, str) else None
    if left is None:
        return False
    if op == "~":
        return isinstance(left, str) and literal.casefold() in left.casefold()
    return _ORDERING[op](left, literal)


class _Node:
    def matches(self, obj: Mapping[str, Any]) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class _Comparison(_Node):
    path: str
    op: str  # a positive operator: = ~ > >= < <= in
    literal: Any
    negated: bool

    def matches(self, obj: Mapping[str, Any]) -> bool:
        values = resolve(obj, self.path) or [None]  # an empty list behaves like a missing value
        return any(_compare(value, self.op, self.literal) for value in values) != self.negated


@dataclass(frozen=True)
class _And(_Node):
    children: tuple[_Node, ...]

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(child.matches(obj) for child in self.children)


@dataclass(frozen=True)
class _Or(_Node):
    children: tuple[_Node, ...]

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return any(child.matches(obj) for child in self.children)


class Query:
    """A parsed BBQL query."""

    def __init__(self, text: str, root: _Node) -> None:
        self.text = text
        self._root = root

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return self._root.matches(obj)

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


# --- parsing ----------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)  # stay on eof
        return token

    def expected(self, what: str, token: _Token) -> NoReturn:
        found = "" if token.kind == "eof" else f" but found '{token.text}'"
        raise _query_error(f"expected {what}{found}", token.pos, self.text)

    def accept_keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "ident" and token.text.upper() == word:
            self.advance()
            return True
        return False

    def expect(self, kind: str, what: str) -> None:
        if self.peek().kind != kind:
            self.expected(what, self.peek())
        self.advance()

    def parse(self) -> _Node:
        node = self.parse_or()
        if self.peek().kind != "eof":
            self.expected("AND, OR or the end of the query", self.peek())
        return node

    def parse_or(self) -> _Node:
        children = [self.parse_and()]
        while self.accept_keyword("OR"):
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else _Or(tuple(children))

    def parse_and(self) -> _Node:
        children = [self.parse_primary()]
        while self.accept_keyword("AND"):
            children.append(self.parse_primary())
        return children[0] if len(children) == 1 else _And(tuple(children))

    def parse_primary(self) -> _Node:
        token = self.peek()
        if token.kind != "lparen":
            return self.parse_comparison()
        # Bounding the depth keeps recursion far from Python's limit for any input.
        if self.depth >= MAX_NESTING:
            raise _query_error(f"parentheses nested more than {MAX_NESTING} deep", token.pos, self.text)
        self.advance()
        self.depth += 1
        node = self.parse_or()
        self.expect("rparen", "AND, OR or ')'")
        self.depth -= 1
        return node

    def parse_field(self) -> str:
        token = self.advance()
        if token.kind != "ident" or token.text.upper() in _KEYWORDS:
            self.expected("a field name", token)
        if not _FIELD_RE.fullmatch(token.text):
            raise _query_error(f"invalid field name '{token.text}'", token.pos, self.text)
        return token.text

    def parse_comparison(self) -> _Node:
        path = self.parse_field()
        if self.accept_keyword("NOT"):
            if not self.accept_keyword("IN"):
                self.expected("IN after NOT", self.peek())
            return _Comparison(path, "in", self.parse_list(), negated=True)
        if self.accept_keyword("IN"):
            return _Comparison(path, "in", self.parse_list(), negated=False)
        token = self.advance()
        if token.kind != "op" or token.text not in _OPERATORS:
            self.expected("an operator (=, !=, ~, !~, >, >=, <, <=, IN, NOT IN)", token)
        literal = self.parse_value()
        return _Comparison(path, _NEGATIONS.get(token.text, token.text), literal, token.text in _NEGATIONS)

    def parse_list(self) -> tuple[Any, ...]:
        self.expect("lparen", "'(' to start a list of values")
        items = [self.parse_value()]
        while self.peek().kind == "comma":
            self.advance()
            items.append(self.parse_value())
        self.expect("rparen", "',' or ')' to close the list")
        return tuple(items)

    def parse_value(self) -> Any:
        token = self.advance()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1], flags=re.DOTALL)  # backslash escapes next char
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "datetime":
            parsed = _parse_iso(token.text)
            if parsed is None:
                raise _query_error(f"invalid datetime '{token.text}'", token.pos, self.text)
            return parsed
        if token.kind == "ident" and token.text.lower() in _LITERALS:
            return _LITERALS[token.text.lower()]
        self.expected("a value", token)


def parse(q: str) -> Query:
    """Parse a BBQL query; raises :class:`BBQLError` on any syntax error."""
    if len(q) > MAX_QUERY_LENGTH:
        raise BBQLError(f"Invalid query: query is {len(q)} characters long; the limit is {MAX_QUERY_LENGTH}")
    return Query(q, _Parser(q).parse())


def filter_objects(objs: Iterable[T], q: str | None) -> list[T]:
    """The objects matching ``q``; a missing or blank query matches everything."""
    if q is None or not q.strip():
        return list(objs)
    query = parse(q)
    return [obj for obj in objs if query.matches(obj)]


# --- sorting ----------------------------------------------------------------------------------------------


def _sort_key(values: list[Any]) -> tuple[int, int, Any]:
    """Total order over mixed values: None after everything, then grouped by type so sorting never raises."""
    value = values[0] if values else None
    if value is None:
        return (1, 0, 0)
    if isinstance(value, bool):
        return (0, 0, value)
    if _is_number(value):
        return (0, 1, value)
    if isinstance(value, str):
        return (0, 2, value)  # ISO-8601 timestamps in one format order correctly as strings
    if isinstance(value, datetime):
        return (0, 3, _as_datetime(value))
    return (0, 4, repr(value))


def sort_objects(objs: list[T], sort: str | None) -> list[T]:
    """Stable sort by one dotted field (``-field`` for descending); None sorts last ascending."""
    if sort is None or not sort.strip():
        return list(objs)
    spec = sort.strip()
    field = spec.removeprefix("-")
    if not field:
        raise BBQLError(f"Invalid sort: missing field name in '{sort}'")
    if not _FIELD_RE.fullmatch(field):
        raise BBQLError(f"Invalid sort: expected one field name like 'created_on' or '-created_on': '{sort}'")
    # reverse=True keeps equal elements in their original order, so descending is stable too.
    return sorted(objs, key=lambda obj: _sort_key(resolve(obj, field)), reverse=spec.startswith("-"))
