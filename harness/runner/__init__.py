"""Running the matrix: cells, the steps of one cell, worker processes, resumable results."""

from harness.runner.matrix import Cell, matrix
from harness.runner.options import RunOptions
from harness.runner.run import RunPlan, new_run_id, run

__all__ = ["Cell", "RunOptions", "RunPlan", "matrix", "new_run_id", "run"]
