"""Evaluation and testing harness for AI agents that work on Bitbucket through MCP."""

__version__ = "0.1.0"
