"""The gateway: OpenAI's Responses API with hosted MCP tools, in front of any chat-completions model.

A gateway is registered on the admin API (``POST /model/gateways`` with ``{"name", "upstream", "model"?,
"stream"?: "native" | "emulated", "timeout"?}``; ``GET`` lists them, ``DELETE /model/gateways/<name>`` removes
one, a sandbox reset forgets them all) and served by the model server at ``/gateway/<name>/v1``:

* ``POST /responses``, streaming or not: the same request surface as the reference model's ``/v1/responses``
  (function tools, ``mcp`` tools with approvals, ``max_tool_calls``, ...) and the same items and events, but each
  next move comes from the upstream model (see ``mover``): the MCP servers' tools are offered to it as functions,
  the gateway runs the calls it makes over MCP and feeds the results back until it answers, needs an approval,
  calls a client-side function or runs out of calls. Usage is the sum of the upstream's over the loop. Upstream
  requests are never streamed here: the events are sent once the loop is done.
* ``POST /chat/completions`` and ``GET /models``: pass-through (see ``upstream``), the request's model id replaced
  by the registered one; in ``emulated`` mode a streamed chat request is served by one plain upstream call re-sent
  as standard chunks, for servers that cannot stream tool calls (llama-cpp-python 0.3.x).

Keys: the gateway stores none. The caller's ``Authorization`` header is forwarded to the upstream unchanged, as
through any proxy; MCP servers get the ``headers``/``authorization`` of their tool config. The gateway's traffic to
the upstream and to MCP servers is server to server: a client (and so a cassette) only sees its own requests to
the gateway. MCP servers must be on this machine, as for the reference model.
"""

from sandbox.model.gateway.mover import ToolNames, upstream_mover
from sandbox.model.gateway.registry import GatewayRegistry, GatewaySpec
from sandbox.model.gateway.upstream import Upstream, chat_completions, models

__all__ = ["GatewayRegistry", "GatewaySpec", "ToolNames", "Upstream", "chat_completions", "models", "upstream_mover"]
