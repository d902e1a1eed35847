"""`mella caption`, `mella translate`, `mella align`: a model step mapped over a record table.

Nothing is dropped: outputs, scores and named failures are added as columns (``mella select`` decides).
"""

from __future__ import annotations

from pathlib import Path

from mella.config import AlignConfig, CaptionConfig, TranslateConfig
from mella.recipes.common import map_table
from mella.schema import step_columns
from mella.table import open_table


def _backend_kwargs(cfg) -> dict:
    kwargs = {"model": cfg.model, "max_new_tokens": cfg.max_new_tokens}
    if cfg.backend == "openai":
        kwargs |= {"base_url": cfg.base_url, "timeout": cfg.timeout, "retries": cfg.retries, "backoff": cfg.backoff,
                   "concurrency": cfg.concurrency}
    return kwargs


def _store(table):
    from mella.images.store import ImageStore

    return ImageStore(table.image_store)


def run_caption(in_dir: str | Path, out: str | Path, cfg: CaptionConfig) -> dict:
    """Records with fetched images -> the same records with ``caption_en`` (or ``caption_error``)."""
    from mella.steps.caption import Captioner

    from mella.models import REGISTRY, preflight

    table = open_table(in_dir, "caption", needs=("sha256",), needs_store=True)
    preflight(cfg.backend, cfg.model, cfg.base_url, tuple(REGISTRY), kind="vlm")
    kwargs = _backend_kwargs(cfg)
    store = _store(table)
    return map_table(table, Path(out), lambda: [Captioner(cfg.backend, kwargs, store, cfg.batch_size)],
                     step_columns("caption"), cfg, "caption")


def run_translate(in_dir: str | Path, out: str | Path, cfg: TranslateConfig) -> dict:
    """Captioned records -> translations with QA scores (QA decided by ``mella select``)."""
    from mella.languages import build_table, resolve_langs
    from mella.steps.translate import Translator

    from mella.models import TRANSLATORS, preflight

    table = open_table(in_dir, "translate", needs=("caption_en",))
    preflight(cfg.backend, cfg.model, cfg.base_url, tuple(TRANSLATORS), kind="seq2seq")
    languages = build_table(cfg.languages)
    if cfg.targets:
        resolve_langs(cfg.targets, languages)  # an unknown target fails here, before any work
    check_targets(table, cfg, languages)
    kwargs = _backend_kwargs(cfg)

    def steps():
        return [Translator(cfg.backend, kwargs, languages, cfg.targets or None, cfg.batch_size, cfg.similarity,
                           cfg.max_source_chars)]

    return map_table(table, Path(out), steps, step_columns("translate"), cfg, "translate")


def check_targets(table, cfg: TranslateConfig, languages: dict) -> None:
    """Before any record is read: the target languages (``--langs``, else the records' own ``lang``) are
    in the language table, and a seq2seq model knows each one's code. A record whose language is not a
    target is still kept with a named failure, but a run that could translate nothing fails here."""
    import logging

    if cfg.targets:
        wanted = list(cfg.targets)
    else:
        import pyarrow.dataset as ds

        from mella.shards import shard_files

        if "lang" not in table.names:
            raise ValueError(f"{table.path}: no `lang` column to take each record's target language from; "
                             "give the targets: --langs cs,hu,...")
        files = [str(f) for f in shard_files(table.path)]
        values = ds.dataset(files, format="parquet").to_table(columns=["lang"]).column("lang").to_pylist()
        counts: dict = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        unknown = {str(k): n for k, n in counts.items() if k not in languages}
        wanted = sorted(str(k) for k in counts if k in languages)
        if not wanted:
            raise ValueError(f"none of the records' languages ({', '.join(f'{k} {n}' for k, n in unknown.items())}) "
                             "is in the language table: add it (languages: in the config) or give --langs")
        if unknown:
            logging.getLogger("mella").warning("records in languages outside the table are kept untranslated: %s",
                                               ", ".join(f"{k} {n}" for k, n in unknown.items()))
    if cfg.backend == "transformers":
        from mella.models.translators import missing_language_codes

        codes = {lang: languages[lang].mt_code or lang for lang in wanted}
        missing = missing_language_codes(cfg.model, sorted(set(codes.values())))
        if missing:
            names = ", ".join(f"{lang} ({code})" for lang, code in codes.items() if code in missing)
            raise ValueError(f"{cfg.model} has no language code for {names}: use a model that covers them, or "
                             "set the code this model uses: --set languages.<lang>.mt_code=<its code>")


def run_align(in_dir: str | Path, out: str | Path, cfg: AlignConfig) -> dict:
    """Records with fetched images -> the same records with ``align_score`` (native text vs image)."""
    from mella.steps.align import AlignmentScorer

    from mella.models import check_local_model

    table = open_table(in_dir, "align", needs=("sha256",), needs_store=True)
    check_local_model(cfg.model, "dual_encoder")
    store = _store(table)
    return map_table(table, Path(out), lambda: [AlignmentScorer(cfg.model, store, cfg.batch_size)],
                     step_columns("align"), cfg, "align")


# a threshold set in the select config, the column it acts on, and the command that makes that column
THRESHOLD_COLUMNS = (("min_align_score", "align_score", "mella align"),
                     ("caption_qa.min_align_score", "caption_align_score", "mella align (after mella caption)"),
                     ("qa.min_similarity", "qa_similarity", "mella translate"),
                     ("qa.min_length_ratio", "qa_length_ratio", "mella translate"),
                     ("qa.max_length_ratio", "qa_length_ratio", "mella translate"),
                     ("qa.min_numbers_preserved", "qa_numbers_preserved", "mella translate"),
                     ("qa.max_copy_ratio", "qa_copy_ratio", "mella translate"),
                     ("qa.max_repetition", "qa_repetition", "mella translate"))


def check_thresholds(cfg, table) -> None:
    """A threshold set on a score the table does not hold would decide nothing: refused, naming the
    command that makes the score."""
    tree = cfg.model_dump()
    for dotted, column, command in THRESHOLD_COLUMNS:
        value = tree
        for key in dotted.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and column not in table.names:
            raise ValueError(f"{dotted}={value} acts on `{column}`, which {table.path} does not hold: run "
                             f"`{command}` first, or leave {dotted} unset")


def run_select(in_dir: str | Path, out: str | Path, cfg) -> dict:
    """Any record table -> the same records with ``know_reason`` / ``ling_reason`` (nothing dropped)."""
    from mella.languages import build_table
    from mella.steps.select import SelectDecider

    table = open_table(in_dir, "select", needs=("text",))
    check_thresholds(cfg, table)
    languages = build_table(cfg.languages)
    return map_table(table, Path(out), lambda: [SelectDecider(cfg, languages)], step_columns("select"),
                     cfg, "select")
