"""Executors, built in one place: datatrove's local executor, made safe for unattended runs, or
datatrove's Ray executor (``executor.kind: ray``) for a cluster, over the same pipeline steps.

- A worker process that dies (killed, out of memory) ends the run as *incomplete* (the CLI exits 3 and a
  rerun resumes): datatrove's multiprocess pool would wait for its result forever. Several workers run
  in a ``concurrent.futures`` process pool, which reports a dead worker.
- Before a rerun, every task marked complete is checked against its outputs: a shard that is missing,
  unreadable or shorter than the task's own count means the task is redone (a crash between the files
  and the marker, a disk that filled up, a file someone deleted).
- Ray (``RayExecutor``): ``workers`` long-lived actors, each with ``cpus_per_task`` (fractional CPUs let
  tasks share a core: on a 2-core machine, 2 workers at 1 CPU each leave nothing for Ray's own work),
  ``gpus_per_task`` and memory, run the tasks one after another in their own process, so a model stage
  loads its model once per actor, not once per task (datatrove's RayPipelineExecutor starts an actor and
  a forked process per task). A task whose actor dies is resubmitted to a new actor (3 times), and one
  that still fails leaves the run incomplete, as locally. Completion markers and stats live in the same logging folder,
  so a run started locally resumes on Ray and back. The cluster is joined (``ray_address``) or started
  on this machine once per process, before any work; an unreachable address is one clear error.
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
        pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_logging)
        futures = [pool.submit(self._run_for_rank, rank, n % self.workers) for n, rank in enumerate(ranks)]
        try:
            for future in as_completed(futures):
                future.result()
        except BrokenProcessPool as e:
            logger.error(f"a worker process died: {e}")  # the unfinished tasks stay incomplete
            for future in futures:
                future.cancel()
        except KeyboardInterrupt:
            # Ctrl-C: the queued tasks are not started, the running ones stop (they stay incomplete: a
            # rerun redoes them)
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return None


def _worker_logging() -> None:
    """Workers log as the parent does: datatrove's progress logs only with --verbose (MELLA_QUIET unset)."""
    import os

    if os.environ.get("MELLA_QUIET"):
        from loguru import logger

        logger.disable("datatrove")


def executor(pipeline: list, logging_dir: Path, tasks: int = 1, workers: int = 1, settings=None):
    """``tasks`` tasks of ``pipeline``, at most ``workers`` at a time, logs and markers in ``logging_dir``;
    ``settings`` (an ``ExecutorConfig``) chooses local processes or Ray."""
    workers = max(1, min(workers, tasks))
    if settings is None or settings.kind == "local":
        return LocalExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=str(logging_dir))
    connect(settings)
    global RayExecutor
    if RayExecutor is None:
        RayExecutor = _ray_executor_class()
    return RayExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=str(logging_dir),
                       cpus_per_task=settings.cpus_per_task, gpus_per_task=settings.gpus_per_task,
                       mem_per_cpu_gb=settings.mem_per_cpu_gb)


class _RankRunner:
    """A Ray actor that runs tasks in its own process, one after another: what a process loads (a model,
    a tokenizer) stays loaded for its next task."""

    def run(self, executor, rank: int) -> int:
        import os

        _worker_logging()
        executor._run_for_rank(rank)
        return os.getpid()


