"""Expectations to verdicts: what the oracle must read afterwards (``observe``), then state, answer and tool use
(``score``, pure); plus each cell's metrics."""

from harness.scoring.observe import Observation, observe
from harness.scoring.scorer import Verdict, metrics, score

__all__ = ["Observation", "Verdict", "metrics", "observe", "score"]
