"""BBQL (``q=``) filtering and ``sort=`` ordering for the Bitbucket emulator's list endpoints."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.bitbucket.bbql import (
    MAX_NESTING,
    MAX_QUERY_LENGTH,
    BBQLError,
    Query,
    filter_objects,
    parse,
    resolve,
    sort_objects,
)

ALICE = "{a1b2c3d4-0000-4000-8000-00000000000a}"
BOB = "{b1b2c3d4-0000-4000-8000-00000000000b}"
CAROL = "{c1b2c3d4-0000-4000-8000-00000000000c}"


def _pr(pr_id: int, title: str, source: str, state: str, reviewers: list[str], **extra: Any) -> dict[str, Any]:
    pr: dict[str, Any] = {
        "type": "pullrequest",
        "id": pr_id,
        "title": title,
        "state": state,
        "source": {"branch": {"name": source}, "repository": {"full_name": "acme/widgets"}},
        "destination": {"branch": {"name": "main"}},
        "author": {"uuid": ALICE, "display_name": "Alice"},
        "reviewers": [{"uuid": uuid, "type": "user"} for uuid in reviewers],
        "comment_count": pr_id * 2,
        "draft": False,
        "created_on": f"2024-01-{pr_id:02d}T09:30:00.000000+00:00",
        "updated_on": f"2024-02-{pr_id:02d}T12:00:00.123456+00:00",
    }
    pr.update(extra)
    return pr


PULL_REQUESTS = [
    _pr(1, "Add login page", "feature/login", "OPEN", [BOB]),
    _pr(2, 'Fix "quoted" crash', "bugfix/crash", "MERGED", [BOB, CAROL]),
    _pr(3, "WIP: refactor auth", "feature/auth", "OPEN", [], draft=True),
    _pr(4, "Bump deps", "chore/deps", "DECLINED", [CAROL], comment_count=None),
    _pr(5, "Docs: C:\\path notes", "docs/windows", "SUPERSEDED", [ALICE], task_count=2.5),
]

ISSUES: list[dict[str, Any]] = [
    {
        "id": 1,
        "title": "Crash on start",
        "state": "new",
        "priority": "major",
        "votes": 3,
        "created_on": "2013-11-08T01:11:03.222520+00:00",
        "assignee": None,
        "content": {"raw": "App crashes when CONFIG is missing", "markup": "markdown"},
    },
    {
        "id": 2,
        "title": "Typo in footer",
        "state": "resolved",
        "priority": "trivial",
        "votes": 0,
        "created_on": "2014-03-01T08:00:00+00:00",
        "assignee": {"uuid": BOB},
        "content": {"raw": "footer says 'Copyrigth'", "markup": "markdown"},
    },
    {
        "id": 3,
        "title": "Slow search",
        "state": "open",
        "priority": "minor",
        "votes": 12,
        "created_on": "2015-06-30T23:59:59+02:00",
        "assignee": {"uuid": CAROL},
        "content": {"raw": "", "markup": "markdown"},
    },
    {
        "id": 4,
        "title": "Broken date",
        "state": "new",
        "priority": "minor",
        "votes": 1,
        "created_on": "not a date",
        "assignee": None,
    },
]


def pr_ids(q: str | None) -> list[int]:
    return [pr["id"] for pr in filter_objects(PULL_REQUESTS, q)]


def issue_ids(q: str | None) -> list[int]:
    return [issue["id"] for issue in filter_objects(ISSUES, q)]


# --- operators --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('state = "OPEN"', [1, 3]),
        ('state = "open"', []),  # = is case-sensitive
        ('state != "OPEN"', [2, 4, 5]),
        ('title ~ "FIX"', [2]),  # ~ is case-insensitive contains
        ('title ~ "wip:"', [3]),
        ('title !~ "A"', [4]),
        ("id > 3", [4, 5]),
        ("id >= 3", [3, 4, 5]),
        ("id < 2", [1]),
        ("id <= 2", [1, 2]),
        ('state IN ("OPEN", "MERGED")', [1, 2, 3]),
        ('state NOT IN ("OPEN", "MERGED")', [4, 5]),
        ("id IN (2, 4, 99)", [2, 4]),
        ('source.branch.name > "d"', [1, 3, 5]),  # string ordering
        ('source.branch.name <= "chore/deps"', [2, 4]),
    ],
)
def test_operators(q: str, expected: list[int]) -> None:
    assert pr_ids(q) == expected


def test_contains_with_empty_string_matches_every_string_value() -> None:
    assert issue_ids('content.raw ~ ""') == [1, 2, 3]


def test_contains_is_false_on_non_string_fields_and_its_negation_true() -> None:
    assert pr_ids('id ~ "1"') == []
    assert pr_ids('id !~ "1"') == [1, 2, 3, 4, 5]
    assert pr_ids("id ~ 1") == []


def test_issue_content_raw_contains_is_case_insensitive() -> None:
    assert issue_ids('content.raw ~ "config"') == [1]
    assert issue_ids('content.raw ~ "COPYRIGTH"') == [2]


# --- boolean structure ------------------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    # Read as: MERGED or (OPEN and draft); the other grouping would exclude PR 2.
    assert pr_ids('state = "MERGED" OR state = "OPEN" AND draft = true') == [2, 3]
    assert pr_ids('state = "OPEN" AND draft = true OR state = "MERGED"') == [2, 3]


def test_parentheses_override_precedence() -> None:
    assert pr_ids('(state = "MERGED" OR state = "OPEN") AND draft = true') == [3]
    assert pr_ids("((((id = 1))))") == [1]
    assert pr_ids('id = 1 OR (id = 2 AND (state = "MERGED" OR state = "x"))') == [1, 2]


@pytest.mark.parametrize("and_kw", ["AND", "and", "And", "aNd"])
@pytest.mark.parametrize("or_kw", ["OR", "or", "Or"])
def test_keywords_are_case_insensitive(and_kw: str, or_kw: str) -> None:
    q = f'id = 1 {or_kw} state = "OPEN" {and_kw} draft = true'
    assert pr_ids(q) == [1, 3]


@pytest.mark.parametrize("q", ['state not in ("OPEN")', 'state Not In ("OPEN")', 'state NOT IN ("OPEN")'])
def test_not_in_keywords_are_case_insensitive(q: str) -> None:
    assert pr_ids(q) == [2, 4, 5]


def test_whitespace_is_optional_around_operators_and_parens() -> None:
    assert pr_ids('(id>=2)and(state="OPEN"or id=5)') == [3, 5]
    assert pr_ids("id IN(1,2)") == [1, 2]
    assert pr_ids("  \tid\n=\n1  ") == [1]


# --- paths and lists --------------------------------------------------------------------------------------


def test_dotted_paths() -> None:
    assert pr_ids('source.branch.name = "feature/login"') == [1]
    assert pr_ids('source.repository.full_name = "acme/widgets"') == [1, 2, 3, 4, 5]
    assert pr_ids('destination.branch.name != "main"') == []
    assert pr_ids('source.branch.name ~ "feature/"') == [1, 3]


def test_list_traversal_matches_if_any_element_matches() -> None:
    assert pr_ids(f'reviewers.uuid = "{BOB}"') == [1, 2]
    assert pr_ids(f'reviewers.uuid = "{CAROL}" AND reviewers.uuid = "{BOB}"') == [2]
    assert pr_ids(f'reviewers.uuid IN ("{ALICE}", "{CAROL}")') == [2, 4, 5]


def test_negated_operators_negate_the_whole_list_test() -> None:
    # "no reviewer is Bob", not "some reviewer is not Bob" (PR 2 has Bob and Carol).
    assert pr_ids(f'reviewers.uuid != "{BOB}"') == [3, 4, 5]
    assert pr_ids(f'reviewers.uuid NOT IN ("{BOB}", "{CAROL}")') == [3, 5]


def test_list_of_scalars_is_flattened() -> None:
    files = [
        {"path": "a.png", "attributes": ["binary"], "size": 2048},
        {"path": "b.sh", "attributes": ["executable", "binary"], "size": 10},
        {"path": "c.txt", "attributes": [], "size": 4096},
    ]
    assert [f["path"] for f in filter_objects(files, 'size > 1024 and attributes = "binary"')] == ["a.png"]
    assert [f["path"] for f in filter_objects(files, "attributes = null")] == ["c.txt"]


def test_resolve() -> None:
    pr = PULL_REQUESTS[1]
    assert resolve(pr, "reviewers.uuid") == [BOB, CAROL]
    assert resolve(pr, "source.branch.name") == ["bugfix/crash"]
    assert resolve(pr, "source.nope.name") == [None]
    assert resolve(pr, "title.length") == [None]  # indexing into a string gives None
    assert resolve(PULL_REQUESTS[2], "reviewers.uuid") == []
    assert resolve({"a": [[1, [2]], 3]}, "a") == [1, 2, 3]
    assert resolve({"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": {"c": 3}}]}, "a.b.c") == [1, 2, 3]


# --- literals ---------------------------------------------------------------------------------------------


def test_null() -> None:
    assert pr_ids("comment_count = null") == [4]
    assert pr_ids("comment_count != null") == [1, 2, 3, 5]
    assert pr_ids("no_such_field = null") == [1, 2, 3, 4, 5]  # missing path is null
    assert pr_ids("no_such_field != null") == []
    assert pr_ids("reviewers.uuid = null") == [3]  # no reviewers at all
    assert issue_ids("assignee = null") == [1, 4]
    assert issue_ids("assignee.uuid != null") == [2, 3]
    assert pr_ids("comment_count > null") == []


def test_booleans() -> None:
    assert pr_ids("draft = true") == [3]
    assert pr_ids("draft = false") == [1, 2, 4, 5]
    assert pr_ids("draft != true") == [1, 2, 4, 5]
    assert pr_ids("draft = TRUE") == [3]
    assert pr_ids("draft > false") == []  # bool only supports = and !=
    assert pr_ids("id = true") == []  # 1 is not true
    assert pr_ids("draft = 0") == []  # False is not 0


def test_numbers() -> None:
    assert pr_ids("comment_count = 4") == [2]
    assert pr_ids("comment_count = 6.0") == [3]  # int field vs float literal
    assert pr_ids("comment_count >= 6.0") == [3, 5]
    assert pr_ids("task_count = 2.5") == [5]
    assert pr_ids("task_count > -1") == [5]
    assert pr_ids("id > -3.5 AND id < 1.5") == [1]
    assert pr_ids('id = "1"') == []  # incompatible types never match...
    assert pr_ids('id != "1"') == [1, 2, 3, 4, 5]  # ...so != is true
    assert pr_ids("state = 1") == []
    assert pr_ids("state > 1") == []
    assert pr_ids("state != 1") == [1, 2, 3, 4, 5]


def test_string_escapes() -> None:
    assert pr_ids(r'title = "Fix \"quoted\" crash"') == [2]
    assert pr_ids(r'title ~ "\"QUOTED\""') == [2]
    assert pr_ids(r'title ~ "C:\\path"') == [5]
    assert pr_ids('title = "Add login page" AND title != "a \\"b\\""') == [1]


def test_datetimes() -> None:
    assert issue_ids("created_on > 2014-01-01") == [2, 3]
    assert issue_ids("created_on < 2014-01-01T00:00:00") == [1]
    assert issue_ids("created_on >= 2013-11-08T01:11:03.222520+00:00") == [1, 2, 3]
    assert issue_ids("created_on = 2013-11-08T01:11:03.222520Z") == [1]
    assert issue_ids("created_on = 2013-11-08T01:11:03.22252") == [1]  # naive means UTC
    # 23:59:59+02:00 is 21:59:59 UTC on the same day.
    assert issue_ids("created_on = 2015-06-30T21:59:59Z") == [3]
    assert issue_ids("created_on > 2015-06-30T22:00:00+00:00") == []
    assert issue_ids("created_on < 2015-06-30T23:00:00+01:00") == [1, 2, 3]
    assert issue_ids("created_on <= 2015-06-30T21:59:59+0000") == [1, 2, 3]
    # An unparseable field never compares, even with !=.
    assert issue_ids("created_on != 2000-01-01") == [1, 2, 3, 4]
    assert issue_ids("created_on > 2000-01-01") == [1, 2, 3]
    assert issue_ids("id > 2000-01-01") == []
    assert issue_ids("created_on ~ 2013-11-08") == []


def test_datetime_literal_against_datetime_objects() -> None:
    objs = [{"at": datetime(2024, 1, 1, 10, tzinfo=UTC)}, {"at": datetime(2024, 1, 1, 9)}]
    assert [o["at"].hour for o in filter_objects(objs, "at >= 2024-01-01T10:00")] == [10]


def test_in_list_mixes_types() -> None:
    assert pr_ids('id IN ("1", 2, null, true)') == [2]
    assert pr_ids("comment_count IN (null, 2)") == [1, 4]
    assert issue_ids("created_on IN (2014-03-01T08:00:00Z, 1999-01-01)") == [2]


# --- API edges --------------------------------------------------------------------------------------------


def test_filter_without_query_returns_everything_in_order() -> None:
    assert pr_ids(None) == [1, 2, 3, 4, 5]
    assert pr_ids("") == [1, 2, 3, 4, 5]
    assert pr_ids("   ") == [1, 2, 3, 4, 5]


def test_parse_returns_reusable_query() -> None:
    query = parse('state = "OPEN"')
    assert isinstance(query, Query)
    assert query.matches(PULL_REQUESTS[0]) is True
    assert query.matches(PULL_REQUESTS[1]) is False
    assert query.matches({}) is False
    assert "state" in repr(query)


def test_filtering_does_not_mutate_objects() -> None:
    before = copy.deepcopy(PULL_REQUESTS)
    filter_objects(PULL_REQUESTS, 'reviewers.uuid = "x" OR created_on > 2024-01-02')
    sort_objects(PULL_REQUESTS, "-reviewers.uuid")
    assert before == PULL_REQUESTS


# --- errors -----------------------------------------------------------------------------------------------


def test_error_detail_names_position_and_expectation() -> None:
    with pytest.raises(BBQLError) as info:
        parse("state = ")
    assert info.value.detail == "Invalid query: expected a value at position 9 in 'state = '"
    assert str(info.value) == info.value.detail
    assert info.value.position == 9
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("q", "fragment"),
    [
        ('title = "abc', "unterminated string starting at position 9"),
        ('title = "abc\\"', "unterminated string starting at position 9"),
        ("state =", "expected a value at position 8"),
        ('state = "x" AND', "expected a field name at position 16"),
        ('state == "OPEN"', "expected an operator"),
        ('state <> "OPEN"', "but found '<>' at position 7"),
        ('state =~ "OPEN"', "but found '=~'"),
        ('state "OPEN"', "expected an operator"),
        ("state", "expected an operator (=, !=, ~, !~, >, >=, <, <=, IN, NOT IN) at position 6"),
        ('(state = "OPEN"', "expected AND, OR or ')' at position 16"),
        ('state = "OPEN")', "expected AND, OR or the end of the query but found ')' at position 15"),
        ('(state = "OPEN"))', "but found ')' at position 17"),
        ("()", "expected a field name but found ')' at position 2"),
        ('state = "OPEN" garbage', "but found 'garbage' at position 16"),
        ('state = "OPEN" "x"', "but found '\"x\"'"),
        ("id = 1 2", "but found '2' at position 8"),
        ('= "OPEN"', "expected a field name but found '=' at position 1"),
        ('"state" = "OPEN"', "expected a field name but found '\"state\"'"),
        ("AND = 1", "expected a field name but found 'AND'"),
        ("state = OPEN", "expected a value but found 'OPEN' at position 9"),
        ('.state = "x"', "invalid field name '.state' at position 1"),
        ('state. = "x"', "invalid field name 'state.'"),
        ('source..name = "x"', "invalid field name 'source..name'"),
        ('source-branch = "x"', "unexpected character '-' at position 7"),
        ('state = "x" $', "unexpected character '$' at position 13"),
        ("id = -", "unexpected character '-' at position 6"),
        ("id IN 1", "expected '(' to start a list of values but found '1'"),
        ("id IN ()", "expected a value but found ')'"),
        ("id IN (1, 2", "expected ',' or ')' to close the list at position 12"),
        ("id IN (1,)", "expected a value but found ')'"),
        ("id NOT (1)", "expected IN after NOT but found '('"),
        ("created_on > 2024-13-01", "invalid datetime '2024-13-01' at position 14"),
        ("created_on > 2024-01-01T25:00:00", "invalid datetime"),
        ("", "expected a field name at position 1"),
    ],
)
def test_syntax_errors(q: str, fragment: str) -> None:
    with pytest.raises(BBQLError) as info:
        parse(q)
    assert fragment in info.value.detail
    assert info.value.detail.startswith("Invalid query: ")


def test_filter_objects_raises_on_bad_query() -> None:
    with pytest.raises(BBQLError):
        filter_objects(PULL_REQUESTS, "state =")


def test_query_length_limit() -> None:
    base = "id = 1"
    padded = base + " " * (MAX_QUERY_LENGTH - len(base))
    assert len(padded) == MAX_QUERY_LENGTH
    assert pr_ids(padded) == [1]
    with pytest.raises(BBQLError, match="2001 characters long; the limit is 2000"):
        parse(padded + " ")


def test_nesting_limit() -> None:
    ok = "(" * MAX_NESTING + "id = 1" + ")" * MAX_NESTING
    assert pr_ids(ok) == [1]
    too_deep = "(" * (MAX_NESTING + 1) + "id = 1" + ")" * (MAX_NESTING + 1)
    with pytest.raises(BBQLError, match="nested more than 50 deep at position 51"):
        parse(too_deep)


@pytest.mark.parametrize("q", ["(" * 1999, "(" * 1000 + ")" * 999, "id IN " + "(" * 1990, '"' * 1999])
def test_pathological_inputs_only_raise_bbql_error(q: str) -> None:
    with pytest.raises(BBQLError):
        parse(q)


def test_long_flat_chains_parse_without_recursion() -> None:
    q = " OR ".join(f"id = {i}" for i in range(120))
    assert len(q) <= MAX_QUERY_LENGTH
    assert pr_ids(q) == [1, 2, 3, 4, 5]


# --- sorting ----------------------------------------------------------------------------------------------


def test_sort_unchanged_without_spec() -> None:
    assert sort_objects(PULL_REQUESTS, None) == PULL_REQUESTS
    assert sort_objects(PULL_REQUESTS, "") == PULL_REQUESTS


def test_sort_ascending_and_descending_strings() -> None:
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "source.branch.name")] == [2, 4, 5, 3, 1]
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "-source.branch.name")] == [1, 3, 5, 4, 2]


def test_sort_iso_datetimes() -> None:
    shuffled = [PULL_REQUESTS[i] for i in (3, 0, 4, 2, 1)]
    assert [p["id"] for p in sort_objects(shuffled, "created_on")] == [1, 2, 3, 4, 5]
    assert [p["id"] for p in sort_objects(shuffled, "-updated_on")] == [5, 4, 3, 2, 1]


def test_sort_numbers_numerically() -> None:
    objs: list[dict[str, Any]] = [{"n": 10}, {"n": 9}, {"n": 100}, {"n": 9.5}, {"n": -1}]
    assert [o["n"] for o in sort_objects(objs, "n")] == [-1, 9, 9.5, 10, 100]
    assert [o["n"] for o in sort_objects(objs, "-n")] == [100, 10, 9.5, 9, -1]


def test_sort_none_last_ascending_first_descending() -> None:
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "comment_count")] == [1, 2, 3, 5, 4]
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "-comment_count")] == [4, 5, 3, 2, 1]
    assert [i["id"] for i in sort_objects(ISSUES, "assignee.uuid")] == [2, 3, 1, 4]
    assert [i["id"] for i in sort_objects(ISSUES, "-assignee.uuid")] == [1, 4, 3, 2]


def test_sort_is_stable_both_ways() -> None:
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "state")] == [4, 2, 1, 3, 5]
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "-state")] == [5, 1, 3, 2, 4]
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "destination.branch.name")] == [1, 2, 3, 4, 5]
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "-destination.branch.name")] == [1, 2, 3, 4, 5]


def test_sort_by_list_path_uses_first_value() -> None:
    assert [p["id"] for p in sort_objects(PULL_REQUESTS, "reviewers.uuid")] == [5, 1, 2, 4, 3]


def test_sort_mixed_types_does_not_raise() -> None:
    objs: list[dict[str, Any]] = [{"v": "b"}, {"v": 2}, {"v": None}, {"v": True}, {"v": {"x": 1}}, {"v": "a"}]
    assert [o["v"] for o in sort_objects(objs, "v")] == [True, 2, "a", "b", {"x": 1}, None]


def test_sort_returns_new_list() -> None:
    result = sort_objects(PULL_REQUESTS, "-id")
    assert result is not PULL_REQUESTS
    assert [p["id"] for p in PULL_REQUESTS] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("spec", ["-", "--id", ".id", "id.", "a..b", "id,-state", "id desc", "+id", "source-branch"])
def test_sort_errors(spec: str) -> None:
    with pytest.raises(BBQLError) as info:
        sort_objects(PULL_REQUESTS, spec)
    assert info.value.detail.startswith("Invalid sort: ")
    assert repr(spec)[1:-1] in info.value.detail


# --- properties -------------------------------------------------------------------------------------------


def _parses_or_rejects(text: str) -> None:
    try:
        query = parse(text)
    except BBQLError as error:
        assert error.detail.startswith("Invalid query: ")
        return
    assert isinstance(query, Query)
    for obj in (*PULL_REQUESTS, *ISSUES, {}):
        assert isinstance(query.matches(obj), bool)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_arbitrary_text_parses_or_raises_bbql_error(text: str) -> None:
    _parses_or_rejects(text)


_SYMBOLS = '()=!<>~", .-:TZ+\\'


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_SYMBOLS, "a", "1", " AND ", " or ", "IN", "NOT", "null"]), max_size=40))
def test_token_soup_parses_or_raises_bbql_error(pieces: list[str]) -> None:
    _parses_or_rejects("".join(pieces))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FIELDS = st.sampled_from(
    ["state", "id", "title", "source.branch.name", "reviewers.uuid", "content.raw", "created_on", "draft"]
)
_TZS = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
_VALUES = st.one_of(
    st.text(max_size=8).map(_quote),
    st.integers(-(10**6), 10**6).map(str),
    st.tuples(st.integers(-999, 999), st.integers(0, 999)).map(lambda p: f"{p[0]}.{p[1]}"),
    st.sampled_from(["null", "true", "false", "NULL", "True"]),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=_TZS).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds") + "Z"),
)
_COMPARISONS = st.one_of(
    st.builds(
        lambda f, op, v: f"{f} {op} {v}",
        _FIELDS,
        st.sampled_from(["=", "!=", "~", "!~", ">", ">=", "<", "<="]),
        _VALUES,
    ),
    st.builds(
        lambda f, neg, vs: f"{f} {neg}IN ({', '.join(vs)})",
        _FIELDS,
        st.sampled_from(["", "NOT ", "not "]),
        st.lists(_VALUES, min_size=1, max_size=3),
    ),
)
_QUERIES = st.recursive(
    _COMPARISONS,
    lambda inner: st.one_of(
        st.builds(lambda a, kw, b: f"{a} {kw} {b}", inner, st.sampled_from(["AND", "and", "OR", "Or"]), inner),
        inner.map(lambda q: f"({q})"),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(_QUERIES)
def test_well_formed_queries_parse(q: str) -> None:
    query = parse(q)
    for obj in (*PULL_REQUESTS, *ISSUES):
        assert isinstance(query.matches(obj), bool)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_quoted_strings_round_trip(value: str) -> None:
    obj = {"title": value}
    assert parse(f"title = {_quote(value)}").matches(obj)
    contains = value.upper().casefold() in value.casefold()
    assert parse(f"title ~ {_quote(value.upper())}").matches(obj) == contains
    assert not parse(f"title != {_quote(value)}").matches(obj)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=12))
def test_sort_matches_reference_order(values: list[int | None]) -> None:
    objs: list[dict[str, Any]] = [{"pos": i, "n": v} for i, v in enumerate(values)]
    present = sorted((o for o in objs if o["n"] is not None), key=lambda o: o["n"])  # stable reference
    missing = [o for o in objs if o["n"] is None]
    assert sort_objects(objs, "n") == present + missing
    descending = sorted((o for o in objs if o["n"] is not None), key=lambda o: -o["n"])
    assert sort_objects(objs, "-n") == missing + descending
