"""`mella fetch`: mined records -> images (WARC first, else safe HTTP) -> checks -> dedup -> shards.

Stage "fetch" (one task per ``shard_records`` records, ``workers`` at a time) gets, validates and hashes
images into ``DIR/_fetched/``; a finished task is never redone. Stage "dedup" (one task) drops exact and
near-duplicate images in input order and writes ``DIR/webdataset/*.tar`` and ``DIR/train-*.parquet``.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from mella.config import FetchConfig
from mella.recipes.common import atomic_json, check_same_job, run_all, summarise
from mella.schema import IMAGE_COLUMNS, IMAGE_EXCLUDED_COLUMNS
from mella.shards import count_rows, iter_rows

JSON_KEYS = ("lid.lang", "lid.script", "page.url", "page.lang", "page.title", "img.width", "img.height",
             "img.sha256", "img.phash", "img.source")


def run_fetch(in_dir: str | Path, out: str | Path, cfg: FetchConfig) -> dict:
    from datatrove.executor import LocalPipelineExecutor

    from mella.images.net import SafeFetcher
    from mella.images.validate import ImageChecks
    from mella.images.warcindex import WarcImages, build_index
    from mella.steps.fetch import ImageFetcher
    from mella.steps.image_dedup import ImageDedupFilter
    from mella.steps.staged import StagedParquetReader
    from mella.steps.webdataset import WebDatasetWriter
    from mella.steps.write import ParquetShardWriter

    in_dir, out = Path(in_dir), Path(out)
    total = count_rows(in_dir)
    if total == 0:
        raise ValueError(f"{in_dir}: no mined records (train-*.parquet)")
    out.mkdir(parents=True, exist_ok=True)
    check_same_job(out, [str(in_dir.resolve())], cfg.model_dump(exclude={"workers", "concurrency"}))
    index = None
    if cfg.warc_first:
        index = out / "_warc_images.sqlite"
        if not index.exists():
            sources = {row["source_file"] for row in iter_rows(in_dir, ["source_file"]) if row["source_file"]}
            warcs = sorted(Path(s) for s in sources if s.endswith((".warc", ".warc.gz")) and Path(s).is_file())
            build_index(warcs, index)
    w = cfg.write

    def writer(folder, prefix, columns, excluded=False):
        return ParquetShardWriter(folder, columns, prefix=prefix, rows_per_file=w.rows_per_file,
                                  batch_rows=w.batch_rows, compression=w.compression, excluded=excluded)

    fetcher = SafeFetcher(cfg.allow_private, cfg.timeout, cfg.max_bytes, cfg.max_redirects, cfg.retries, cfg.backoff,
                          cfg.per_host, cfg.honour_robots_header, allowed_networks=cfg.allowed_networks)
    checks = ImageChecks(cfg.min_side, cfg.max_aspect, cfg.max_pixels, cfg.allow_animated, cfg.max_side,
                         cfg.encode_format, cfg.quality)
    tasks = max(1, math.ceil(total / cfg.shard_records))
    sink = writer(out / "excluded", "excluded-fetch", IMAGE_EXCLUDED_COLUMNS, excluded=True)
    stage1 = [StagedParquetReader(in_dir, "train", shard_rows=cfg.shard_records),
              ImageFetcher(fetcher, checks, WarcImages(index) if index else None, cfg.concurrency, exclusion_writer=sink),
              writer(out / "_fetched", "fetched", IMAGE_COLUMNS)]
    run_all(LocalPipelineExecutor(stage1, tasks=tasks, workers=min(max(1, cfg.workers), tasks),
                                  logging_dir=str(out / "logs" / "fetch")))
    sink2 = writer(out / "excluded", "excluded-dedup", IMAGE_EXCLUDED_COLUMNS, excluded=True)
    stage2 = [StagedParquetReader(out / "_fetched", "fetched", batch_rows=64, columns=IMAGE_COLUMNS),
              ImageDedupFilter(cfg.phash_distance, exclusion_writer=sink2),
              WebDatasetWriter(out / "webdataset", "images", cfg.records_per_tar, JSON_KEYS),
              writer(out, "train", IMAGE_COLUMNS)]
    run_all(LocalPipelineExecutor(stage2, tasks=1, workers=1, logging_dir=str(out / "logs" / "dedup")))
    shutil.rmtree(out / "_fetched", ignore_errors=True)
    summary = summarise(out, staging=("fetch",))
    atomic_json(out / "stats.json", summary)
    return summary
