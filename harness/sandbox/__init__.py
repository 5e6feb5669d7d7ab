"""The embedded world: faithful emulators of every remote party, on 127.0.0.1."""

from harness.sandbox.launcher import Sandbox, SandboxError

__all__ = ["Sandbox", "SandboxError"]
