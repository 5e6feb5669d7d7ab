"""Cassettes: vcrpy configuration, the JSON-body matcher, secret scrubbing and cell cassette names."""

from harness.recording.cassettes import MATCH_ON, REDACTED, Recorder, Scrubber, cassette_path
from harness.vocab import RECORD_MODES, RecordMode

__all__ = ["MATCH_ON", "RECORD_MODES", "REDACTED", "RecordMode", "Recorder", "Scrubber", "cassette_path"]
