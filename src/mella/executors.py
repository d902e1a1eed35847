"""Executors, built in one place: datatrove's local executor, made safe for unattended runs.

- A worker process that dies (killed, out of memory) ends the run as *incomplete* (the CLI exits 3 and a
  rerun resumes): datatrove's multiprocess pool would wait for its result forever. Several workers run
  in a ``concurrent.futures`` process pool, which reports a dead worker.
- Before a rerun, every task marked complete is checked against its outputs: a shard that is missing,
  unreadable or shorter than the task's own count means the task is redone (a crash between the files
  and the marker, a disk that filled up, a file someone deleted).
"""

from __future__ import annotations

import json
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor


class IncompleteRun(RuntimeError):
    """Some tasks did not finish (a worker died); rerunning the same command resumes them."""


class LocalExecutor(LocalPipelineExecutor):
    """LocalPipelineExecutor whose multi-worker runs notice a dead worker instead of hanging."""

    def run(self):
        if self.workers == 1:
            return super().run()
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        from datatrove.utils.logging import logger

        ranks = self.get_incomplete_ranks(range(self.tasks))
        if not ranks:
            return None
        self._launched = True
        self.save_executor_as_json()
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_logging) as pool:
            futures = [pool.submit(self._run_for_rank, rank, n % self.workers) for n, rank in enumerate(ranks)]
            try:
                for future in as_completed(futures):
                    future.result()
            except BrokenProcessPool as e:
                logger.error(f"a worker process died: {e}")  # the unfinished tasks stay incomplete
                for future in futures:
                    future.cancel()
        return None


def _worker_logging() -> None:
    """Workers log as the parent does: datatrove's progress logs only with --verbose (MELLA_QUIET unset)."""
    import os

    if os.environ.get("MELLA_QUIET"):
        from loguru import logger

        logger.disable("datatrove")


def executor(pipeline: list, logging_dir: Path, tasks: int = 1, workers: int = 1) -> LocalExecutor:
    """``tasks`` tasks of ``pipeline``, at most ``workers`` at a time, logs and markers in ``logging_dir``."""
    return LocalExecutor(pipeline, tasks=tasks, workers=max(1, min(workers, tasks)), logging_dir=str(logging_dir))


def run_all(ex) -> None:
    """Runs the executor (after un-marking tasks whose outputs are broken); IncompleteRun if any task did
    not finish."""
    forget_broken_tasks(ex)
    ex.run()
    missing = ex.get_incomplete_ranks(skip_completed=True)
    if missing:
        raise IncompleteRun(f"{len(missing)} of {ex.world_size} tasks did not complete (a worker process "
                            f"died?); rerun the same command to resume them. Logs: {ex.logging_dir.path}")


def forget_broken_tasks(ex) -> list[int]:
    """Removes the completion marker of every task whose Parquet outputs are missing, unreadable or short."""
    import pyarrow.parquet as pq

    from mella.steps.write import ParquetShardWriter

    logs = Path(ex.logging_dir.path)
    completions = logs / "completions"
    if not completions.is_dir():
        return []
    # an intermediate folder the next stage consumed and removed is not checked (its work is done)
    writers = [s for s in ex.pipeline if isinstance(s, ParquetShardWriter) and s.folder.is_dir()]
    if not writers:
        return []
    redo = []
    for marker in sorted(completions.iterdir()):
        if not marker.name.isdigit():
            continue
        rank = int(marker.name)
        expected = _kept_rows(logs / "stats" / f"{rank:05d}.json")
        found, broken = 0, False
        for writer in writers:
            for path in sorted(writer.folder.glob(f"{writer.prefix}-{rank:05d}-*.parquet")):
                try:
                    found += pq.ParquetFile(path).metadata.num_rows
                except Exception:  # noqa: BLE001 - any unreadable file means: redo the task
                    broken = True
        if broken or (expected is not None and found != expected):
            marker.unlink()
            redo.append(rank)
    return redo


def _kept_rows(stats_file: Path) -> int | None:
    """Rows the task's terminal writer reported (its ``kept:<lang>`` counters), None if unknown."""
    if not stats_file.is_file():
        return None
    try:
        steps = json.loads(stats_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for step in reversed(steps):
        kept = [m for k, m in step.get("stats", {}).items() if k.startswith("kept:")]
        if kept or "WRITER" in step.get("name", ""):
            return sum(int(m["total"] if isinstance(m, dict) else m) for m in kept)
    return None
