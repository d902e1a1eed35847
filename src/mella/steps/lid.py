"""Language and script of each alt-text (annotator), and the decision to keep it (filter)."""

from __future__ import annotations


from datatrove.data import Document, DocumentsPipeline
from mella.steps.base import CountingStep, Filter

from mella.languages import Language
from mella.lid import LidResult, ScriptRestrictedLid
from mella.scripts import dominant_script
from mella.urls import cctld


class LanguageAnnotator(CountingStep):
    """Adds ``lid.script``, ``lid.label``, ``lid.lang``, ``lid.score``, ``lid.evidence``. Never drops.

    ``lid.lang`` is a target-language code when the label maps to one; labels that text alone cannot tell
    apart (Latin-script Serbian vs Croatian/Bosnian) are decided with page signals, recorded in
    ``lid.evidence``; with no page evidence the record gets ``lid.lang = "ambiguous:<code>"``.
    """

    type = "🔤 - ANNOTATOR"
    name = "🌐 language id"

    def __init__(self, languages: dict[str, Language], top_k: int = 10):
        super().__init__()
        self.languages = languages
        self.top_k = top_k
        self.label_to_lang = {label: code for code, lang in languages.items() for label in lang.lid_labels}
        self._lid: ScriptRestrictedLid | None = None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if self._lid is None:
            self._lid = ScriptRestrictedLid(self.top_k)
        try:
            for doc in data:
                with self.track_time():
                    self.annotate(doc)
                yield doc
        finally:
            self.flush_counts()

    def annotate(self, doc: Document) -> None:
        meta = doc.metadata
        result = self._lid(doc.text, meta.get("lid.script"))
        meta["lid.script"] = result.script
        meta["lid.label"] = result.label
        lang, score, evidence = self.decide(result, meta)
        meta["lid.lang"] = lang
        meta["lid.score"] = min(1.0, score)  # fastText probabilities (and sums of them) can pass 1.0 by 1e-4
        meta["lid.evidence"] = evidence
        self.counts[f"script_{result.script}"] += 1

    def decide(self, result: LidResult, meta: dict) -> tuple[str, float, str | None]:
        for code, lang in self.languages.items():
            confusable = lang.confusable.get(result.script)
            if not confusable or result.script not in lang.scripts:
                continue
            group = set(confusable) | set(lang.lid_labels)
            if result.label not in group:
                continue
            score = sum(p for label, p in result.top if label in group)
            votes = page_votes(lang, confusable, meta)
            evidence = ";".join(f"{k}={v}" for k, v in votes) or "none"
            for_lang = [v for _, v in votes if v == code]
            against = sorted({v for _, v in votes if v != code})
            if for_lang and not against:
                return code, score, f"confusable:{'/'.join(sorted(group))};{evidence}"
            if against and not for_lang:
                other = against[0]
                return self.label_to_lang.get(other, other), score, f"page says {other};{evidence}"
            return f"ambiguous:{code}", score, f"confusable:{'/'.join(sorted(group))};{evidence}"
        return self.label_to_lang.get(result.label, result.label), result.score, None


def page_votes(lang: Language, confusable: list[str], meta: dict) -> list[tuple[str, str]]:
    """Page signals for or against ``lang``: html lang, ccTLD, and the script of the page title."""
    candidates = set(confusable) | set(lang.lid_labels) | {lang.code}
    votes: list[tuple[str, str]] = []
    html_lang = (meta.get("page.lang") or "").split("-")[0].lower()
    if html_lang in candidates:
        votes.append(("html_lang", lang.code if html_lang in lang.lid_labels + [lang.code] else html_lang))
    tld = cctld(meta.get("page.url"))
    if tld:
        if tld in lang.cctlds:
            votes.append(("cctld", lang.code))
        elif tld in _CCTLD_LANG and _CCTLD_LANG[tld] in candidates:
            votes.append(("cctld", _CCTLD_LANG[tld]))
    title = meta.get("page.title") or ""
    script, share = dominant_script(title)
    if share > 0.8 and script != "Latn" and script in lang.scripts:
        votes.append(("title_script", lang.code))
    return votes


_CCTLD_LANG = {"hr": "hr", "ba": "bs", "me": "sh"}


class LanguageFilter(Filter):
    """Keeps records whose language is a target language, in one of its scripts, scored high enough."""

    name = "🌐 language filter"

    def __init__(self, languages: dict[str, Language], min_score: float = 0.5,
                 min_score_by_lang: dict[str, float] | None = None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.languages = languages
        self.min_score = min_score
        self.min_score_by_lang = min_score_by_lang or {}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        lang = meta.get("lid.lang") or "und"
        if lang.startswith("ambiguous:"):
            return False, "lang_ambiguous"
        target = self.languages.get(lang)
        if target is None:
            return False, "wrong_language"
        if meta.get("lid.script") not in target.scripts:
            return False, "wrong_script"
        if (meta.get("lid.score") or 0.0) < self.min_score_by_lang.get(lang, self.min_score):
            return False, "low_lid_score"
        return True
