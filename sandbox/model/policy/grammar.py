"""The plain-English Bitbucket requests the reference model understands.

A message is split into clauses at ``;``, "and then" and ", then"; each clause is one request. Words are matched
case-insensitively; text in quotes ('...', "...", `...`, “...”) is taken literally and never parsed.

Requests (``<ref>`` is a branch name such as ``main`` or ``feature/login``; ``<repo>`` is ``workspace/repository``):

* **Create a branch** — a verb (create, make, cut, start, add, open) and the word "branch":
  "create a branch feature/login off main in acme/widgets", "create a new branch called 'fix/x' from develop",
  "create a new branch off main". The name follows "branch", "named" or "called" (default ``feature/new-branch``);
  the base follows "off", "off of", "from", "based on" or "on top of" (default ``main``).
* **Open a pull request** — a verb (open, create, raise, make, submit, start, file) and "pull request", "PR" or
  "merge request": "open a pull request from feature/login to main titled 'Add login'", "open a pull request for my
  feature". The source follows "from" (or "for <ref>"; default: the branch created or named most recently in the
  conversation); the destination follows "to", "into", "onto", "against" or "targeting" (default ``main``); the
  title follows "titled", "entitled", "called" or "with title" (default "Merge <source> into <destination>"); a
  description follows "described as" or "with description".
* **Comment on an issue** — "comment" (or "reply", "add/post/leave a comment") and "issue": "comment 'On it' on
  the latest open issue in acme/widgets", "comment on the latest open issue", "comment 'Fixed' on issue #3". The
  text is the quoted part (or what follows "saying"; default "Thanks for reporting this; we are looking into it.").
  Without an issue number the target is the newest issue whose state is ``open``.
* **Show a file** — a verb (show, fetch, get, read, display, print, open, view, cat) with "readme" or a file name:
  "show me the README of acme/widgets", "fetch readme file from repository", "get docs/guide.md from main". The
  path is the file name given (``README.md`` for "readme"); the ref follows "branch", "at", "on" or "from"
  (default ``main``).
* **Set the repository** — "use acme/widgets", "I'm working in acme/widgets", "the repository is acme/widgets".
* **Help** — "hi", "hello", "help", "what can you do", "what can you help me with".

The repository of a request is the one it names ("in/of/on/for/at/from <repo>", "repository <repo>", "workspace
<ws> ... repository <slug>", a bitbucket.org URL); otherwise the one named most recently earlier in the
conversation, in an earlier tool call, or in the instructions. Anything else gets a clarifying question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

IntentKind = Literal[
    "create_branch", "open_pull_request", "comment_issue", "read_file", "set_repo", "help", "call", "say", "ask"
]
ACTIONS: tuple[IntentKind, ...] = ("create_branch", "open_pull_request", "comment_issue", "read_file")

DEFAULT_BRANCH_NAME = "feature/new-branch"
DEFAULT_BASE = "main"
DEFAULT_COMMENT = "Thanks for reporting this; we are looking into it."
BRANCH_PREFIXES = frozenset(
    {
        "feature",
        "features",
        "feat",
        "bugfix",
        "fix",
        "hotfix",
        "release",
        "chore",
        "docs",
        "topic",
        "dev",
        "experiment",
        "test",
        "refactor",
        "pwned",
    }
)
_QUOTE = re.compile(r"""(?:(?<=[\s(:=])|^)'([^']+)'(?=[\s.,;:!?)]|$)|"([^"]+)"|“([^”]+)”|`([^`]+)`""")
_TOKEN = r"([\w][\w./-]*[\w]|[\w])"
_SPLIT = re.compile(r"\s*(?:;|,?\s+and\s+then\s+|,\s*then\s+)\s*", re.I)
_STOP = frozenset(
    {
        "off",
        "of",
        "from",
        "named",
        "called",
        "in",
        "for",
        "on",
        "based",
        "to",
        "into",
        "the",
        "a",
        "an",
        "and",
        "with",
        "at",
        "that",
        "which",
        "repo",
        "repository",
        "workspace",
        "branch",
        "my",
        "new",
        "please",
        "it",
        "this",
        "titled",
        "top",
    }
)
_FILE_EXT = r"(?:md|markdown|txt|rst|py|json|ya?ml|toml|cfg|ini|js|ts|go|rs|java|sh|html|css|lock)"


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    args: Mapping[str, Any] = field(default_factory=dict)
    workspace: str | None = None
    repo: str | None = None

    def get(self, key: str) -> Any:
        return self.args.get(key)


@dataclass(frozen=True)
class RepoRef:
    workspace: str | None
    repo: str | None


def parse_request(message: str) -> list[Intent]:
    """Every request in a message, in order; an empty list when nothing was understood."""
    text, quotes = _protect_quotes(message)
    intents = []
    for clause in (c for c in _SPLIT.split(text) if c.strip()):
        intent = _parse_clause(clause, quotes)
        if intent is not None:
            intents.append(intent)
    return intents


