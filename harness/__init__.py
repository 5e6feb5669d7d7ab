"""Evaluation and testing harness for AI agents that work on Bitbucket through MCP."""

import sys

__version__ = "0.1.0"

# ``mcp`` imports ``jsonschema``, which imports ``rfc3987_syntax`` when it is installed (the notebook stack
# installs it); that module compiles a Lark grammar at import, 1.5 to 5 s of every process start here (the
# sandbox, each worker, each replay). It only validates the "iri" string formats, which no schema here uses:
# jsonschema skips those formats when the import fails, so keep it from loading.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
