"""The decisions: which records make a D_know sample and which a D_ling sample, from saved scores only.

Deciding is separate from scoring: every input of a decision (LID score, letter share, page repeats,
alignment score, translation QA scores) is a column of the record table, so thresholds are re-tuned by
running this step again, never the models. A record is never dropped here: it keeps its row with
``know_reason`` / ``ling_reason`` (null = usable, else the first failing check), because a record that
fails one source may still serve the other.
"""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline

from mella.config import QAConfig, SelectConfig
from mella.languages import Language
from mella.steps.base import CountingStep, error_kind


def know_reason(meta: dict, text: str | None, cfg: SelectConfig) -> str | None:
    """None when the native text makes a D_know sample; else the name of the first failing check."""
    if not text or not text.strip():
        return "no_text"
    if (meta.get("lid.lang") or "").startswith("ambiguous:"):
        return "lang_ambiguous"
    kind = meta.get("text.kind") or "alt"
    if kind not in cfg.text_kinds:
        return f"text_kind_{kind}"
    if cfg.min_lid_score is not None and (meta.get("lid.score") or 0.0) < cfg.min_lid_score:
        return "low_lid_score"
    if cfg.min_letter_share is not None and (meta.get("alt.letter_share") or 0.0) < cfg.min_letter_share:
        return "mostly_non_letters"
    if cfg.max_page_repeats is not None and (meta.get("alt.page_count") or 1) > cfg.max_page_repeats:
        return "page_repeated_alt"
    score = meta.get("align.score")
    if cfg.min_align_score is not None and score is not None and score < cfg.min_align_score:
        return "low_alignment"
    return None


def qa_reason(meta: dict, lang: Language | None, qa: QAConfig) -> str | None:
    """Translation QA: None when the saved scores pass every check; else the first failing one."""
    if lang is None:
        return "mt_no_target_language"
    script, label = meta.get("mt.qa.script"), meta.get("mt.qa.lid_label")
    accepted = set(lang.lid_labels) | set(lang.confusable.get(script, []))
    if script not in lang.scripts or label not in accepted:
        return "mt_wrong_language"
    ratio = meta.get("mt.qa.length_ratio")
    if not qa.min_length_ratio <= (ratio if ratio is not None else 0) <= qa.max_length_ratio:
        return "mt_length_ratio"
    if _value(meta, "mt.qa.numbers_preserved", 1.0) < qa.min_numbers_preserved:
        return "mt_numbers_lost"
    if _value(meta, "mt.qa.copy_ratio", 0.0) > qa.max_copy_ratio:
        return "mt_untranslated"
    if _value(meta, "mt.qa.repetition", 0.0) > qa.max_repetition:
        return "mt_repetition"
    sim = meta.get("mt.qa.similarity")
    if sim is not None and sim < qa.min_similarity:
        return "mt_low_similarity"
    return None


def _value(meta: dict, key: str, default: float) -> float:
    value = meta.get(key)
    return default if value is None else value


def ling_reason(meta: dict, languages: dict[str, Language], qa: QAConfig) -> str | None:
    """None when the record's translated caption makes a D_ling sample; else the first failing check."""
    if not meta.get("caption.en"):
        error = meta.get("caption.error")
        return f"caption_{error_kind(error)}" if error else "no_caption"
    if not meta.get("mt.text"):
        error = meta.get("mt.error")
        return f"mt_{error_kind(error)}" if error else "no_translation"
    return qa_reason(meta, languages.get(meta.get("mt.lang") or ""), qa)


class SelectDecider(CountingStep):
    """Adds ``select.know`` and ``select.ling``; counts ``know:<lang>:<reason|ok>`` and the same for ling."""

    type = "⚖️ - DECIDE"
    name = "⚖️ select"

    def __init__(self, cfg: SelectConfig, languages: dict[str, Language]):
        super().__init__()
        self.cfg, self.languages = cfg, languages

    def decide(self, doc: Document) -> None:
        meta = doc.metadata
        meta["select.know"] = know = know_reason(meta, doc.text, self.cfg)
        meta["select.ling"] = ling = ling_reason(meta, self.languages, self.cfg.qa)
        lang = meta.get("lid.lang") or "und"
        self.counts[f"know:{lang}:{know or 'ok'}"] += 1
        self.counts[f"ling:{meta.get('mt.lang') or lang}:{ling or 'ok'}"] += 1

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        try:
            for doc in data:
                self.decide(doc)
                yield doc
        finally:
            self.flush_counts()
