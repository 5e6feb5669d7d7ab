"""The COMPOSIO_* meta tools: their input schemas (the project's Composio facts, section 2.2) and executors.

Choices where the real service is not documented:

* COMPOSIO_MULTI_EXECUTE_TOOL runs its tools one after the other (a later call may need an earlier one's
  effect); a missing connection is a per-result error carrying the 4302 message and a hint to call
  COMPOSIO_MANAGE_CONNECTIONS, not an error of the whole call.
* COMPOSIO_MANAGE_CONNECTIONS hands out the pending link again while the user has not opened it yet, and a new
  one with ``reinitiate_all``.
* COMPOSIO_GET_TOOL_SCHEMAS returns ``{tool_schemas: {slug: {...full schema...}}, not_found: [...]}``; it fails
  only when none of the slugs is a tool of the session.
* COMPOSIO_WAIT_FOR_CONNECTIONS polls the store until the connections are active (``mode`` any/all) and fails
  with a timeout message when ``timeout_seconds`` pass first.
* COMPOSIO_REMOTE_WORKBENCH and COMPOSIO_REMOTE_BASH_TOOL exist when the session enables the workbench, but the
  sandbox runs no remote code: they always fail, saying so and pointing at the Bitbucket tools.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.composio.bitbucket_tools import AppTool
from sandbox.composio.errors import CONNECT_HINT, NO_ACTIVE_CONNECTION, ComposioApiError, J, ToolResult
from sandbox.composio.schema import field as f
from sandbox.composio.schema import obj
from sandbox.composio.search import search
from sandbox.composio.sessions import BASH, MANAGE, MULTI, SCHEMAS, SEARCH, WAIT, WORKBENCH, Session

if TYPE_CHECKING:
    from sandbox.composio.router import Router

META_TOOLKIT = {"slug": "composio", "name": "Composio", "logo": "https://logos.composio.dev/api/composio"}
MAX_MULTI_EXECUTE = 50
NO_WORKBENCH = (
    "The sandbox has no remote workbench: {slug} cannot run code or shell commands here. "
    "Call the BITBUCKET_* tools through COMPOSIO_MULTI_EXECUTE_TOOL instead."
)


@dataclass(frozen=True)
class Call:
    """One meta tool call: the router, the session, and the origin the client reached Composio on."""

    router: Router
    session: Session
    origin: str


Run = Callable[[Call, J], Awaitable[ToolResult]]


@dataclass(frozen=True)
class MetaTool:
    slug: str
    name: str
    description: str
    input_schema: J
    run: Run
    toolkit: str = "composio"
    tags: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    @property
    def output_schema(self) -> J:
        return {
            "type": "object",
            "properties": {"data": {"type": "object"}, "error": {"type": "string"}, "successful": {"type": "boolean"}},
        }


SESSION_ID = f(
    "string", "The workflow session id from COMPOSIO_SEARCH_TOOLS, to keep related calls together.", default=None
)
STEP = {
    "current_step": f("string", "Short name of the current step.", default=None),
    "current_step_metric": f("string", "Progress of the current step, e.g. '2/5 items'.", default=None),
    "next_step": f("string", "Short name of the next step.", default=None),
}


# --- search and schemas -------------------------------------------------------------------------------------
def _schema_entry(tool: AppTool, full: bool) -> J:
    entry: J = {"tool_slug": tool.slug, "toolkit": tool.toolkit, "description": tool.description, "hasFullSchema": full}
    if full:
        entry["input_schema"] = tool.input_schema
    else:
        entry["schemaRef"] = {
            "tool": SCHEMAS,
            "args": {"tool_slugs": [tool.slug]},
            "message": f"Call {SCHEMAS} with this tool slug to get its full input schema.",
        }
    return entry


def _guidance(call: Call, primary: list[str], known_fields: str | None) -> str:
    how = f"through {MULTI}" if MULTI in call.session.meta_tools() else "by calling it directly"
    text = (
        f"Run {', '.join(primary)} {how}, with every required argument."
        if primary
        else "No tool matched this use case closely; start by listing workspaces and repositories."
    )
    return text + (f" Known fields: {known_fields}." if known_fields else "")


def search_result(call: Call, index: int, query: J) -> J:
    tools = call.router.app_tools(call.session)
    match = search(query["use_case"], tools, call.router.settings.search_results)
    by_slug = {t.slug: t for t in tools}
    pitfalls = [p for slug in match.primary for p in by_slug[slug].pitfalls]
    steps = [f"Look up inputs you do not know yet with {s}" for s in match.related[:2]]
    steps += [f"Call {s} with the required arguments" for s in match.primary]
    return {
        "index": index,
        "use_case": query["use_case"],
        "primary_tool_slugs": match.primary,
        "related_tool_slugs": match.related,
        "toolkits": ["bitbucket"] if match.primary else [],
        "difficulty": "easy",
        "execution_guidance": _guidance(call, match.primary, query.get("known_fields")),
        "recommended_plan_steps": steps,
        "known_pitfalls": pitfalls,
        "memory": {},
    }


def search_data(call: Call, arguments: J) -> J:
    """The SEARCH_TOOLS result, also served as the REST ``/search`` response."""
    router, session = call.router, call.session
    results = [search_result(call, i, q) for i, q in enumerate(arguments["queries"])]
    found = list(dict.fromkeys(s for r in results for s in r["primary_tool_slugs"] + r["related_tool_slugs"]))
    tools = {t.slug: t for t in router.app_tools(session)}
    full = router.settings.full_schemas_in_search
    schemas = {slug: _schema_entry(tools[slug], i < full) for i, slug in enumerate(found)}
    statuses = [router.connection_status(session, "bitbucket")] if found else []
    workflow = arguments.get("session") or {}
    guidance = [f"Use {MULTI} to run the primary tools; fetch missing schemas with {SCHEMAS}."]
    guidance += [s["status_message"] for s in statuses if not s["has_active_connection"]]
    now = router.world.clock.now()
    return {
        "results": results,
        "tool_schemas": schemas,
        "toolkit_connection_statuses": statuses,
        "session": {
            "id": workflow.get("id") or session.id,
            "generate_id": bool(workflow.get("generate_id")),
            "instructions": "Pass this session id as session_id to the next meta tool calls.",
        },
        "time_info": {
            "current_time_utc": now.isoformat().replace("+00:00", "Z"),
            "current_time_utc_epoch_seconds": int(now.timestamp()),
            "message": "Current UTC time, for resolving relative dates.",
        },
        "next_steps_guidance": guidance,
        "success": True,
        "error": None,
    }


async def search_tools(call: Call, a: J) -> ToolResult:
    return ToolResult(True, search_data(call, a))


async def get_tool_schemas(call: Call, a: J) -> ToolResult:
    tools = {t.slug: t for t in call.router.app_tools(call.session)}
    schemas = {
        s: {**_schema_entry(tools[s], True), "output_schema": tools[s].output_schema}
        for s in a["tool_slugs"]
        if s in tools
    }
    missing = [s for s in a["tool_slugs"] if s not in tools]
    data = {"tool_schemas": schemas, "not_found": missing}
    if not schemas:
        return ToolResult.failed(f"Tool(s) not found in this session: {', '.join(missing)}", data)
    return ToolResult(True, data)


# --- execution ---------------------------------------------------------------------------------------------
async def _one(call: Call, index: int, item: J) -> J:
    slug = item["tool_slug"]
    try:
        result = await call.router.run_app_tool(call.session, slug, item.get("arguments") or {}, item.get("account"))
    except ComposioApiError as exc:
        hint = f" {CONNECT_HINT.format(toolkits=['bitbucket'])}" if exc.slug == NO_ACTIVE_CONNECTION[1] else ""
        result = ToolResult.failed(exc.message + hint)
    response: J = {"successful": result.successful, "data": result.data}
    entry: J = {"tool_slug": slug, "index": index, "response": response}
    if not result.successful:
        response["error"] = entry["error"] = result.error
    return entry


async def multi_execute(call: Call, a: J) -> ToolResult:
    results = [await _one(call, i, item) for i, item in enumerate(a["tools"])]  # in order: later may need earlier
    failed = sum(1 for r in results if not r["response"]["successful"])
    data = {
        "results": results,
        "total_count": len(results),
        "success_count": len(results) - failed,
        "error_count": failed,
    }
    return ToolResult(failed == 0, data, f"{failed} out of {len(results)} tools failed" if failed else None)


# --- connections ------------------------------------------------------------------------------------------
def _connect(call: Call, toolkit: str, reinitiate: bool) -> J:
    router, session = call.router, call.session
    if toolkit != "bitbucket":
        return {"toolkit": toolkit, "status": "failed", "error_message": f"Toolkit '{toolkit}' not found"}
    if not session.toolkit_allowed(toolkit):
        return {
            "toolkit": toolkit,
            "status": "failed",
            "error_message": f"[Session Restriction] Toolkit '{toolkit}' is not allowed for this session",
        }
    active = router.accounts.active(session.user_id, session.pinned(toolkit))
    if active is not None and not reinitiate:
        return {
            "toolkit": toolkit,
            "status": "active",
            "connection_id": active["id"],
            "active_connection": True,
            "instruction": f"{toolkit} is connected; go ahead with its tools.",
        }
    mine = router.accounts.for_user(session.user_id)
    if not reinitiate and mine and mine[-1]["status"] == "INITIATED" and mine[-1].get("redirect_url"):
        pending = mine[-1]  # the link handed out before is still the one to open
    else:
        try:
            pending = router.accounts.initiate(
                session.user_id, call.origin, session.config["manage_connections"].get("callback_url")
            )
        except ComposioApiError as exc:
            return {"toolkit": toolkit, "status": "failed", "error_message": exc.message}
    return {
        "toolkit": toolkit,
        "status": "initiated",
        "redirect_url": pending["redirect_url"],
        "connection_id": pending["id"],
        "auth_config_id": pending["auth_config_id"],
        "has_default_credentials": True,
        "was_reinitiated": active is not None,
        "instruction": f"Ask the user to open {pending['redirect_url']} to connect {toolkit}, then retry.",
    }


async def manage_connections(call: Call, a: J) -> ToolResult:
    results = {t.lower(): _connect(call, t.lower(), a["reinitiate_all"]) for t in a["toolkits"]}
    counts = {s: sum(1 for r in results.values() if r["status"] == s) for s in ("active", "initiated", "failed")}
    summary = {
        "total_toolkits": len(results),
        "active_connections": counts["active"],
        "initiated_connections": counts["initiated"],
        "failed_connections": counts["failed"],
    }
    message = (
        "All toolkits are connected."
        if counts["active"] == len(results)
        else "Some toolkits need the user to authenticate: share each redirect_url with the user."
    )
    data = {"message": message, "results": results, "summary": summary}
    failed = [r["error_message"] for r in results.values() if r["status"] == "failed"]
    return ToolResult(not failed, data, "; ".join(failed) or None)


async def wait_for_connections(call: Call, a: J) -> ToolResult:
    router, session = call.router, call.session
    toolkits = [t.lower() for t in a["toolkits"]]
    deadline = asyncio.get_running_loop().time() + a["timeout_seconds"]
    while True:
        statuses = {t: router.connection_status(session, t) for t in toolkits}
        active = [t for t, s in statuses.items() if s["has_active_connection"]]
        done = len(active) == len(toolkits) if a["mode"] == "all" else bool(active)
        if done or asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(router.settings.wait_poll_seconds)
    data = {
        "results": {t: {"toolkit": t, "status": "active" if t in active else "not_connected"} for t in toolkits},
        "mode": a["mode"],
        "all_connected": len(active) == len(toolkits),
    }
    if not done:
        return ToolResult.failed(
            f"Timed out after {a['timeout_seconds']}s waiting for connections to {', '.join(toolkits)}", data
        )
    return ToolResult(True, data)


def no_workbench(slug: str) -> Run:
    async def refuse(call: Call, a: J) -> ToolResult:
        return ToolResult.failed(NO_WORKBENCH.format(slug=slug), {"stdout": "", "stderr": ""})

    return refuse


META_TOOLS: dict[str, MetaTool] = {
    t.slug: t
    for t in (
        MetaTool(
            SEARCH,
            "Search tools",
            "Discover the tools for what the user asks: give one query per use case. Returns the primary and "
            "related tool slugs, their input schemas, connection status of their toolkits and an execution plan. "
            "Call it before any other tool when you do not know the exact tool slugs.",
            obj(
                "SearchToolsRequest",
                {
                    "queries": f(
                        "array",
                        "One entry per use case to find tools for.",
                        minItems=1,
                        items=obj(
                            "Query",
                            {
                                "use_case": f("string", "A short description of what to do, e.g. 'create a branch'."),
                                "known_fields": f("string", "Known inputs as 'key:value, key:value'.", default=None),
                            },
                        ),
                    ),
                    "session": f(
                        "object",
                        "Workflow session: {id} to continue one, {generate_id: true} for a new one.",
                        default=None,
                    ),
                },
            ),
            search_tools,
            tags=("readOnlyHint",),
        ),
        MetaTool(
            MULTI,
            "Multi execute tool",
            "Execute one or more tools found with COMPOSIO_SEARCH_TOOLS, in order, with their arguments. Each "
            "result reports success or the error of that tool.",
            obj(
                "MultiExecuteToolRequest",
                {
                    "tools": f(
                        "array",
                        f"The tool calls to run (at most {MAX_MULTI_EXECUTE}).",
                        minItems=1,
                        maxItems=MAX_MULTI_EXECUTE,
                        items=obj(
                            "ToolCall",
                            {
                                "tool_slug": f("string", "The tool slug, e.g. BITBUCKET_CREATE_BRANCH."),
                                "arguments": f(
                                    "object", "The tool's arguments, matching its input schema.", default=None
                                ),
                                "account": f("string", "Connected account id to use.", default=None),
                            },
                        ),
                    ),
                    "thought": f("string", "Why these tools are being run.", default=None),
                    "sync_response_to_workbench": f(
                        "boolean", "Also store the responses in the workbench.", default=False
                    ),
                    "memory": f("object", "Facts to remember, keyed by app.", default=None),
                    **STEP,
                    "session_id": SESSION_ID,
                },
            ),
            multi_execute,
            tags=("openWorldHint",),
        ),
        MetaTool(
            MANAGE,
            "Manage connections",
            "Check and create the user's connections to toolkits. For a toolkit without an active connection it "
            "returns a redirect_url the user must open to authenticate.",
            obj(
                "ManageConnectionsRequest",
                {
                    "toolkits": f(
                        "array",
                        "Toolkit slugs to connect, e.g. ['bitbucket'].",
                        minItems=1,
                        items=f("string", "A toolkit slug."),
                    ),
                    "reinitiate_all": f("boolean", "Start a new connection even when one is active.", default=False),
                    "specify_custom_auth": f("object", "Custom auth fields per toolkit.", default=None),
                    "session_id": SESSION_ID,
                },
            ),
            manage_connections,
        ),
        MetaTool(
            WAIT,
            "Wait for connections",
            "Wait until the user has finished connecting the given toolkits (after COMPOSIO_MANAGE_CONNECTIONS).",
            obj(
                "WaitForConnectionsRequest",
                {
                    "toolkits": f(
                        "array", "Toolkit slugs to wait for.", minItems=1, items=f("string", "A toolkit slug.")
                    ),
                    "mode": f(
                        "string",
                        "any: return when one is connected; all: when all are.",
                        default="any",
                        enum=["any", "all"],
                    ),
                    "timeout_seconds": f(
                        "integer", "How long to wait, in seconds.", default=300, minimum=1, maximum=600
                    ),
                    "session_id": SESSION_ID,
                },
            ),
            wait_for_connections,
        ),
        MetaTool(
            SCHEMAS,
            "Get tool schemas",
            "Get the complete input schemas of tools whose schemas COMPOSIO_SEARCH_TOOLS returned only as a schemaRef.",
            obj(
                "GetToolSchemasRequest",
                {
                    "tool_slugs": f("array", "The tool slugs.", minItems=1, items=f("string", "A tool slug.")),
                    "session_id": SESSION_ID,
                },
            ),
            get_tool_schemas,
            tags=("readOnlyHint",),
        ),
        MetaTool(
            WORKBENCH,
            "Remote workbench",
            "Run Python code in a remote sandbox with the session's tools available.",
            obj(
                "RemoteWorkbenchRequest",
                {
                    "code_to_execute": f("string", "The Python code to run."),
                    "thought": f("string", "Why this code is being run.", default=None),
                    "file_path": f("string", "A file to run instead of inline code.", default=None),
                    **STEP,
                    "session_id": SESSION_ID,
                },
            ),
            no_workbench(WORKBENCH),
        ),
        MetaTool(
            BASH,
            "Remote bash tool",
            "Run a shell command in the remote sandbox.",
            obj(
                "RemoteBashToolRequest", {"command": f("string", "The shell command to run."), "session_id": SESSION_ID}
            ),
            no_workbench(BASH),
        ),
    )
}