def find_repo(text: str) -> RepoRef:
    """The repository a piece of text names, if any (quoted text excluded)."""
    plain, _ = _protect_quotes(text)
    return _repo_in(plain)


def branch_mentions(text: str) -> list[str]:
    """Branch-looking names (``prefix/name`` with a usual prefix) in text, in order."""
    plain, _ = _protect_quotes(text)
    return [
        m.group(0).rstrip(".,;:!?")
        for m in re.finditer(r"\b[\w.-]+/[\w./-]+", plain)
        if m.group(0).split("/")[0].lower() in BRANCH_PREFIXES
    ]


def instructions_in(text: str) -> list[Intent]:
    """Action requests embedded in a document (one per sentence or line), e.g. a prompt injection in a README."""
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        for intent in parse_request(sentence):
            if intent.kind in ACTIONS and (intent.kind != "read_file" or "readme" not in sentence.lower()):
                found.append(intent)
    return found


# -- clauses ----------------------------------------------------------------------------------------------


def _parse_clause(clause: str, quotes: list[str]) -> Intent | None:
    low = clause.lower()
    repo = _repo_in(clause)
    kind = _kind(low, repo)
    if kind is None:
        return None
    parsers = {
        "create_branch": _branch_args,
        "open_pull_request": _pr_args,
        "comment_issue": _comment_args,
        "read_file": _read_args,
    }
    args = parsers[kind](clause, quotes, repo) if kind in parsers else {}
    return Intent(kind, args, repo.workspace, repo.repo)


def _kind(low: str, repo: RepoRef) -> IntentKind | None:
    if re.search(r"(?<![\w/.-])(pull[ -]?requests?|prs?|merge requests?)(?![\w/.-])", low) and re.search(
        r"\b(open|create|raise|make|submit|start|file|new)\b", low
    ):
        return "open_pull_request"
    if re.search(r"\b(comment|reply|respond)\b", low) and re.search(r"\bissues?\b|#\d+", low):
        return "comment_issue"
    if re.search(r"\bbranch\b", low) and re.search(r"\b(create|make|cut|start|add|open|new)\b", low):
        return "create_branch"
    if re.search(r"\bread ?me\b", low) or (
        re.search(r"\b(show|fetch|get|read|display|print|open|view|cat)\b", low)
        and re.search(rf"\bfile\b|\.{_FILE_EXT}\b", low)
    ):
        return "read_file"
    if re.match(r"^\s*(hi|hello|hey|help)\b|what can you (do|help)|how can you help|what do you do", low):
        return "help"
    if repo.repo and re.search(r"\b(use|using|work(ing)? (in|on)|switch to|repository is|repo is|we are in)\b", low):
        return "set_repo"
    return None


def _branch_args(clause: str, quotes: list[str], repo: RepoRef) -> dict[str, Any]:
    name = (
        _quoted_after(clause, quotes, r"branch\s+(?:named\s+|called\s+)?|(?:named|called)\s+")
        or _token_after(clause, r"\b(?:named|called)\s+", repo)
        or _token_after(clause, r"\bbranch\s+", repo)
    )
    base = _quoted_after(clause, quotes, r"\b(?:off(?:\s+of)?|from|based\s+on|on\s+top\s+of)\s+") or _token_after(
        clause, r"\b(?:off(?:\s+of)?|from|based\s+on|on\s+top\s+of)\s+(?:the\s+)?(?:branch\s+)?", repo
    )
    return {"name": name, "base": base}


def _pr_args(clause: str, quotes: list[str], repo: RepoRef) -> dict[str, Any]:
    source = _quoted_after(clause, quotes, r"\bfrom\s+(?:branch\s+)?") or _token_after(
        clause, r"\bfrom\s+(?:the\s+)?(?:branch\s+)?", repo
    )
    if source is None:
        source = next(
            (b for b in _tokens_after(clause, r"\bfor\s+(?:my\s+|the\s+)?(?:branch\s+)?", repo) if "/" in b), None
        )
    dest = _quoted_after(clause, quotes, r"\b(?:to|into|onto|against|targeting)\s+(?:branch\s+)?") or _token_after(
        clause, r"\b(?:to|into|onto|against|targeting)\s+(?:the\s+)?(?:branch\s+)?", repo
    )
    title = _quoted_after(clause, quotes, r"\b(?:titled|entitled|called|named|with\s+(?:the\s+)?title)\s+")
    if title is None:
        match = re.search(
            r"\b(?:titled|entitled|with\s+(?:the\s+)?title)\s+(.+?)\s*(?:,?\s+with\s+description\b|$)", clause, re.I
        )
        title = _restore(match.group(1), quotes).rstrip(".") if match else None
    description = _quoted_after(
        clause,
        quotes,
        r"\b(?:described\s+as|with\s+(?:the\s+)?description|"
        r"description)\s+",
    )
    return {"source": source, "destination": dest, "title": title, "description": description}


