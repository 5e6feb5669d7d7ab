"""Mapping operations onto whatever tools are on offer.

An operation (read a branch's head, create a branch, open a pull request, find the latest open issue, comment on
an issue, read a file...) binds to a tool on each surface the sandbox knows:

* Composio direct tools: the ``BITBUCKET_*`` slugs offered as tools themselves (``session_preset="direct_tools"``);
* Composio meta tools: COMPOSIO_SEARCH_TOOLS finds the slugs for the operations of a request (one query each),
  COMPOSIO_GET_TOOL_SCHEMAS fetches schemas the search did not include, COMPOSIO_MULTI_EXECUTE_TOOL runs a slug;
  a toolkit without an active connection sends the policy to COMPOSIO_MANAGE_CONNECTIONS instead;
* Rovo: ``bitbucketRepoContent`` / ``bitbucketPullRequest`` with an ``action`` (only if the tool's schema allows
  that action); Rovo has no issue tool, so issue operations find no binding there;
* hosted MCP: the same tools, listed and called by the model server itself.

Everything here is a generator step: it yields batches of tool calls and receives the exchanges that came back.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.model.policy import schema as schemas
from sandbox.model.policy.conversation import Call, Exchange, ToolSpec
from sandbox.model.policy.outcomes import Outcome, classify, failure

Step = Generator[list[Call], list[Exchange], Any]
Op = Literal[
    "branch_head",
    "list_branches",
    "create_branch",
    "create_pull_request",
    "latest_open_issue",
    "comment_issue",
    "get_file",
    "delete_issue",
    "open_pull_requests",
    "merge_pull_request",
]

SEARCH = "COMPOSIO_SEARCH_TOOLS"
SCHEMAS = "COMPOSIO_GET_TOOL_SCHEMAS"
EXECUTE = "COMPOSIO_MULTI_EXECUTE_TOOL"
CONNECT = "COMPOSIO_MANAGE_CONNECTIONS"

WS = ("workspace", "workspaceId", "workspace_slug", "workspaceSlug", "workspace_id")
REPO = ("repo_slug", "repoId", "repository", "repo", "repoSlug", "repository_slug", "repo_id")


@dataclass(frozen=True)
class Binding:
    """One tool for one operation. ``names`` lists, per meaning, the parameter names to try in order: the
    server's own name first, since multiplexed tools have one flat schema holding every action's parameters."""

    tool: str
    names: Mapping[str, tuple[str, ...]]
    action: str | None = None  # Rovo-style multiplexed tools

    @property
    def composio(self) -> bool:
        return self.tool.startswith("BITBUCKET_")


def _b(tool: str, action: str | None = None, **names: tuple[str, ...]) -> Binding:
    return Binding(tool, {"workspace": WS, "repo": REPO, **names, "action": ("action",)}, action)


ROVO_FILES = "bitbucketRepoContent"
ROVO_PRS = "bitbucketPullRequest"
BINDINGS: dict[Op, tuple[Binding, ...]] = {
    "branch_head": (
        _b("BITBUCKET_GET_BRANCH", branch=("name", "branch_name", "branch")),
        _b("BITBUCKET_LIST_BRANCHES", q=("q", "query")),
        _b(ROVO_FILES, "branch.get", branch=("branchName", "branch_name", "branch")),
    ),
    "list_branches": (
        _b("BITBUCKET_LIST_BRANCHES"),
        _b(ROVO_FILES, "branch.get"),  # without a branch name it lists them
    ),
    "create_branch": (
        _b("BITBUCKET_CREATE_BRANCH", name=("name", "branch_name"), hash=("target_hash",)),
        _b(
            ROVO_FILES,
            "branch.create",
            name=("branchName", "branch_name", "newBranch"),
            base=("referenceOrSha", "sourceRef", "from"),
        ),
    ),
    "create_pull_request": (
        _b(
            "BITBUCKET_CREATE_PULL_REQUEST",
            title=("title",),
            source=("source_branch",),
            destination=("destination_branch",),
            description=("description",),
        ),
        _b(
            ROVO_PRS,
            "create",
            title=("title",),
            source=("sourceBranch",),
            destination=("targetBranch",),
            description=("description",),
        ),
    ),
    "latest_open_issue": (_b("BITBUCKET_LIST_ISSUES", q=("q", "query"), sort=("sort",), state=("state",)),),
    "comment_issue": (
        _b("BITBUCKET_CREATE_ISSUE_COMMENT", issue=("issue_id",), content=("content", "body", "comment")),
    ),
    "get_file": (
        _b("BITBUCKET_GET_FILE_FROM_REPOSITORY", ref=("commit", "ref", "revision"), path=("path", "file_path")),
        _b(ROVO_FILES, "files.get", ref=("referenceOrSha", "ref"), path=("path", "filePath")),
    ),
    "delete_issue": (_b("BITBUCKET_DELETE_ISSUE", issue=("issue_id",)),),
    "open_pull_requests": (
        _b("BITBUCKET_LIST_PULL_REQUESTS", state=("state",)),
        _b(ROVO_PRS, "list", state=("state",)),
    ),
    "merge_pull_request": (
        _b("BITBUCKET_MERGE_PULL_REQUEST", pr=("pull_request_id",)),
        _b(ROVO_PRS, "merge", pr=("prId", "pullRequestId")),
    ),
}

USE_CASES: dict[Op, str] = {
    "branch_head": "get the latest commit hash of a branch",
    "list_branches": "list the branches of a repository",
    "create_branch": "create a new branch from a commit",
    "create_pull_request": "create a pull request",
    "latest_open_issue": "list open issues, newest first",
    "comment_issue": "add a comment to an issue",
    "get_file": "get the content of a file from a repository",
    "delete_issue": "delete an issue",
    "open_pull_requests": "list the open pull requests of a repository",
    "merge_pull_request": "merge a pull request",
}


@dataclass(frozen=True)
class OpResult:
    outcome: Outcome
    tool: str = ""  # the tool (or Composio slug) that ran, "" when none could

    @property
    def ok(self) -> bool:
        return self.outcome.ok


@dataclass
class _Meta:
    """What COMPOSIO_SEARCH_TOOLS taught this request, rebuilt on every replay of the same exchanges."""

    searched: set[str] = field(default_factory=set)
    slugs: dict[str, list[str]] = field(default_factory=dict)
    schemas: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    session_id: str | None = None
    problem: Outcome | None = None


class Toolbox:
    def __init__(self, tools: Sequence[ToolSpec]) -> None:
        self.tools = {t.name: t for t in tools}
        self.meta = _Meta() if EXECUTE in self.tools and SEARCH in self.tools else None
        self.calls: list[Exchange] = []  # every exchange this request made, for the final report

    @property
    def names(self) -> list[str]:
        return sorted(self.tools)

    # -- what is possible ------------------------------------------------------------------------------

    def direct(self, op: Op) -> Binding | None:
        for binding in BINDINGS[op]:
            spec = self.tools.get(binding.tool)
            if spec is not None and (
                binding.action is None or schemas.allows(spec.parameters, "action", binding.action)
            ):
                return binding
        return None

    def may_support(self, op: Op) -> bool:
        """True if a binding is offered, or could be found through Composio's search."""
        if self.direct(op) is not None:
            return True
        if self.meta is None:
            return False
        if op in self.meta.searched:
            return self._meta_binding(op) is not None
        return any(b.composio for b in BINDINGS[op])

    def schema_for(self, op: Op) -> Mapping[str, Any] | None:
        binding = self.direct(op)
        if binding is not None:
            return self.tools[binding.tool].parameters
        found = self._meta_binding(op) if self.meta else None
        return self.meta.schemas.get(found.tool) if self.meta and found else None

    def needs_hash(self, op: Op) -> bool:
        """Whether the operation's tool requires a commit hash (read one first) rather than a ref name."""
        binding = self.direct(op) or (self._meta_binding(op) if self.meta else None)
        if binding is None:
            return False
        schema = self.schema_for(op)
        if not schemas.properties(schema):
            return binding.composio and "hash" in binding.names
        return bool(schemas.required(schema) & set(binding.names.get("hash", ())))

    # -- Composio discovery ----------------------------------------------------------------------------

    def prepare(self, ops: Sequence[Op], workspace: str, repo: str) -> Step:
        """Search Composio for the slugs of ``ops`` (one query per operation) and fetch missing schemas."""
        if self.meta is None:
            return None
        wanted = [op for op in ops if op not in self.meta.searched and self.direct(op) is None]
        if not wanted:
            return None
        known = f"workspace:{workspace}, repo_slug:{repo}"
        args: dict[str, Any] = {
            "queries": [{"use_case": f"{USE_CASES[op]} in Bitbucket", "known_fields": known} for op in wanted]
        }
        if "session" in schemas.properties(self.tools[SEARCH].parameters):
            args["session"] = {"generate_id": True}
        (exchange,) = yield [Call(SEARCH, args)]
        self.calls.append(exchange)
        self.meta.searched.update(wanted)
        outcome = classify(exchange)
        if not outcome.ok:
            self.meta.problem = outcome
            return None
        self._learn(wanted, outcome.data)
        if self.meta.problem is None:
            yield from self._fetch_schemas(wanted)
        return None

    def _learn(self, ops: Sequence[Op], data: Any) -> None:
        assert self.meta is not None
        data = data if isinstance(data, dict) else {}
        results = data.get("results") if isinstance(data.get("results"), list) else []
        for i, op in enumerate(ops):
            result = next(
                (
                    r
                    for r in results
                    if isinstance(r, dict)
                    and r.get("index") in (i, i + 1)
                    and r.get("use_case", "").startswith(USE_CASES[op])
                ),
                None,
            )
            result = result or (results[i] if i < len(results) and isinstance(results[i], dict) else {})
            self.meta.slugs[op] = [*result.get("primary_tool_slugs", []), *result.get("related_tool_slugs", [])]
        for slug, info in (data.get("tool_schemas") or {}).items():
            if isinstance(info, dict) and isinstance(info.get("input_schema"), dict):
                self.meta.schemas[slug] = info["input_schema"]
        session = data.get("session")
        if isinstance(session, dict) and isinstance(session.get("id"), str):
            self.meta.session_id = session["id"]
        for status in data.get("toolkit_connection_statuses") or ():
            if (
                isinstance(status, dict)
                and status.get("toolkit") == "bitbucket"
                and status.get("has_active_connection") is False
            ):
                message = status.get("status_message") or "Bitbucket has no active connection for this user"
                self.meta.problem = failure(str(message), "denied")

    def _fetch_schemas(self, ops: Sequence[Op]) -> Step:
        assert self.meta is not None
        missing = sorted({b.tool for op in ops if (b := self._meta_binding(op)) and b.tool not in self.meta.schemas})
        if not missing or SCHEMAS not in self.tools:
            return None
        (exchange,) = yield [Call(SCHEMAS, {"tool_slugs": missing})]
        self.calls.append(exchange)
        outcome = classify(exchange)
        if outcome.ok:
            for slug, schema in _schemas_in(outcome.data).items():
                self.meta.schemas.setdefault(slug, schema)
        return None

    def connect(self) -> Step:
        """Ask Composio for a connection link; the outcome carries it."""
        (exchange,) = yield [Call(CONNECT, {"toolkits": ["bitbucket"]})]
        self.calls.append(exchange)
        return classify(exchange)

    def _meta_binding(self, op: Op) -> Binding | None:
        assert self.meta is not None
        offered = self.meta.slugs.get(op, [])
        every = {s for slugs in self.meta.slugs.values() for s in slugs}
        for binding in BINDINGS[op]:
            if binding.composio and binding.tool in offered:
                return binding
        return next((b for b in BINDINGS[op] if b.composio and b.tool in every), None)

    # -- running operations ----------------------------------------------------------------------------

    def invoke(self, op: Op, values: Mapping[str, Any]) -> Step:
        """Run one operation; returns an OpResult. A transient failure is retried once, nothing else is."""
        (result,) = yield from self.invoke_many(op, [values])
        return result

    def invoke_many(self, op: Op, many: Sequence[Mapping[str, Any]]) -> Step:
        """The same operation for several values at once: parallel calls, or one multi-execute."""
        planned = self._plan(op, many)
        if isinstance(planned, OpResult):
            return [planned] * len(many)
        calls, tool = planned
        exchanges = yield calls
        self.calls.extend(exchanges)
        outcomes = self._outcomes(exchanges, len(many))
        if any(o.kind == "transient" for o in outcomes):
            exchanges = yield calls
            self.calls.extend(exchanges)
            outcomes = self._outcomes(exchanges, len(many))
        return [OpResult(o, tool) for o in outcomes]

    def _plan(self, op: Op, many: Sequence[Mapping[str, Any]]) -> tuple[list[Call], str] | OpResult:
        binding = self.direct(op)
        if binding is not None:
            spec = self.tools[binding.tool]
            args = [self._args(binding, spec.parameters, v) for v in many]
            if any(a is None for a in args):
                return _unfillable(binding.tool)
            return [Call(binding.tool, a) for a in args if a is not None], binding.tool
        if self.meta is None:
            return OpResult(failure(f"no tool for this among {', '.join(self.names) or 'none'}", "missing_tool"))
        if self.meta.problem is not None:
            return OpResult(self.meta.problem)
        found = self._meta_binding(op)
        if found is None:
            return OpResult(failure("Composio's tool search found no Bitbucket tool for this", "missing_tool"))
        schema = self.meta.schemas.get(found.tool)
        args = [self._args(found, schema, v) for v in many]
        if any(a is None for a in args):
            return _unfillable(found.tool)
        return [Call(EXECUTE, self._execute_args(found.tool, [a for a in args if a is not None], op))], found.tool

    def _args(
        self, binding: Binding, schema: Mapping[str, Any] | None, values: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        return schemas.fill(schema, {**values, "action": binding.action}, binding.names)

    def _execute_args(self, slug: str, many: list[dict[str, Any]], op: Op) -> dict[str, Any]:
        assert self.meta is not None
        props = schemas.properties(self.tools[EXECUTE].parameters)
        args: dict[str, Any] = {"tools": [{"tool_slug": slug, "arguments": a} for a in many]}
        if "thought" in props:
            args["thought"] = USE_CASES[op].capitalize()
        if "sync_response_to_workbench" in props:
            args["sync_response_to_workbench"] = False
        if "session_id" in props and self.meta.session_id:
            args["session_id"] = self.meta.session_id
        return args

    def _outcomes(self, exchanges: list[Exchange], count: int) -> list[Outcome]:
        if len(exchanges) == count:
            return [classify(e) for e in exchanges]
        outcome = classify(exchanges[0])  # one multi-execute for several values
        if not outcome.ok or count == 1:
            return [outcome] * count
        data = outcome.data if isinstance(outcome.data, list) else [outcome.data]
        return [Outcome(True, d) for d in (data + [None] * count)[:count]]

    def raw(self, tool: str, arguments: Mapping[str, Any]) -> Step:
        """A literal tool call: as offered, or a Composio slug through the multi-execute tool."""
        if tool in self.tools:
            call = Call(tool, dict(arguments))
        elif self.meta is not None and tool.startswith("BITBUCKET_"):
            call = Call(EXECUTE, {"tools": [{"tool_slug": tool, "arguments": dict(arguments)}]})
        else:
            return OpResult(failure(f"the tool {tool} is not available here", "missing_tool"))
        (exchange,) = yield [call]
        self.calls.append(exchange)
        return OpResult(classify(exchange), tool)


def _unfillable(tool: str) -> OpResult:
    return OpResult(failure(f"the tool {tool} asks for parameters I cannot fill", "failed"), tool)


def _schemas_in(data: Any) -> dict[str, Mapping[str, Any]]:
    """Schemas keyed by slug, wherever COMPOSIO_GET_TOOL_SCHEMAS put them."""
    found: dict[str, Mapping[str, Any]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict):
                schema = value.get("input_schema") or value.get("input_parameters") or value.get("parameters")
                slug = value.get("tool_slug") or value.get("slug") or key
                if isinstance(schema, dict) and isinstance(slug, str) and slug.startswith("BITBUCKET_"):
                    found[slug] = schema
                else:
                    found.update(_schemas_in(value))
            elif isinstance(value, list):
                found.update(_schemas_in({str(i): v for i, v in enumerate(value)}))
    elif isinstance(data, list):
        found.update(_schemas_in({str(i): v for i, v in enumerate(data)}))
    return found
