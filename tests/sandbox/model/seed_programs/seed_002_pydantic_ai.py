# ruff: noqa
# mypy: ignore-errors
# The Pydantic AI guide's complete program (integration guide 002: MCP toolset + Composio Tool Router), verbatim
# except for two lines marked "CHANGED" that cannot run as printed, offline or not:
#   - pydantic_ai.mcp.MCPServerStreamableHTTP was removed in Pydantic AI V2 (ImportError); MCPToolset replaces it;
#   - the guide passes an undefined name COMPOSIO_API_KEY (NameError); its own variable is api_key.
# Offline it needs only environment: COMPOSIO_API_KEY, COMPOSIO_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL, USER_ID.

import asyncio
import os
from dotenv import load_dotenv
from composio import Composio
from pydantic_ai import Agent
from pydantic_ai.mcp import MCPToolset as MCPServerStreamableHTTP  # CHANGED

load_dotenv()


async def main():
    api_key = os.getenv("COMPOSIO_API_KEY")
    user_id = os.getenv("USER_ID")
    if not api_key or not user_id:
        raise RuntimeError("Set COMPOSIO_API_KEY and USER_ID in your environment")

    # Create a Composio Tool Router session for Bitbucket
    composio = Composio(api_key=api_key)
    session = composio.create(
        user_id=user_id,
        toolkits=["bitbucket"],
    )
    url = session.mcp.url
    if not url:
        raise ValueError("Composio session did not return an MCP URL")

    # Attach the MCP server to a Pydantic AI Agent
    bitbucket_mcp = MCPServerStreamableHTTP(url, headers={"x-api-key": api_key})  # CHANGED
    agent = Agent(
        "openai:gpt-5",
        toolsets=[bitbucket_mcp],
        instructions=(
            "You are a Bitbucket assistant. Use Bitbucket tools to help users "
            "with their requests. Ask clarifying questions when needed."
        ),
    )

    # Simple REPL with message history
    history = []
    print("Chat started! Type 'exit' or 'quit' to end.\n")
    print("Try asking the agent to help you with Bitbucket.\n")

    while True:
        user_input = input("You: ").strip()
        if user_input.lower() in {"exit", "quit", "bye"}:
            print("\nGoodbye!")
            break
        if not user_input:
            continue

        print("\nAgent is thinking...\n", flush=True)

        async with agent.run_stream(user_input, message_history=history) as stream_result:
            collected_text = ""
            async for chunk in stream_result.stream_output():
                text_piece = None
                if isinstance(chunk, str):
                    text_piece = chunk
                elif hasattr(chunk, "delta") and isinstance(chunk.delta, str):
                    text_piece = chunk.delta
                elif hasattr(chunk, "text"):
                    text_piece = chunk.text
                if text_piece:
                    collected_text += text_piece
            result = stream_result

        print(f"Agent: {collected_text}\n")
        history = result.all_messages()


if __name__ == "__main__":
    asyncio.run(main())
