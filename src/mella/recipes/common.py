"""Helpers shared by the job recipes: job identity, atomic JSON, stats summary, mapping a table."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from mella.executors import connect, executor, run_all


LOCK_NAME = ".mella.lock"


# what a folder holds, by the file its command writes (checked in this order)
FOLDER_KINDS = (("export.json", "export", "an export (`mella export`)"), ("build.json", "build", "a `mella build` folder"),
                ("ablation.json", "ablation", "an experiment (`mella experiment ablate`)"),
                ("run.json", "run", "a training or evaluation run"))


def folder_kind(out: Path) -> tuple[str, str] | None:
    """(kind, description) of a mella output folder, or None."""
    for marker, kind, what in FOLDER_KINDS:
        if (out / marker).is_file():
            return kind, what
    if (out / "table.json").is_file():
        if (out / "samples").is_dir():
            return "dataset", "a composed dataset (`mella compose`)"
        return "table", "a record table (`mella mine`, `fetch`, `caption`...)"
    return None


def check_target(out: Path, kind: str | None, inputs: list[str] | None = None) -> None:
    """Refuses, before anything is written, an --out that is a file, an input of the job, a folder of
    another kind of mella output, or a non-empty folder mella did not make."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder (it is created if missing)")
    resolved = out.resolve()
    for item in inputs or []:
        if Path(item).is_dir() and Path(item).resolve() == resolved:
            raise ValueError(f"--out {out} is the input folder; write to a new folder (every stage keeps its input)")
    if not out.is_dir():
        return
    found = folder_kind(out)
    if found is not None and kind is not None and found[0] != kind:
        raise ValueError(f"--out {out} holds {found[1]}, not the output of this command; give a new folder")
    if found is None and not (out / LOCK_NAME).exists():
        names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        if names:
            shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            raise ValueError(f"--out {out} is not empty and was not made by mella (it holds {shown}); give a new "
                             "or empty folder (nothing in it was changed)")