def _ray_executor_class():
    from datatrove.executor import RayPipelineExecutor

    class RayExecutor(RayPipelineExecutor):
        """datatrove's Ray executor (its settings, logging folder, markers and stats) with the tasks run by
        ``workers`` long-lived actors instead of one new actor and process per task."""

        max_attempts = 3

        def run(self):
            from collections import Counter, deque

            import ray
            from datatrove.utils.logging import logger
            from ray.exceptions import RayActorError

            self._launched = True
            pending = deque(self.get_incomplete_ranks(range(self.world_size)))
            if not pending:
                return
            check_nodes_see(Path(self.logging_dir.path), self.pipeline)
            self.save_executor_as_json()
            ref = ray.put(self)
            options = {"num_cpus": self.cpus_per_task, "num_gpus": self.gpus_per_task,
                       "memory": int(self.mem_per_cpu_gb * self.cpus_per_task * 1024 ** 3)}
            Runner = ray.remote(_RankRunner).options(**options)
            n_actors = min(self.workers, len(pending))
            # actors the cluster cannot place would hold their tasks forever: as many as its CPUs/GPUs allow
            resources = ray.cluster_resources()
            fit = int(resources.get("CPU", 0) // self.cpus_per_task) if self.cpus_per_task else n_actors
            if self.gpus_per_task:
                fit = min(fit, int(resources.get("GPU", 0) // self.gpus_per_task))
            if fit < 1:
                raise ValueError(f"the Ray cluster has {resources.get('CPU', 0):g} CPUs and {resources.get('GPU', 0):g} "
                                 f"GPUs: not enough for one task ({self.cpus_per_task:g} CPUs, {self.gpus_per_task:g} "
                                 "GPUs); lower executor.cpus_per_task / gpus_per_task")
            if fit < n_actors:
                logger.warning(f"{n_actors} workers asked, the cluster holds {fit} tasks of {self.cpus_per_task:g} "
                               f"CPUs: running {fit} (executor.cpus_per_task lets more share the CPUs)")
                n_actors = fit
            actors = [Runner.remote() for _ in range(n_actors)]
            attempts: Counter = Counter()
            running: dict = {}

            def submit(actor) -> None:
                if pending:
                    rank = pending.popleft()
                    running[actor.run.remote(ref, rank)] = (actor, rank)

            try:
                for actor in actors:
                    submit(actor)
                while running:
                    done, _ = ray.wait(list(running), num_returns=1)
                    for obj in done:
                        actor, rank = running.pop(obj)
                        try:
                            ray.get(obj)
                        except Exception as e:  # noqa: BLE001 - the task stays incomplete unless a retry succeeds
                            attempts[rank] += 1
                            logger.error(f"task {rank} failed (attempt {attempts[rank]}): {str(e).splitlines()[0]}")
                            if isinstance(e, RayActorError):
                                ray.kill(actor)
                                actor = Runner.remote()  # its process is gone: a new one takes its place
                            if attempts[rank] < self.max_attempts:
                                pending.append(rank)
                        submit(actor)
            finally:
                for actor in actors:
                    ray.kill(actor)

    return RayExecutor


RayExecutor = None  # the class, made on first use: datatrove's Ray module is imported only for Ray runs


def _reachable(address: str | None, timeout: float = 5.0) -> None:
    """ConnectionError when a ``host:port`` or ``ray://host:port`` address does not accept connections."""
    import socket
    from urllib.parse import urlsplit

    if not address or address == "auto" or address.startswith("local"):
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    if parts.hostname is None or parts.port is None:
        return
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=timeout).close()
    except OSError as e:
        raise ConnectionError(f"{parts.hostname}:{parts.port} does not answer ({e.strerror or e})") from None


# passed to Ray's worker processes (started by Ray, not by us: they do not inherit this process's environment)
FORWARDED_ENV = ("MELLA_QUIET", "MELLA_CACHE_DIR", "HF_HUB_OFFLINE", "HF_HOME", "TRANSFORMERS_OFFLINE",
                 "PYTHONHASHSEED")


def connect(settings) -> None:
    """Joins the Ray cluster at ``settings.ray_address`` or starts one on this machine (once per process).
    Raises ValueError with the fix when Ray is not installed or the cluster cannot be reached."""
    if settings is None or settings.kind != "ray":
        return
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs Ray: pip install 'mella[ray]'") from None
    if ray.is_initialized():
        return
    import os

    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    try:
        _reachable(settings.ray_address)  # Ray itself retries an unreachable address for minutes
        ray.init(address=settings.ray_address, runtime_env={"env_vars": env} if env else None,
                 include_dashboard=False, log_to_driver=bool(os.environ.get("MELLA_RAY_LOGS")),
                 configure_logging=False)
    except Exception as e:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError, TimeoutError
        where = f"the Ray cluster at {settings.ray_address!r}" if settings.ray_address else "a local Ray instance"
        raise ValueError(f"cannot start or join {where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}; "
                         "start the cluster (`ray start --head`) and pass its address with --ray-address "
                         "(or `executor.ray_address`), or leave it unset to start Ray on this machine") from None


def _missing_on_nodes(paths: list[str], tokens: dict[str, str]) -> dict[str, list[str]]:
    """For every alive Ray node with CPUs: which of ``paths`` it cannot see, and which token files it cannot
    read with their token (a folder of the same name on that node's own disk, such as each node's own
    cache, is not the same folder). {node: missing paths}, only nodes missing something; a node that
    cannot be probed is one missing everything, with the reason."""
    import os

    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    def sees(paths: list[str], tokens: dict[str, str]) -> list[str]:
        missing = [p for p in paths if not os.path.exists(p)]
        for token_file, token in tokens.items():
            try:
                with open(token_file, encoding="utf-8") as f:
                    if f.read() != token:
                        missing.append(token_file)
            except OSError:
                missing.append(token_file)
        return missing

    probe = ray.remote(num_cpus=0)(sees)
    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    refs = {f"{n['NodeManagerAddress']} ({n['NodeID'][:8]})": probe.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(paths, tokens)
        for n in nodes}
    found = {}
    for node, ref in refs.items():
        try:
            found[node] = ray.get(ref, timeout=120)
        except Exception as e:  # noqa: BLE001 - a node that dies or hangs while probed cannot be trusted either
            found[node] = [f"(not probed: {type(e).__name__})"]
    return {node: missing for node, missing in found.items() if missing}


def _shared_paths(logging_dir: Path, pipeline: list) -> tuple[list[str], list[Path]]:
    """(paths every node must see, folders every node must share): the readers' folders and the folders
    of their input files; the run's logging folder and the image stores the steps read or write."""
    seen: set[str] = set()
    shared = [Path(logging_dir)]
    for step in pipeline:
        if "READER" in str(getattr(step, "type", "")):
            folder = getattr(step, "folder", None)
            if folder is not None and "://" not in str(folder):
                seen.add(str(Path(folder).resolve()))
            # folders, not every file: a crawl of 10^5 files is checked in one probe per node
            seen |= {str(Path(f).resolve().parent) for f in getattr(step, "files", None) or () if "://" not in str(f)}
        root = getattr(getattr(step, "store", None), "root", None)
        if root is not None:
            shared.append(Path(root))
        db = getattr(getattr(step, "warc_images", None), "db", None)
        if db:
            seen.add(str(Path(db).resolve()))
    return sorted(seen), list(dict.fromkeys(shared))


_SEEN_BY_ALL: set = set()


def check_nodes_see(logging_dir: Path, pipeline: list) -> None:
    """Before any Ray work: every node of the cluster must see the run's folder (its logs and outputs),
    the image store and the pipeline's inputs, or tasks on the other nodes would write to their own disks
    and read no input. ValueError naming the nodes and the fix otherwise. Nodes that join later (an
    autoscaling cluster) are not checked."""
    import uuid

    paths, shared = _shared_paths(logging_dir, pipeline)
    key = (tuple(paths), tuple(str(p.resolve()) for p in shared))
    if key in _SEEN_BY_ALL:
        return
    tokens: dict[str, str] = {}
    try:
        for folder in shared:
            folder.mkdir(parents=True, exist_ok=True)
            token = uuid.uuid4().hex
            token_file = folder.resolve() / f".node-check-{token}"
            token_file.write_text(token, encoding="utf-8")
            tokens[str(token_file)] = token
        missing = _missing_on_nodes(paths, tokens)
    finally:
        for token_file in tokens:
            Path(token_file).unlink(missing_ok=True)
    if missing:
        def what(path: str) -> str:
            return f"{Path(path).parent} (not the same folder there)" if path in tokens else path

        lines = "; ".join(f"{node}: {', '.join(what(p) for p in lost[:3])}{' ...' if len(lost) > 3 else ''}"
                          for node, lost in list(missing.items())[:5])
        raise ValueError(f"{len(missing)} node(s) of the Ray cluster cannot see what this run reads or writes "
                         f"({lines}): tasks there would write to their own disks and read no input. Put --out, "
                         "the inputs and the image store on a filesystem every node mounts "
                         "(NFS, Lustre, FSx, a FUSE-mounted bucket), or run on one machine (--out s3://... is "
                         "mirrored on the machine that runs the command)")
    _SEEN_BY_ALL.add(key)


# tasks this process found to do, over every run_all call: a rerun of a finished job runs none (the CLI says so)
RUNS = {"calls": 0, "tasks": 0}


def run_all(ex) -> None:
    """Runs the executor (after un-marking tasks whose outputs are broken); IncompleteRun if any task did
    not finish."""
    forget_broken_tasks(ex)
    RUNS["calls"] += 1
    RUNS["tasks"] += len(ex.get_incomplete_ranks(skip_completed=True))
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
