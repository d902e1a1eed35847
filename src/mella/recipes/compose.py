"""`mella compose`: a record table -> the dataset: decisions (unless `mella select` ran), leakage-free
splits, instruction samples and the per-language mix.

Output ``DIR/``: ``records/train-*.parquet`` (every input column + ``know_reason``, ``ling_reason``,
``split``, ``split_group``), ``samples/{train,validation,test}-*.parquet``, ``splits.json`` (groups and
split sizes per language), ``stats.json``, ``table.json``. Whole-table steps (splits need every record),
so not a datatrove pipeline: a rerun recomputes it, deterministically.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mella.config import ComposeConfig, job_config
from mella.recipes.common import atomic_json, open_output
from mella.schema import COLUMNS, SAMPLE_COLUMNS, carried, step_columns
from mella.shards import iter_rows
from mella.table import open_table, write_manifest


def meta_of(row: dict) -> dict:
    """A row (by column name) as the metadata dict the decision functions read (by metadata key)."""
    return {COLUMNS[name].key: value for name, value in row.items() if name in COLUMNS and COLUMNS[name].key}


def run_compose(in_dir: str | Path, out: str | Path, cfg: ComposeConfig) -> dict:
    from mella.dataset.templates import Templates
    from mella.languages import build_table

    from mella.recipes.ling import check_thresholds

    table = open_table(in_dir, "compose", needs=("text", "lang"))
    check_thresholds(cfg.select, table)
    out = Path(out)
    languages = build_table(cfg.select.languages)
    templates = Templates(cfg.templates_dir)
    rows = list(iter_rows(table.path))
    if not rows:
        raise ValueError(f"{table.path}: the table has no records: nothing to compose")
    with open_output(out, [str(table.path.resolve())], job_config(cfg), kind="dataset"):
        return _compose(table, rows, out, cfg, languages, templates)


def _compose(table, rows: list[dict], out: Path, cfg: ComposeConfig, languages, templates) -> dict:
    from mella.dataset.compose import candidates, make_sample, mix
    from mella.dataset.split import assign_splits
    from mella.steps.select import know_reason, ling_reason
    from mella.steps.write import write_rows

    had = "know_reason" in table.names
    decided = had and not stale_decisions(table.stages)
    decided_by = ("mella select" if decided else
                  "mella compose (the table's decisions predate a later model stage: made again)" if had else
                  "mella compose")
    for row in rows:
        if not decided:
            meta = meta_of(row)
            row["know_reason"] = know_reason(meta, row.get("text"), cfg.select)
            row["ling_reason"] = ling_reason(meta, languages, cfg.select.qa, cfg.select.caption_qa)
    result = assign_splits(rows, cfg.split)
    for row, split, group in zip(rows, result.split_of, result.group_of):
        row["split"], row["split_group"] = split, group
    usable = candidates(rows, cfg.sources)
    chosen = mix(usable, rows, cfg)
    for tag in sorted({_tag(c, rows, languages) for c in chosen}):
        templates.get(tag)  # a language without templates fails here, before anything is written
    samples = [make_sample(c, rows[c.index], templates, languages, cfg) for c in chosen]
    _unique_ids(samples)

    columns = carried(table.columns, step_columns("select") + step_columns("compose"))
    write_rows(out / "records", "train", columns, rows, cfg.write.rows_per_file, cfg.write.compression)
    for split in ("train", "validation", "test"):
        write_rows(out / "samples", split, SAMPLE_COLUMNS, [s for s in samples if s["split"] == split],
                   cfg.write.rows_per_file, cfg.write.compression)
    summary = _summary(rows, samples, result.report, decided_by, usable)
    atomic_json(out / "splits.json", result.report)
    atomic_json(out / "stats.json", summary)
    write_manifest(out / "records", "compose", table, len(rows))
    write_manifest(out, "compose", table, len(rows), kind="dataset", samples=len(samples))
    return summary


SCORING_STAGES = ("align", "caption", "translate")


def stale_decisions(stages: list[str]) -> bool:
    """Whether a model stage ran after the last decision (its know/ling reasons predate the new scores)."""
    decided_at = max((i for i, s in enumerate(stages) if s in ("select", "compose")), default=-1)
    return decided_at >= 0 and any(s in SCORING_STAGES for s in stages[decided_at + 1:])


def _tag(c, rows, languages) -> str:
    from mella.dataset.templates import template_tag
    from mella.scripts import dominant_script

    row = rows[c.index]
    script = row.get("script") if c.source == "d_know" else (row.get("qa_script") or dominant_script(row["translation"])[0])
    return template_tag(c.lang, script, languages)


def _unique_ids(samples: list[dict]) -> None:
    seen: Counter = Counter()
    for s in samples:
        seen[s["sample_id"]] += 1
        if seen[s["sample_id"]] > 1:
            s["sample_id"] = f"{s['sample_id']}~{seen[s['sample_id']] - 1}"


def _summary(rows: list[dict], samples: list[dict], split_report: dict, decided_by: str, usable: list) -> dict:
    sampled = {(s["record_id"], s["source"]) for s in samples}
    not_sampled: dict = {}
    for c in usable:  # usable but left out by the mix (one sample per image, quota, share)
        if (rows[c.index]["id"], c.source) not in sampled:
            by_source = not_sampled.setdefault(c.lang, {})
            by_source[c.source] = by_source.get(c.source, 0) + 1
    counts: dict = {}
    for s in samples:
        by_source = counts.setdefault(s["lang"], {}).setdefault(s["source"], {})
        by_source[s["split"]] = by_source.get(s["split"], 0) + 1
    reasons: dict = {"d_know": {}, "d_ling": {}}
    for row in rows:
        for source, key in (("d_know", "know_reason"), ("d_ling", "ling_reason")):
            lang = row.get("translation_lang") or row["lang"] if source == "d_ling" else row["lang"]
            reason = row.get(key) or "usable"
            by_lang = reasons[source].setdefault(lang, {})
            by_lang[reason] = by_lang.get(reason, 0) + 1
    return {"records": len(rows), "samples": len(samples), "samples_by_lang": counts,
            "decisions_by_source": reasons, "decided_by": decided_by,
            "splits": split_report, "not_sampled": not_sampled}
