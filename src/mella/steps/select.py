"""The decisions: which records make a D_know sample and which a D_ling sample, from saved scores only.

Deciding is separate from scoring: every input of a decision (LID score, letter share, page repeats,
alignment score, translation QA scores) is a column of the record table, so thresholds are re-tuned by
running this step again, never the models. A record is never dropped here: it keeps its row with
``know_reason`` / ``ling_reason`` (null = usable, else the first failing check), because a record that
fails one source may still serve the other.
"""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline

from mella.config import CaptionQAConfig, QAConfig, SelectConfig
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


# check -> drop reason, in the order they are reported
QA_REASONS = {"wrong_language": "mt_wrong_language", "untranslated": "mt_untranslated", "repeated": "mt_repetition",
              "truncated": "mt_truncated", "numbers": "mt_numbers_lost", "mismatched": "mt_low_similarity"}


def qa_checks(scores: dict, lang: Language, qa: QAConfig | None = None) -> dict[str, bool]:
    """Which translation QA checks the scores pass (True) for ``lang``: thresholds from ``qa`` where set,
    else the language's own (language table ``qa:``, else ``mella.languages.QA_DEFAULTS``)."""

    def threshold(name):
        value = getattr(qa, name, None) if qa is not None else None
        return lang.qa_threshold(name) if value is None else value

    def value(key, default):
        v = scores.get(key)
        return default if v is None else v

    script, label = scores.get("script"), scores.get("lid_label")
    accepted = set(lang.lid_labels) | set(lang.confusable.get(script, []))
    ratio = value("length_ratio", 0.0)
    sim = scores.get("similarity")
    return {
        "wrong_language": script in lang.scripts and label in accepted,
        "untranslated": value("copy_ratio", 0.0) <= threshold("max_copy_ratio"),
        "repeated": ratio <= threshold("max_length_ratio") and value("repetition", 0.0) <= threshold("max_repetition"),
        "truncated": ratio >= threshold("min_length_ratio")
                     and not (threshold("final_punctuation") and value("ends_complete", True) is False
                              and ratio < threshold("incomplete_max_ratio"))
                     and not (sim is not None and ratio < threshold("short_ratio")
                              and sim < threshold("short_min_similarity")),
        "numbers": value("numbers_preserved", 1.0) >= threshold("min_numbers_preserved"),
        "mismatched": sim is None or sim >= threshold("min_similarity"),
    }


def qa_reason(meta: dict, lang: Language | None, qa: QAConfig) -> str | None:
    """Translation QA: None when the saved scores pass every check; else the first failing one."""
    if lang is None:
        return "mt_no_target_language"
    scores = {k[len("mt.qa."):]: v for k, v in meta.items() if k.startswith("mt.qa.")}
    for check, ok in qa_checks(scores, lang, qa).items():
        if not ok:
            return QA_REASONS[check]
    return None


def caption_reason(meta: dict, cqa: CaptionQAConfig) -> str | None:
    """Caption QA: None when the saved caption scores pass; else the first failing check. Scores a
    caption lacks (made before caption QA existed) are computed here from the caption."""
    caption = meta["caption.en"]
    if meta.get("caption.qa.words") is None:
        from mella.ling.caption_qa import caption_scores

        scores = caption_scores(caption)
    else:
        scores = {k[len("caption.qa."):]: v for k, v in meta.items() if k.startswith("caption.qa.")}
    if cqa.refusals and scores.get("refusal"):
        return "caption_refusal"
    if cqa.english and scores.get("english") is False:
        return "caption_not_english"
    if (scores.get("words") or 0) < cqa.min_words:
        return "caption_too_short"
    if (scores.get("repetition") or 0.0) > cqa.max_repetition:
        return "caption_repetition"
    align = meta.get("caption.align_score")
    if cqa.min_align_score is not None and align is not None and align < cqa.min_align_score:
        return "caption_low_alignment"
    return None


def ling_reason(meta: dict, languages: dict[str, Language], qa: QAConfig,
                cqa: CaptionQAConfig | None = None) -> str | None:
    """None when the record's translated caption makes a D_ling sample; else the first failing check."""
    if not meta.get("caption.en"):
        error = meta.get("caption.error")
        return f"caption_{error_kind(error)}" if error else "no_caption"
    reason = caption_reason(meta, cqa or CaptionQAConfig())
    if reason:
        return reason
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
        meta["select.ling"] = ling = ling_reason(meta, self.languages, self.cfg.qa, self.cfg.caption_qa)
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
