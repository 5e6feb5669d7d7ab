"""What credentials look like in text, for scanning recordings and redacting what is shared.

Each shape matches the secret, plus at most a ``keep`` group in front of it (the separators after
``client_secret``), so that redaction leaves the text around the secret readable.
"""

from __future__ import annotations

import re

SECRET_SHAPES: dict[str, re.Pattern[str]] = {
    "Atlassian API token": re.compile(r"ATATT[0-9A-Za-z_\-=]{20,}"),
    "OpenAI key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}"),
    "Composio key": re.compile(r"\b(?:ak|uak)_[A-Za-z0-9]{16,}"),
    "Basic auth header": re.compile(r"(?i)(?<=basic )[A-Za-z0-9+/]{16,}={0,2}"),
    "bearer token": re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._\-]{16,}"),
    "OAuth client secret": re.compile(r"(?i)(?<=client_secret)(?P<keep>[\"'=: ]+)[A-Za-z0-9._\-]{8,}"),
}


def redact(text: str, replacement: str = "REDACTED") -> str:
    """``text`` with everything shaped like a credential replaced."""
    for shape in SECRET_SHAPES.values():
        text = shape.sub(lambda m: (m.groupdict().get("keep") or "") + replacement, text)
    return text
