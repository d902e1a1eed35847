"""`mella eval run`: generate outputs for benchmark tasks with a backend; batched, cached, resumable.

Outputs go to ``RUN/<task>.jsonl`` (one line per item as soon as it is done: a killed run resumes where
it stopped; failed items are recorded with their error and retried by the next run). A content cache
(``$MELLA_CACHE_DIR``, default ``~/.cache/mella``) keyed by backend, parameters, prompt and image means
a rerun or another run directory never asks the model twice for the same thing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from mella.cache import ContentCache, content_key, output_params
from mella.models import Request, generate_safely, get_generator
from mella.eval.tasks import Task, load_task


def image_key(image: str) -> str:
    if image.startswith(("http://", "https://", "data:")) or not Path(image).is_file():
        return image
    return "sha256:" + hashlib.sha256(Path(image).read_bytes()).hexdigest()


def request_key(backend: str, params: dict, prompt_version: int, request: Request) -> str:
    return content_key(backend, params, prompt_version, request.prompt, image_key(request.image))


def _successful_rows(path: Path):
    """(id, output) of the rows with an output; a line cut by a crash is skipped."""
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if row.get("output") is not None:
                    yield row["id"], row["output"]


def run_tasks(task_paths: list[str | Path], out: str | Path, backend: str, batch_size: int = 8,
              use_cache: bool = True, log=print, **backend_kwargs) -> dict:
    """Runs every task; returns ``{task: {"done": n, "errors": n, "cached": n, "items_per_s": x}}``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    generator = get_generator(backend, **backend_kwargs)
    tasks: list[Task] = [load_task(p) for p in task_paths]
    meta = {"backend": backend, "params": generator.params(), "dummy": generator.is_dummy,
            "tasks": {t.task: str(Path(t.path).resolve()) for t in tasks}}
    meta_path = out / "run.json"
    if meta_path.exists():
        previous = json.loads(meta_path.read_text(encoding="utf-8"))
        # the same model answers the same: a server that moved (base_url) is the same run
        if (previous["backend"], output_params(previous["params"])) != (meta["backend"], output_params(meta["params"])):
            raise ValueError(f"{out} holds outputs of another model/backend; use another --out")
        meta["tasks"] = previous["tasks"] | meta["tasks"]
    tmp = out / ".run.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, meta_path)
    cache = ContentCache(f"generations-{backend}") if use_cache else None
    summary = {}
    for task in tasks:
        outputs = out / f"{task.task}.jsonl"
        done = {item_id for item_id, _ in _successful_rows(outputs)}
        pending = [item for item in task.items() if item["id"] not in done]
        stats = {"done": len(done), "errors": 0, "cached": 0, "generated": 0}
        started = time.perf_counter()
        with open(outputs, "a", encoding="utf-8") as fh:
            for start in range(0, len(pending), batch_size):
                batch = pending[start : start + batch_size]
                requests = [Request(task.image_path(i), task.prompt, i["lang"]) for i in batch]
                keys = [request_key(backend, output_params(meta["params"]), task.prompt_version, r) for r in requests]
                results: list = [cache.get(k) if cache is not None else None for k in keys]
                todo = [n for n, r in enumerate(results) if r is None]
                stats["cached"] += len(batch) - len(todo)
                if todo:
                    generated = generate_safely(generator, [requests[n] for n in todo])
                    for n, result in zip(todo, generated):
                        results[n] = result
                        if isinstance(result, str):
                            stats["generated"] += 1
                            if cache is not None:
                                cache.put(keys[n], result)
                for item, result in zip(batch, results):
                    row = {"id": item["id"], "output": result if isinstance(result, str) else None}
                    if not isinstance(result, str):
                        row["error"] = str(result)
                        stats["errors"] += 1
                    else:
                        stats["done"] += 1
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        elapsed = time.perf_counter() - started
        stats["items_per_s"] = round(stats["generated"] / elapsed, 2) if stats["generated"] else None
        summary[task.task] = stats
        log(f"{task.task}: {stats['done']} done ({stats['generated']} generated, {stats['cached']} from cache), "
            f"{stats['errors']} failed" + (f", {stats['items_per_s']} items/s" if stats["items_per_s"] else ""))
    return summary


def read_outputs(run: Path, task: str) -> dict[str, str]:
    """Latest successful output per item id of ``task`` in run directory ``run``."""
    return dict(_successful_rows(run / f"{task}.jsonl"))
