"""The Atlassian Rovo MCP server emulator: ``/v1/mcp`` with the API-token path's Bitbucket tools."""

from sandbox.rovo.service import create_service, load_fixture

__all__ = ["create_service", "load_fixture"]
