"""The embedded world: faithful emulators of Bitbucket Cloud, the Composio Tool Router, the Atlassian Rovo MCP
server and a scripted OpenAI-compatible model, on 127.0.0.1, in a process of their own.

The public face is small: start and stop a sandbox (``Sandbox``), read what it publishes (``SandboxInfo``),
register plans for its reference model (``Sandbox.register_plans``), put its Responses / hosted-MCP gateway in
front of any chat model (``Sandbox.register_gateway``), and talk to its admin API (``Sandbox.admin``,
``ADMIN_HEADER``). This package never imports the harness that runs against it.
"""

from sandbox.info import ADMIN_HEADER, SandboxInfo
from sandbox.launcher import Sandbox, SandboxError

__all__ = ["ADMIN_HEADER", "Sandbox", "SandboxError", "SandboxInfo"]
