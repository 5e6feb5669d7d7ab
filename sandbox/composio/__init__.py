"""The Composio Tool Router emulator: session REST API, session MCP server, meta tools and the Bitbucket toolkit."""

from sandbox.composio.accounts import load_fixture
from sandbox.composio.service import create_service

__all__ = ["create_service", "load_fixture"]
