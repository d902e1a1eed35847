"""Language and script of each record's text (annotator), and the decision to keep it (filter).

The identifier is ``mella.lid.Identifier`` (the one translation QA and evaluation use too). Here it gets the
page's language as a prior: the html ``lang`` (or a pair table's ``lang`` column), else the language of the
page title, else the country-code TLD. The prior settles short or mixed-script texts and names; it never
overrides a confident classifier on a longer text. docs/lid.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from datatrove.data import Document, DocumentsPipeline

from mella.languages import Language
from mella.lid import Decision, Identifier
from mella.names import UNCASED_NAME_SCRIPTS, in_title, looks_like_name, page_title, uncased_name
from mella.scripts import dominant_script
from mella.steps.base import CountingStep, Filter
from mella.urls import cctld

TITLE_MIN_SCORE = 0.5  # a page title's language counts as the page's when lid.176 gives it this much
TITLE_MIN_WORDS = 3


@dataclass(frozen=True, slots=True)
class PagePrior:
    code: str | None  # a target-language code or another lid.176 label; None: nothing known
    labels: tuple[str, ...]  # lid.176 labels that count as it
    script: str | None  # its non-Latin script on this page, if any
    source: str  # html_lang | title | cctld | none


NO_PRIOR = PagePrior(None, (), None, "none")


class LanguageAnnotator(CountingStep):
    """Adds ``lid.script``, ``lid.label``, ``lid.lang``, ``lid.score``, ``lid.via``, ``lid.prior``,
    ``lid.evidence`` and ``alt.name``. Never drops.

    ``lid.lang`` is a target-language code when the label maps to one; labels that text alone cannot tell
    apart (Latin-script Serbian vs Croatian/Bosnian) are decided with marker words or page signals,
    recorded in ``lid.evidence``; with neither the record gets ``lid.lang = "ambiguous:<code>"``.
    """

    type = "🔤 - ANNOTATOR"
    name = "🌐 language id"

    def __init__(self, languages: dict[str, Language], top_k: int = 20):
        super().__init__()
        self.languages = languages
        self.top_k = top_k
        self.label_to_lang = {label: code for code, lang in languages.items() for label in lang.lid_labels}
        self._ident: Identifier | None = None
        self._prior_key: tuple | None = None
        self._prior = NO_PRIOR

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if self._ident is None:
            self._ident = Identifier(self.top_k)
        try:
            for doc in data:
                with self.track_time():
                    self.annotate(doc)
                yield doc
        finally:
            self.flush_counts()

    def annotate(self, doc: Document) -> None:
        meta = doc.metadata
        prior = self.page_prior(meta)
        text = doc.text
        script, _ = dominant_script(text)
        title = page_title(meta)
        name = looks_like_name(text, prior.script or script, meta.get("page.context") or "", title)
        if not name and script in UNCASED_NAME_SCRIPTS and prior.code and prior.code in self.languages:
            name = uncased_name(text, prior.code)
        meta["alt.in_title"] = bool(name and in_title(text, title))
        decision = self._ident(text, prior.labels, prior.script, name=name)
        meta["alt.name"] = name
        meta["lid.script"] = decision.script
        meta["lid.label"] = decision.label
        meta["lid.via"] = decision.via
        meta["lid.prior"] = f"{prior.code} ({prior.source})" if prior.code else None
        lang, score, evidence = self.decide(decision, meta)
        meta["lid.lang"] = lang
        meta["lid.score"] = min(1.0, score)  # fastText probabilities (and sums of them) can pass 1.0 by 1e-4
        meta["lid.evidence"] = "; ".join(e for e in (decision.as_text(), evidence) if e) or None
        self.counts[f"script_{decision.script}"] += 1
        self.counts[f"lid_via_{decision.via}"] += 1

    # -- the page's language -------------------------------------------------------------------------
    def page_prior(self, meta: dict) -> PagePrior:
        """Computed once per page (a page's records arrive together)."""
        key = (meta.get("page.url"), meta.get("page.lang"), meta.get("page.title"))
        if key != self._prior_key:
            self._prior_key = key
            self._prior = self._page_prior(meta)
        return self._prior

    def _page_prior(self, meta: dict) -> PagePrior:
        title = meta.get("page.title") or ""
        declared = (meta.get("page.lang") or "").replace("_", "-").split("-")[0].strip().lower()
        title_code = self._title_language(title)
        if declared and len(declared) in (2, 3) and declared.isalpha():
            # a template default ("en" on a Czech page) is overruled by a title clearly in another language
            if title_code and title_code != self._code(declared):
                return self._prior_for(title_code, title, "title")
            return self._prior_for(self._code(declared), title, "html_lang")
        if title_code:
            return self._prior_for(title_code, title, "title")
        tld = cctld(meta.get("page.url"))
        for code, lang in self.languages.items():
            if tld and tld in lang.cctlds:
                return self._prior_for(code, title, "cctld")
        return NO_PRIOR

    def _code(self, label: str) -> str:
        if label in self.languages:
            return label
        return self.label_to_lang.get(label, label)

    def _title_language(self, title: str) -> str | None:
        script, share = dominant_script(title)
        long_enough = len(title.split()) >= TITLE_MIN_WORDS or (script not in ("Latn", "Cyrl") and len(title) >= 8)
        if not long_enough or share < 0.5:
            return None
        decision = self._ident(title)
        return self._code(decision.label) if decision.score >= TITLE_MIN_SCORE else None

    def _prior_for(self, code: str, title: str, source: str) -> PagePrior:
        lang = self.languages.get(code)
        labels = tuple(lang.lid_labels) if lang else (code,)
        script = None
        if lang:
            non_latin = [s for s in lang.scripts if s != "Latn"]
            title_script, share = dominant_script(title)
            if title_script in non_latin and share >= 0.5:
                script = title_script
            elif len(non_latin) == 1 and "Latn" not in lang.scripts:
                script = non_latin[0]
        return PagePrior(code, labels, script, source)

    # -- confusable labels ----------------------------------------------------------------------------
    def decide(self, d: Decision, meta: dict) -> tuple[str, float, str | None]:
        for code, lang in self.languages.items():
            confusable = lang.confusable.get(d.script)
            if not confusable or d.script not in lang.scripts:
                continue
            group = set(confusable) | set(lang.lid_labels)
            if d.label not in group:
                continue
            score = d.score
            if d.via == "markers":  # marker words settled it (Serbian ekavian forms, Croatian vocabulary)
                return self.label_to_lang.get(d.label, d.label), score, None
            votes = page_votes(lang, confusable, meta)
            evidence = ",".join(f"{k}={v}" for k, v in votes) or "no page evidence"
            for_lang = [v for _, v in votes if v == code]
            against = sorted({v for _, v in votes if v != code})
            if for_lang and not against:
                return code, score, f"confusable {'/'.join(sorted(group))}: {evidence}"
            if against and not for_lang:
                other = against[0]
                return self.label_to_lang.get(other, other), score, f"page says {other}: {evidence}"
            return f"ambiguous:{code}", score, f"confusable {'/'.join(sorted(group))}: {evidence}"
        return self.label_to_lang.get(d.label, d.label), d.score, None


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
PRIOR_VIAS = frozenset({"prior", "name", "script"})


class LanguageFilter(Filter):
    """Keeps records whose language is a target language, in one of its scripts, scored high enough.
    A record decided by the page's language (``lid.via`` prior or name) or by a script only its language
    writes (``script``: Hangul) is not held to ``min_score``: its score is the classifier's probability,
    low by nature on short text."""

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
        if meta.get("lid.via") in PRIOR_VIAS:
            return True
        if (meta.get("lid.score") or 0.0) < self.min_score_by_lang.get(lang, self.min_score):
            return False, "low_lid_score"
        return True