@contextmanager
def open_output(out: Path, inputs: list[str] | None = None, config: dict | None = None, kind: str | None = None):
    """An output folder for one run: checked (``check_target``), created and checked writable, locked
    against a second run (a POSIX record lock: the kernel drops it with the process that holds it, and
    forked helpers, such as datatrove's manager process, do not inherit it), and tied to its job (a rerun
    of the same job resumes; another job is refused once the folder holds work). A folder this call
    created is removed again when the job stops on a usage or configuration error before any work."""
    import fcntl
    import shutil

    out = Path(out)
    check_target(out, kind, inputs)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fh = open(out / LOCK_NAME, "a+")
    except OSError as e:
        raise ValueError(f"cannot write to --out {out}: {e.strerror or e}; choose a writable folder") from None
    try:
        try:
            fcntl.lockf(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise ValueError(f"{out} is in use by another mella run ({holder}); wait for it to finish or use "
                             "another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        fh.flush()
        if config is not None:
            check_same_job(out, inputs or [], config)
        yield out
    except (ValueError, OSError):  # usage, configuration or loading errors (not an incomplete run)
        if created and not has_work(out):
            fh.close()
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        fh.close()  # releases the lock


def has_work(out: Path) -> bool:
    """Whether a folder holds the output of finished work: shards, task completion markers, samples, a
    training run or checkpoint, an experiment's results."""
    return (any(out.glob("train-*.parquet")) or any((out / "logs").glob("*/completions/*"))
            or any((out / "samples").glob("*.parquet")) or (out / "run.json").is_file()
            or any((out / "checkpoints").glob("checkpoint-*")) or (out / "ablation.json").is_file()
            or any((out / "runs").glob("*/run.json")))


def check_same_job(out: Path, inputs: list[str], config: dict) -> None:
    """A rerun into the same DIR resumes; a different job into it is refused (it would mix outputs) unless
    the folder holds no finished work yet (e.g. the last attempt stopped on a configuration error)."""
    job = {"inputs": inputs, "config": config}
    path = out / "job.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != job:
            if has_work(out):
                raise ValueError(f"{out} holds the output of a different job (inputs or config differ); "
                                 "use a new --out directory or delete this one")
            atomic_json(path, job)
    else:
        atomic_json(path, job)


def atomic_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


STAGE_ORDER = ("stage1", "stage2", "near", "final", "fetch", "dedup")  # a job's stages in the order they run


def summarise(out: Path, staging: tuple[str, ...] = ("stage1",)) -> dict:
    """Counts per language and per drop reason from datatrove's per-task stats files, merged with
    datatrove's PipelineStats (its own merged stats.json covers only the tasks of the last invocation,
    not the ones a resumed run skipped)."""
    from datatrove.utils.stats import PipelineStats

    kept: dict[str, int] = {}
    decided: dict[str, dict[str, dict[str, int]]] = {"know": {}, "ling": {}}
    dropped: dict[str, dict[str, int]] = {}
    reasons: dict[str, int] = {}
    steps: dict[str, dict[str, int]] = {}
    order = {name: i for i, name in enumerate(STAGE_ORDER)}
    stages = sorted((p for p in (out / "logs").iterdir() if (p / "stats").is_dir()),
                    key=lambda p: (order.get(p.name, len(order)), p.name))
    for stage in stages:
        per_task = [PipelineStats.from_json(json.loads(f.read_text(encoding="utf-8")))
                    for f in sorted((stage / "stats").glob("*.json"))]
        merged = json.loads(sum(per_task, start=PipelineStats()).to_json())
        for step in merged:
            # one entry per stage's step: the writer of stage 1 and the final one are different counts
            name = f"{stage.name}: {step['name']}" if len(stages) > 1 else step["name"]
            counters = steps.setdefault(name, {})
            timing = step.get("time_stats")
            if isinstance(timing, dict) and timing.get("total"):
                counters["seconds"] = counters.get("seconds", 0) + float(timing["total"])
            for key, metric in step.get("stats", {}).items():
                n = int(metric["total"] if isinstance(metric, dict) else metric)
                counters[key] = counters.get(key, 0) + n
                if key.startswith("kept:") and stage.name not in staging:
                    kept[key[5:]] = kept.get(key[5:], 0) + n
                elif key.startswith(("know:", "ling:")):
                    source, lang, reason = key.split(":", 2)
                    by_lang = decided[source].setdefault(lang, {})
                    by_lang[reason] = by_lang.get(reason, 0) + n
                elif key.startswith("excluded:"):
                    lang, reason = key.removeprefix("excluded:").rsplit(":", 1)
                    dropped.setdefault(lang, {})[reason] = dropped.setdefault(lang, {}).get(reason, 0) + n
                    reasons[reason] = reasons.get(reason, 0) + n
    return {
        "kept_total": sum(kept.values()),
        "kept_by_lang": dict(sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))),
        "dropped_total": sum(reasons.values()),
        "dropped_by_reason": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "dropped_by_lang": {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in sorted(dropped.items())},
        "steps": steps,
        **({"decisions": decided} if decided["know"] or decided["ling"] else {}),
    }


def map_table(table, out: Path, steps, added: list, cfg, stage: str) -> dict:
    """Runs ``steps()`` (steps that add columns and never drop a record) over the record table ``table`` in
    resumable shards of ``cfg.shard_records`` rows and writes ``out``: every input column carried,
    ``added`` columns appended."""
    total = table.rows()
    if total == 0:
        raise ValueError(f"{table.path}: the table has no records: nothing for `mella {stage}` to do")
    from mella.config import job_config

    connect(getattr(cfg, "executor", None))  # an unreachable cluster fails here, before any work
    with open_output(out, [str(table.path.resolve())], job_config(cfg), kind="table"):
        return _map_table(table, out, steps, added, cfg, stage, total)


def _map_table(table, out, steps, added, cfg, stage, total):
    import math

    from mella.schema import carried
    from mella.steps.staged import StagedParquetReader
    from mella.steps.write import ParquetShardWriter
    from mella.table import write_manifest

    columns = carried(table.columns, added)
    w = cfg.write
    pipeline = [StagedParquetReader(table.path, "train", batch_rows=64, shard_rows=cfg.shard_records),
                *steps(),
                ParquetShardWriter(out, columns, prefix="train", rows_per_file=w.rows_per_file,
                                   batch_rows=w.batch_rows, compression=w.compression)]
    tasks = max(1, math.ceil(total / cfg.shard_records))
    run_all(executor(pipeline, out / "logs" / stage, tasks=tasks, workers=cfg.workers,
                     settings=getattr(cfg, "executor", None)))
    summary = summarise(out)
    atomic_json(out / "stats.json", summary)
    write_manifest(out, stage, table, summary["kept_total"])
    return summary
