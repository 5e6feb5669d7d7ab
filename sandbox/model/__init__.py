"""The sandbox's reference model: a deterministic OpenAI-compatible server (Chat Completions and Responses, with
hosted MCP tools) whose policies turn scenario plans and plain-English Bitbucket requests into tool calls; and its
gateways (``gateway``), which serve the same Responses API with hosted MCP in front of any chat-completions model."""

from sandbox.model.policy import POLICY_NAMES
from sandbox.model.service import API_KEY, create_service, load_fixture

__all__ = ["API_KEY", "POLICY_NAMES", "create_service", "load_fixture"]
