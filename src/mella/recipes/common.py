"""Helpers shared by the job recipes: completion checks, job identity, atomic JSON, stats summary."""

from __future__ import annotations

import json
import os
from pathlib import Path


class IncompleteRun(RuntimeError):
    """Some tasks did not finish (a worker died); rerunning the same command resumes them."""


def executor(pipeline: list, logging_dir: Path, tasks: int = 1, workers: int = 1):
    """The one place executors are built: ``tasks`` tasks, at most ``workers`` at a time."""
    from datatrove.executor import LocalPipelineExecutor

    return LocalPipelineExecutor(pipeline, tasks=tasks, workers=max(1, min(workers, tasks)),
                                 logging_dir=str(logging_dir))


def run_all(executor) -> None:
    executor.run()
    missing = executor.get_incomplete_ranks(skip_completed=True)
    if missing:
        raise IncompleteRun(f"{len(missing)} of {executor.world_size} tasks did not complete (a worker process "
                            f"died?); rerun the same command to resume them. Logs: {executor.logging_dir.path}")


def check_same_job(out: Path, inputs: list[str], config: dict) -> None:
    """A rerun into the same DIR resumes; a different job into it is refused (it would mix outputs)."""
    job = {"inputs": inputs, "config": config}
    path = out / "job.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != job:
            raise ValueError(f"{out} holds the output of a different job (inputs or config differ); "
                             "use a new --out directory or delete this one")
    else:
        atomic_json(path, job)


def atomic_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


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
    for stage in sorted(p for p in (out / "logs").iterdir() if (p / "stats").is_dir()):
        per_task = [PipelineStats.from_json(json.loads(f.read_text(encoding="utf-8")))
                    for f in sorted((stage / "stats").glob("*.json"))]
        merged = json.loads(sum(per_task, start=PipelineStats()).to_json())
        for step in merged:
            counters = steps.setdefault(step["name"], {})
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
        "kept_by_lang": dict(sorted(kept.items(), key=lambda kv: -kv[1])),
        "dropped_total": sum(reasons.values()),
        "dropped_by_reason": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "dropped_by_lang": {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in sorted(dropped.items())},
        "steps": steps,
        **({"decisions": decided} if decided["know"] or decided["ling"] else {}),
    }


def map_table(table, out: Path, steps, added: list, cfg, stage: str, summary_extra: dict | None = None) -> dict:
    """Runs ``steps()`` (steps that add columns and never drop a record) over the record table ``table`` in
    resumable shards of ``cfg.shard_records`` rows and writes ``out``: every input column carried,
    ``added`` columns appended."""
    import math

    from mella.schema import carried
    from mella.steps.staged import StagedParquetReader
    from mella.steps.write import ParquetShardWriter
    from mella.table import write_manifest

    total = table.rows()
    if total == 0:
        raise ValueError(f"{table.path}: the table has no records: nothing for `mella {stage}` to do")
    out.mkdir(parents=True, exist_ok=True)
    check_same_job(out, [str(table.path.resolve())], cfg.model_dump(exclude={"workers"}))
    columns = carried(table.columns, added)
    w = cfg.write
    pipeline = [StagedParquetReader(table.path, "train", batch_rows=64, shard_rows=cfg.shard_records),
                *steps(),
                ParquetShardWriter(out, columns, prefix="train", rows_per_file=w.rows_per_file,
                                   batch_rows=w.batch_rows, compression=w.compression)]
    tasks = max(1, math.ceil(total / cfg.shard_records))
    run_all(executor(pipeline, out / "logs" / stage, tasks=tasks, workers=cfg.workers))
    summary = summarise(out) | (summary_extra or {})
    atomic_json(out / "stats.json", summary)
    write_manifest(out, stage, table, summary["kept_total"])
    return summary
