"""Cassettes: vcrpy configuration, the JSON-body matcher, secret scrubbing and cell cassette names."""

from harness.recording.cassettes import (
    MATCH_ON,
    RECORD_MODES,
    REDACTED,
    Recorder,
    RecordMode,
    Scrubber,
    cassette_path,
)

__all__ = ["MATCH_ON", "RECORD_MODES", "REDACTED", "RecordMode", "Recorder", "Scrubber", "cassette_path"]
