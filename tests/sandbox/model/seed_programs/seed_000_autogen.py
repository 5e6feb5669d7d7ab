# ruff: noqa
# mypy: ignore-errors
# The AutoGen guide's complete program (integration guide 000: AutoGen + Composio Tool Router), verbatim.
# Offline it needs only environment: COMPOSIO_API_KEY, COMPOSIO_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL, USER_ID
# (run_seed.py sets them from a sandbox).

import asyncio
import os
from dotenv import load_dotenv
from composio import Composio

from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from autogen_ext.tools.mcp import McpWorkbench, StreamableHttpServerParams

load_dotenv()


async def main():
    # Initialize Composio and create a Bitbucket session
    composio = Composio(api_key=os.getenv("COMPOSIO_API_KEY"))
    session = composio.create(user_id=os.getenv("USER_ID"), toolkits=["bitbucket"])
    url = session.mcp.url

    # Configure MCP server parameters for Streamable HTTP
    server_params = StreamableHttpServerParams(
        url=url,
        timeout=30.0,
        sse_read_timeout=300.0,
        terminate_on_close=True,
        headers={"x-api-key": os.getenv("COMPOSIO_API_KEY")},
    )

    # Create model client
    model_client = OpenAIChatCompletionClient(model="gpt-5", api_key=os.getenv("OPENAI_API_KEY"))

    # Use McpWorkbench as context manager
    async with McpWorkbench(server_params) as workbench:
        # Create Bitbucket assistant agent with MCP tools
        agent = AssistantAgent(
            name="bitbucket_assistant",
            description="An AI assistant that helps with Bitbucket operations.",
            model_client=model_client,
            workbench=workbench,
            model_client_stream=True,
            max_tool_iterations=10,
        )

        print("Chat started! Type 'exit' or 'quit' to end the conversation.\n")
        print("Ask any Bitbucket related question or task to the agent.\n")

        # Conversation loop
        while True:
            user_input = input("You: ").strip()

            if user_input.lower() in ["exit", "quit", "bye"]:
                print("\nGoodbye!")
                break

            if not user_input:
                continue

            print("\nAgent is thinking...\n")

            # Run the agent with streaming
            try:
                response_text = ""
                async for message in agent.run_stream(task=user_input):
                    if hasattr(message, "content") and message.content:
                        response_text = message.content

                # Print the final response
                if response_text:
                    print(f"Agent: {response_text}\n")
                else:
                    print("Agent: I encountered an issue processing your request.\n")

            except Exception as e:
                print(f"Agent: Sorry, I encountered an error: {str(e)}\n")


if __name__ == "__main__":
    asyncio.run(main())
