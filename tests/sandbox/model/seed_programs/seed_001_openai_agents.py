# ruff: noqa
# mypy: ignore-errors
# The OpenAI Agents SDK guide's complete program (integration guide 001: HostedMCPTool + Composio Tool Router),
# verbatim. Offline it needs only environment: COMPOSIO_API_KEY, COMPOSIO_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL,
# USER_ID, and OPENAI_AGENTS_DISABLE_TRACING=1 (else the SDK tries to export traces to api.openai.com).

import asyncio
import os
from dotenv import load_dotenv

from composio import Composio
from composio_openai_agents import OpenAIAgentsProvider
from agents import Agent, Runner, HostedMCPTool, SQLiteSession

load_dotenv()

api_key = os.getenv("COMPOSIO_API_KEY")
user_id = os.getenv("USER_ID")

if not api_key:
    raise RuntimeError("COMPOSIO_API_KEY is not set. Create a .env file with COMPOSIO_API_KEY=your_key")

# Initialize Composio
composio = Composio(api_key=api_key, provider=OpenAIAgentsProvider())

# Create Tool Router session
session = composio.create(user_id=user_id, toolkits=["bitbucket"])
mcp_url = session.mcp.url

# Configure agent with MCP tool
agent = Agent(
    name="Assistant",
    model="gpt-5",
    instructions=(
        "You are a helpful assistant that can access Bitbucket. "
        "Help users perform Bitbucket operations through natural language."
    ),
    tools=[
        HostedMCPTool(
            tool_config={
                "type": "mcp",
                "server_label": "tool_router",
                "server_url": mcp_url,
                "headers": {"x-api-key": api_key},
                "require_approval": "never",
            }
        )
    ],
)

print("\nComposio Tool Router session created.")

chat_session = SQLiteSession("conversation_openai_toolrouter")

print("\nChat started. Type your requests below.")
print("Commands: 'exit', 'quit', or 'q' to end\n")


async def main():
    try:
        result = await Runner.run(agent, "What can you help me with?", session=chat_session)
        print(f"Assistant: {result.final_output}\n")
    except Exception as e:
        print(f"Error: {e}\n")

    while True:
        user_input = input("You: ").strip()
        if user_input.lower() in {"exit", "quit", "q"}:
            print("Goodbye!")
            break

        result = await Runner.run(agent, user_input, session=chat_session)
        print(f"Assistant: {result.final_output}\n")


asyncio.run(main())
