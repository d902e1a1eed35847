"""`mella fetch`: records -> images (WARC first, else safe HTTP) -> checks -> dedup -> the image store.

Stage "fetch" (one task per ``shard_records`` records, ``workers`` at a time) gets, validates and hashes
images, puts them in the content-addressed store (``images/<sha256[:2]>/<sha256>.<ext>``) and writes the
records, every input column carried, into ``DIR/_fetched/``; a finished task is never redone. Stage
"dedup" (one task) drops exact and near-duplicate images in input order and writes ``DIR/train-*.parquet``.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from mella.config import FetchConfig, job_config
from mella.executors import connect, executor, run_all
from mella.recipes.common import atomic_json, open_output, summarise
from mella.schema import carried, step_columns, with_reason
from mella.shards import iter_rows
from mella.table import open_table, write_manifest


def run_fetch(in_dir: str | Path, out: str | Path, cfg: FetchConfig) -> dict:
    table = open_table(in_dir, "fetch", needs=("image_url",))
    in_dir, out = table.path, Path(out)
    total = table.rows()
    if total == 0:
        raise ValueError(f"{in_dir}: the table has no records: nothing to fetch")
    connect(cfg.executor)  # an unreachable cluster fails here, before any work
    with open_output(out, [str(in_dir.resolve())], job_config(cfg), kind="table"):
        return _fetch(table, out, cfg, total)


def _fetch(table, out: Path, cfg: FetchConfig, total: int) -> dict:
    from mella.images.net import SafeFetcher
    from mella.images.store import ImageStore
    from mella.images.validate import ImageChecks
    from mella.images.warcindex import WarcImages, build_index
    from mella.steps.fetch import ImageFetcher
    from mella.steps.image_dedup import ImageDedupFilter
    from mella.steps.staged import StagedParquetReader
    from mella.steps.write import ParquetShardWriter

    in_dir = table.path
    store_dir = Path(cfg.image_store) if cfg.image_store else out / "images"
    store = ImageStore(store_dir)
    index = None
    if cfg.warc_first and "source_file" in table.names:
        index = out / ".warc_images.sqlite"  # hidden: datasets.load_dataset(data_dir=...) skips it
        if not index.exists():
            sources = {row["source_file"] for row in iter_rows(in_dir, ["source_file"]) if row["source_file"]}
            warcs = sorted(Path(s) for s in sources if s.endswith((".warc", ".warc.gz")) and Path(s).is_file())
            build_index(warcs, index)
    columns = carried(table.columns, step_columns("fetch"))
    w = cfg.write

    def writer(folder, prefix, excluded=False):
        return ParquetShardWriter(folder, with_reason(columns) if excluded else columns, prefix=prefix,
                                  rows_per_file=w.rows_per_file, batch_rows=w.batch_rows, compression=w.compression,
                                  excluded=excluded)

    fetcher = SafeFetcher(cfg.allow_private, cfg.timeout, cfg.max_bytes, cfg.max_redirects, cfg.retries, cfg.backoff,
                          cfg.per_host, cfg.honour_robots_header, allowed_networks=cfg.allowed_networks,
                          deadline=cfg.deadline, host_slots=str(out / ".host_slots"))
    checks = ImageChecks(cfg.min_side, cfg.max_aspect, cfg.max_pixels, cfg.allow_animated, cfg.max_side,
                         cfg.encode_format, cfg.quality)
    tasks = max(1, math.ceil(total / cfg.shard_records))
    sink = writer(out / "excluded", "excluded-fetch", excluded=True)
    stage1 = [StagedParquetReader(in_dir, "train", shard_rows=cfg.shard_records),
              ImageFetcher(fetcher if cfg.network else None, checks, store, WarcImages(index) if index else None,
                           cfg.concurrency, exclusion_writer=sink, max_pixels_in_flight=cfg.max_pixels_in_flight),
              writer(out / "_fetched", "fetched")]
    run_all(executor(stage1, out / "logs" / "fetch", tasks=tasks, workers=cfg.workers, settings=cfg.executor))
    sink2 = writer(out / "excluded", "excluded-dedup", excluded=True)
    stage2 = [StagedParquetReader(out / "_fetched", "fetched", batch_rows=64),
              ImageDedupFilter(cfg.phash_distance, exclusion_writer=sink2),
              writer(out, "train")]
    run_all(executor(stage2, out / "logs" / "dedup", settings=cfg.executor))
    shutil.rmtree(out / "_fetched", ignore_errors=True)
    _remove_unreferenced(out, store)
    summary = summarise(out, staging=("fetch",))
    atomic_json(out / "stats.json", summary)
    write_manifest(out, "fetch", table, summary["kept_total"], image_store=_relative(store_dir, out))
    return summary


def _relative(store_dir: Path, out: Path) -> str:
    import os

    return os.path.relpath(store_dir.resolve(), out.resolve())


def _remove_unreferenced(out: Path, store) -> None:
    """Near-duplicate images were stored before dedup dropped their records: remove those files unless a
    kept record uses the same file."""
    excluded = out / "excluded"
    if not any(excluded.glob("excluded-dedup-*.parquet")):
        return
    kept = {row["sha256"] for row in iter_rows(out, ["sha256"])}
    for row in iter_rows(excluded, ["sha256", "image_ext"], prefix="excluded-dedup"):
        if row["sha256"] and row["sha256"] not in kept:
            store.path(row["sha256"], row["image_ext"]).unlink(missing_ok=True)
