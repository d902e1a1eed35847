"""`mella mine`: crawl files -> filtered native alt-text records (D_know candidates) as Parquet shards.

One input file is one datatrove task. Stage 1 (extract, language ID, quality) runs the tasks, in parallel
with several workers, into ``DIR/_stage1/``; stage 2, one task over all of them, drops the pictures that
carry many different texts across pages (``placeholder_image``) and deduplicates, so "keep the first
occurrence" means first in input order.
Completion markers (``DIR/logs/...``) make a rerun skip finished tasks; outputs are renamed into place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mella.config import MineConfig, job_config
from mella.executors import connect, executor, run_all
from mella.recipes.common import atomic_json, open_output, summarise
from mella.languages import build_table, resolve_langs
from mella.schema import MINED_COLUMNS, with_reason

# kept shards are named with the datasets "train" split keyword, so that
# load_dataset("parquet", data_dir=DIR) reads them and not the rows under excluded/
KEPT_PREFIX = "train"


def _writer(folder: Path, cfg: MineConfig, prefix: str, excluded: bool = False, carried: list | None = None):
    from mella.steps.write import ParquetShardWriter

    columns = MINED_COLUMNS + (carried or [])
    return ParquetShardWriter(folder, with_reason(columns) if excluded else columns, prefix=prefix,
                              rows_per_file=cfg.write.rows_per_file, batch_rows=cfg.write.batch_rows,
                              compression=cfg.write.compression, excluded=excluded)


def _exact_dedup(cfg: MineConfig, sink) -> list:
    from mella.steps.dedup import ExactDedupFilter

    d = cfg.dedup
    return [ExactDedupFilter(d.capacity, d.fp_rate, exclusion_writer=sink)] if d.exact else []


def _near_params(cfg: MineConfig) -> dict:
    d = cfg.dedup
    return {"shingle_chars": d.shingle_chars, "bands": d.bands, "rows": d.rows, "capacity": d.capacity,
            "fp_rate": d.fp_rate, "seed": d.seed, "min_chars": d.near_min_chars}


def _near_dedup(cfg: MineConfig, sink) -> list:
    from mella.steps.dedup import NearDupFilter

    return [NearDupFilter(**_near_params(cfg), exclusion_writer=sink)] if cfg.dedup.near else []


def _placeholders(cfg: MineConfig, stage1: Path, sink) -> list:
    """The run-wide placeholder check: image URLs under ``dedup.placeholder_texts`` different texts of one
    language in stage 1's records (counted when stage 2 starts) are dropped in stage 2."""
    if not cfg.dedup.placeholder_texts:
        return []
    from mella.steps.dedup import PlaceholderFilter

    d = cfg.dedup
    return [PlaceholderFilter(stage1, "stage1", d.placeholder_texts, d.placeholder_any_texts, exclusion_writer=sink)]


def mining_steps(files: list[Path], cfg: MineConfig, sink, languages: dict, exact_dedup: bool = True,
                 carried: list | None = None, reader=None) -> list:
    """Reader -> extraction -> credits split off -> alt-text signals -> junk filter -> language ID ->
    language and length filters -> [exact dedup]. Cheap checks run first so that the classifier sees fewer
    records; dedup last, so that single- and multi-worker runs give every record the same reason."""
    from mella.steps.alt_quality import AltLengthFilter, AltQualityAnnotator, AltQualityFilter
    from mella.steps.alt_text import AltTextExtractor
    from mella.steps.credits import CreditSplitter
    from mella.steps.lid import LanguageAnnotator, LanguageFilter
    from mella.steps.read import InputReader

    x, q = cfg.extract, cfg.quality
    return [
        reader(sink) if reader else InputReader(files, cfg.read.max_page_bytes, tuple(cfg.read.allowed_status),
                                                exclusion_writer=sink, carried=carried),
        AltTextExtractor(x.max_alt_chars, x.max_images_per_page, x.context_chars, x.context_levels,
                         x.pixel_max_side, exclusion_writer=sink, max_depth=x.max_depth,
                         max_page_seconds=x.max_page_seconds, placeholder_texts=x.placeholder_texts),
        CreditSplitter(exclusion_writer=sink),
        AltQualityAnnotator(languages, q.min_hash_token_chars),
        AltQualityFilter(q.min_letter_share, q.max_page_repeats, exclusion_writer=sink, gallery_max=q.gallery_max,
                         drop_headlines=q.drop_headlines, drop_quote_headlines=q.drop_quote_headlines),
        LanguageAnnotator(languages, cfg.lid.top_k),
        LanguageFilter(languages, cfg.lid.min_score, cfg.lid.min_score_by_lang, exclusion_writer=sink),
        AltLengthFilter(languages, exclusion_writer=sink),
        # after every per-record decision, as in stage 2 of a multi-worker run: a record gets the same
        # drop reason whatever the number of workers
        *(_exact_dedup(cfg, sink) if exact_dedup else []),
    ]


def run_mine(inputs: list[str | Path], out: str | Path, cfg: MineConfig) -> dict:
    """Runs (or resumes) the mining job; returns the summary written to ``out/stats.json``."""
    from mella.steps.read import expand_inputs

    if cfg.cc.index and inputs:
        raise ValueError("give crawl files or --cc-index, not both (run two jobs into two folders)")
    files = [] if cfg.cc.index else expand_inputs(inputs)
    if not files and not cfg.cc.index:
        raise ValueError(f"no readable input files in {inputs}")
    languages = resolve_langs(cfg.langs, build_table(cfg.languages))  # fails early on unknown languages
    connect(cfg.executor)  # an unreachable cluster fails here, before any work
    out = Path(out)
    with open_output(out, [f if isinstance(f, str) else str(f.resolve()) for f in files], job_config(cfg),
                     kind="table"):
        return _mine(files, out, cfg, languages)


