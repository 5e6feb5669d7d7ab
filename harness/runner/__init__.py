"""Running the matrix: cells, worker processes, resumable results."""

from harness.runner.cells import Cell, matrix
from harness.runner.run import RunPlan, finished_keys, new_run_id, run

__all__ = ["Cell", "RunPlan", "finished_keys", "matrix", "new_run_id", "run"]
