"""Framework adapters, by the name results use."""

from harness.frameworks.autogen import AutoGenAdapter
from harness.frameworks.base import INSTRUCTIONS, Adapter, Conversation
from harness.frameworks.openai_agents import OpenAIAgentsClientAdapter, OpenAIAgentsHostedAdapter
from harness.frameworks.pydantic_ai import PydanticAIAdapter

ADAPTERS: dict[str, Adapter] = {
    a.name: a for a in (AutoGenAdapter(), OpenAIAgentsHostedAdapter(), OpenAIAgentsClientAdapter(), PydanticAIAdapter())
}

__all__ = ["ADAPTERS", "INSTRUCTIONS", "Adapter", "Conversation"]