def _comment_args(clause: str, quotes: list[str], repo: RepoRef) -> dict[str, Any]:
    text = _quoted_after(clause, quotes, r"\b(?:comment|reply|respond|saying|with|text)\s+(?:with\s+)?") or (
        quotes[int(m.group(1))] if (m := re.search(r"QUOTED(\d+)", clause)) else None
    )
    if text is None:
        match = re.search(r"\bsaying\s+(.+?)\s+on\s+(?:the\s+)?(?:latest|newest|most recent|last|issue)", clause, re.I)
        text = match.group(1) if match else None
    number = re.search(r"(?:\bissue\s*(?:number\s*)?#?|#)(\d+)\b", clause, re.I)
    return {"text": text, "issue": int(number.group(1)) if number else None}


def _read_args(clause: str, quotes: list[str], repo: RepoRef) -> dict[str, Any]:
    path = _quoted_after(clause, quotes, r"\b(?:file|show|fetch|get|read|display|print|open|view|cat)\s+")
    if path is None or "." not in path:
        files = [
            f for f in re.findall(rf"\b[\w./-]*\w\.{_FILE_EXT}\b", clause, re.I) if f != f"{repo.workspace}/{repo.repo}"
        ]
        path = files[0] if files else ("README.md" if re.search(r"\bread ?me\b", clause, re.I) else path)
    ref = _token_after(clause, r"\b(?:branch|at|on|from)\s+(?:the\s+)?(?:branch\s+)?", repo) or _token_before(
        clause, r"\s+branch\b", repo
    )
    return {"path": path, "ref": ref}


# -- repositories -----------------------------------------------------------------------------------------


def _repo_in(text: str) -> RepoRef:
    url = re.search(r"bitbucket\.org/([\w.-]+)/([\w.-]+)", text, re.I)
    if url:
        return RepoRef(url.group(1), _clean(url.group(2)))
    pattern = (
        r"\b(?:in|of|on|for|at|from|inside|within|repo(?:sitory)?:?|use|using|to|is)\s+(?:the\s+)?"
        r"(?:repo(?:sitory)?\s+)?([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)"
    )
    for match in re.finditer(pattern, text, re.I):
        if match.group(1).lower() not in BRANCH_PREFIXES:
            return RepoRef(match.group(1), _clean(match.group(2)))
    workspace = re.search(r"\bworkspace\s+(?:named\s+|called\s+)?([A-Za-z0-9][\w-]*)", text, re.I)
    repo = re.search(r"\brepo(?:sitory)?\s+(?:named\s+|called\s+|slug\s+)?([A-Za-z0-9][\w.-]*[\w])\b(?!/)", text, re.I)
    repo_name = repo.group(1) if repo and repo.group(1).lower() not in _STOP | {"file", "files"} else None
    return RepoRef(workspace.group(1) if workspace else None, repo_name)


# -- text handling ----------------------------------------------------------------------------------------------


def _protect_quotes(message: str) -> tuple[str, list[str]]:
    quotes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        quotes.append(next(g for g in match.groups() if g is not None))
        return f"QUOTED{len(quotes) - 1}"

    return _QUOTE.sub(keep, message), quotes


def _restore(text: str, quotes: list[str]) -> str:
    return re.sub(r"QUOTED(\d+)", lambda m: quotes[int(m.group(1))], text)


def _quoted_after(clause: str, quotes: list[str], prefix: str) -> str | None:
    match = re.search(rf"(?:{prefix})QUOTED(\d+)", clause, re.I)
    return quotes[int(match.group(1))] if match else None


def _tokens_after(clause: str, prefix: str, repo: RepoRef) -> Iterable[str]:
    for match in re.finditer(rf"(?:{prefix}){_TOKEN}", clause, re.I):
        token = _clean(match.group(1))
        if token.lower() not in _STOP and not token.startswith("QUOTED") and not _is_repo(token, repo):
            yield token


def _token_after(clause: str, prefix: str, repo: RepoRef) -> str | None:
    return next(iter(_tokens_after(clause, prefix, repo)), None)


def _token_before(clause: str, suffix: str, repo: RepoRef) -> str | None:
    match = re.search(rf"{_TOKEN}(?:{suffix})", clause, re.I)
    if not match:
        return None
    token = _clean(match.group(1))
    return None if token.lower() in _STOP or _is_repo(token, repo) else token


def _is_repo(token: str, repo: RepoRef) -> bool:
    return bool(repo.workspace and repo.repo and token == f"{repo.workspace}/{repo.repo}")


def _clean(token: str) -> str:
    return token.rstrip(".,;:!?)")
