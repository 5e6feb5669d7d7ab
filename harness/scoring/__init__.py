"""Expectations to verdicts: state (through the oracle), answer and tool use; plus each cell's metrics."""

from harness.scoring.scorer import Verdict, metrics, score

__all__ = ["Verdict", "metrics", "score"]
