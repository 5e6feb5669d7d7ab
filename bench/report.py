"""What every benchmark does with its figures: a JSON file for later comparison, a table on the console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def publish(results: dict[str, Any], output: Path, table: str) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(table)
    print(f"JSON: {output}")
