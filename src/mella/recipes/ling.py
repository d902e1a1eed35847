"""`mella caption` and `mella translate`: map a step over a dataset directory, in resumable shards."""

from __future__ import annotations

import math
from pathlib import Path

from mella.config import AlignConfig, CaptionConfig, TranslateConfig
from mella.recipes.common import atomic_json, check_same_job, run_all, summarise
from mella.schema import ALIGN_COLUMNS, CAPTION_COLUMNS, IMAGE_COLUMNS, TRANSLATION_COLUMNS
from mella.shards import count_rows


def _map(in_dir: Path, out: Path, steps, in_columns, out_columns, cfg, stage: str) -> dict:
    from datatrove.executor import LocalPipelineExecutor

    from mella.steps.staged import StagedParquetReader
    from mella.steps.write import ParquetShardWriter

    total = count_rows(in_dir)
    if total == 0:
        raise ValueError(f"{in_dir}: no records (train-*.parquet)")
    out.mkdir(parents=True, exist_ok=True)
    check_same_job(out, [str(in_dir.resolve())], cfg.model_dump(exclude={"workers"}))
    w = cfg.write
    excluded_cols = [("reason", "string", "filter_reason")] + [c for c in out_columns if c[0] != "image"]
    sink = ParquetShardWriter(out / "excluded", excluded_cols, prefix=f"excluded-{stage}", rows_per_file=w.rows_per_file,
                              batch_rows=w.batch_rows, excluded=True)
    pipeline = [StagedParquetReader(in_dir, "train", batch_rows=64, columns=in_columns, shard_rows=cfg.shard_records),
                *steps(sink),
                ParquetShardWriter(out, out_columns, prefix="train", rows_per_file=w.rows_per_file,
                                   batch_rows=w.batch_rows, compression=w.compression)]
    tasks = max(1, math.ceil(total / cfg.shard_records))
    run_all(LocalPipelineExecutor(pipeline, tasks=tasks, workers=min(max(1, cfg.workers), tasks),
                                  logging_dir=str(out / "logs" / stage)))
    summary = summarise(out)
    atomic_json(out / "stats.json", summary)
    return summary


def run_caption(in_dir: str | Path, out: str | Path, cfg: CaptionConfig) -> dict:
    """Fetched images (``mella fetch`` output) -> the same records with ``caption_en``."""
    from mella.steps.caption import Captioner

    kwargs = {"model": cfg.model, "max_new_tokens": cfg.max_new_tokens}
    if cfg.backend == "openai":
        kwargs["base_url"] = cfg.base_url
    return _map(Path(in_dir), Path(out), lambda sink: [Captioner(cfg.backend, kwargs, cfg.batch_size, sink)],
                IMAGE_COLUMNS, CAPTION_COLUMNS, cfg, "caption")


def run_translate(in_dir: str | Path, out: str | Path, cfg: TranslateConfig) -> dict:
    """Captioned records -> translations with QA scores; failing QA goes to excluded/ with its reason."""
    from mella.languages import build_table
    from mella.steps.translate import TranslationQAFilter, Translator

    languages = build_table(cfg.languages)
    kwargs = {"model": cfg.model, "max_new_tokens": cfg.max_new_tokens}
    if cfg.backend == "openai":
        kwargs["base_url"] = cfg.base_url

    def steps(sink):
        return [Translator(cfg.backend, kwargs, languages, cfg.targets or None, cfg.batch_size, cfg.similarity, sink),
                TranslationQAFilter(languages, cfg.min_length_ratio, cfg.max_length_ratio, cfg.min_numbers_preserved,
                                    cfg.max_copy_ratio, cfg.max_repetition, cfg.min_similarity, exclusion_writer=sink)]

    return _map(Path(in_dir), Path(out), steps, CAPTION_COLUMNS, TRANSLATION_COLUMNS, cfg, "translate")


def run_align(in_dir: str | Path, out: str | Path, cfg: AlignConfig) -> dict:
    """Fetched images -> the same records with ``align_score`` (alt-text vs image); optional threshold."""
    from mella.steps.align import AlignmentFilter, AlignmentScorer

    def steps(sink):
        chosen = [AlignmentScorer(cfg.model, cfg.batch_size, exclusion_writer=sink)]
        if cfg.min_score is not None:
            chosen.append(AlignmentFilter(cfg.min_score, exclusion_writer=sink))
        return chosen

    return _map(Path(in_dir), Path(out), steps, IMAGE_COLUMNS, ALIGN_COLUMNS, cfg, "align")