def _cc_reader(out: Path, cfg: MineConfig, languages: dict):
    """(reader factory, tasks, selection counts) of a run over Common Crawl's index (mella.cc)."""
    import math

    from mella import cc

    c = cfg.cc
    counts = cc.select(c.index, languages, out / "cc", c.storage_options)
    if not counts["selected_records"]:
        raise ValueError(f"--cc-index {c.index}: none of its {counts['scanned_records']} records is an HTML page "
                         f"in {', '.join(counts['cc_languages'])} or under .{', .'.join(counts['cctlds'])} "
                         "(check the snapshot and --langs)")
    tasks = math.ceil(counts["selected_records"] / c.records_per_task)

    def reader(sink, one_task: bool = False):
        per_task = counts["selected_records"] if one_task else c.records_per_task
        return cc.CCRecordReader(out / "cc" / cc.SELECTION, c.base_url, per_task, cfg.read.max_page_bytes,
                                 tuple(cfg.read.allowed_status), sink, c.timeout, c.retries, c.backoff, c.concurrency,
                                 c.storage_options)
    return reader, tasks, counts


def _mine(files: list[Path], out: Path, cfg: MineConfig, languages: dict) -> dict:
    from mella.steps.read import pair_table_columns

    excluded_dir = out / "excluded"
    workers = max(1, cfg.workers)
    carried = pair_table_columns(files)  # a pair table's own columns go through as they are
    reader, tasks, cc_counts = _cc_reader(out, cfg, languages) if cfg.cc.index else (None, len(files), None)

    def writer(folder, prefix, excluded=False):
        return _writer(folder, cfg, prefix, excluded, carried)

    # stage 1: every per-record decision, the input's tasks in parallel; stage 2, one task over all of them:
    # the checks that need the whole run (one picture under many texts across pages), then dedup, so that
    # "the first occurrence" is first in input order and the result is the same for any number of workers
    stage1 = out / "_stage1"
    sink = writer(excluded_dir, "excluded-s1", excluded=True)
    one = (lambda s: reader(s, one_task=True)) if reader and tasks == 1 else reader
    steps1 = (mining_steps(files, cfg, sink, languages, exact_dedup=False, carried=carried, reader=one)
              + [writer(stage1, "stage1")])
    ex1 = executor(steps1, out / "logs" / "stage1", tasks=tasks, workers=min(workers, tasks), settings=cfg.executor)
    from mella.steps.staged import StagedParquetReader

    sink2 = writer(excluded_dir, "excluded-dedup", excluded=True)
    reader2 = StagedParquetReader(stage1, "stage1", columns=carried)
    run_wide = _placeholders(cfg, stage1, sink2) + _exact_dedup(cfg, sink2)
    partitioned = cfg.dedup.near and cfg.dedup.near_tasks > 1
    if not partitioned:
        stages = [(executor([reader2, *run_wide, *_near_dedup(cfg, sink2), writer(out, KEPT_PREFIX)],
                            out / "logs" / "stage2", settings=cfg.executor), stage1)]
    else:
        # near dedup by band: stage 2 (run-wide checks, exact dedup) -> DIR/_stage2; one task per band group
        # flags the near duplicates; the last stage drops them and writes DIR
        from mella.steps.dedup import NearDupApply, NearDupBands

        stage2, flags = out / "_stage2", out / "_near_flags"
        sink3 = writer(excluded_dir, "excluded-near", excluded=True)
        stages = [
            (executor([reader2, *run_wide, writer(stage2, "stage2")], out / "logs" / "stage2",
                      settings=cfg.executor), stage1),
            (executor([NearDupBands(stage2, "stage2", flags, _near_params(cfg))], out / "logs" / "near",
                      tasks=min(cfg.dedup.near_tasks, cfg.dedup.bands), workers=workers, settings=cfg.executor), stage2),
            (executor([StagedParquetReader(stage2, "stage2", columns=carried), NearDupApply(flags, sink3),
                       writer(out, KEPT_PREFIX)], out / "logs" / "final", settings=cfg.executor), stage2),
        ]
    from mella.executors import forget_broken_tasks

    # a stage whose output is broken or gone must redo the stages whose consumed folders fed it
    for n in range(len(stages) - 1, -1, -1):
        ex, source = stages[n]
        forget_broken_tasks(ex)
        if ex.get_incomplete_ranks(skip_completed=True) and not source.is_dir():
            shutil.rmtree(out / "logs" / ("stage1" if source == stage1 else "stage2") / "completions",
                          ignore_errors=True)
            if source != stage1 and not stage1.is_dir():
                shutil.rmtree(out / "logs" / "stage1" / "completions", ignore_errors=True)
            for later in ("near", "final"):
                shutil.rmtree(out / "logs" / later / "completions", ignore_errors=True)
            break
    run_all(ex1)
    for ex, _ in stages:
        run_all(ex)
    for folder in (stage1, out / "_stage2", out / "_near_flags"):
        shutil.rmtree(folder, ignore_errors=True)
    from mella.report.card import write_card
    from mella.table import write_manifest

    summary = summarise(out, staging=("stage1", "stage2") if partitioned else ("stage1",))
    write_manifest(out, "mine", None, summary["kept_total"], langs=list(languages))
    summary["langs"] = list(languages)
    if cc_counts:
        summary["cc_index"] = cc_counts
    atomic_json(out / "stats.json", summary)
    write_card(out, summary, languages, [str(f) for f in files] or [f"Common Crawl index {cfg.cc.index}"])
    return summary
