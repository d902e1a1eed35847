"""METEOR (Lavie & Agarwal 2007) in plain Python, aligned exactly like NLTK's ``meteor_score``: exact,
then stem, then synonym matching, each stage matching from the end of the hypothesis, then a
fragmentation penalty. Stemmer and synonyms are pluggable, so the same code serves languages without
WordNet (exact + stem) and English with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

Pairs = list[tuple[int, str]]


def _match(hyp: Pairs, ref: Pairs) -> tuple[list[tuple[int, int]], Pairs, Pairs]:
    positions: dict[str, list[int]] = defaultdict(list)
    for j, (_, word) in enumerate(ref):
        positions[word].append(j)
    matches, used_h, used_r = [], set(), set()
    for i in range(len(hyp) - 1, -1, -1):
        slots = positions.get(hyp[i][1])
        if slots:
            j = slots.pop()
            used_h.add(i)
            used_r.add(j)
            matches.append((hyp[i][0], ref[j][0]))
    return matches, [p for i, p in enumerate(hyp) if i not in used_h], [p for j, p in enumerate(ref) if j not in used_r]


def _synonym_match(hyp: Pairs, ref: Pairs, synonyms: Callable[[str], Iterable[str]]):
    positions: dict[str, list[int]] = defaultdict(list)
    for j, (_, word) in enumerate(ref):
        positions[word].append(j)
    matches, used_h, used_r = [], set(), set()
    for i in range(len(hyp) - 1, -1, -1):
        candidates = set(synonyms(hyp[i][1])) | {hyp[i][1]}
        best_j, best_word = -1, None
        for word in candidates:
            slots = positions.get(word)
            if slots and slots[-1] > best_j:
                best_j, best_word = slots[-1], word
        if best_word is not None:
            positions[best_word].pop()
            used_h.add(i)
            used_r.add(best_j)
            matches.append((hyp[i][0], ref[best_j][0]))
    return matches, [p for i, p in enumerate(hyp) if i not in used_h], [p for j, p in enumerate(ref) if j not in used_r]


def align(hyp_words: list[str], ref_words: list[str], stem: Callable[[str], str] | None = None,
          synonyms: Callable[[str], Iterable[str]] | None = None) -> list[tuple[int, int]]:
    """(hypothesis index, reference index) matches, sorted by hypothesis index."""
    hyp, ref = list(enumerate(hyp_words)), list(enumerate(ref_words))
    matches, hyp, ref = _match(hyp, ref)
    if stem is not None:
        stemmed, hyp_s, ref_s = _match([(i, stem(w)) for i, w in hyp], [(j, stem(w)) for j, w in ref])
        matches += stemmed
        kept_h, kept_r = {i for i, _ in hyp_s}, {j for j, _ in ref_s}
        hyp, ref = [p for p in hyp if p[0] in kept_h], [p for p in ref if p[0] in kept_r]
    if synonyms is not None:
        matches += _synonym_match(hyp, ref, synonyms)[0]
    return sorted(matches)


def _chunks(matches: list[tuple[int, int]]) -> int:
    chunks = 1
    for (h0, r0), (h1, r1) in zip(matches, matches[1:]):
        if not (h1 == h0 + 1 and r1 == r0 + 1):
            chunks += 1
    return chunks


def sentence_meteor(hyp_words: list[str], ref_words: list[str], stem: Callable[[str], str] | None = None,
                    synonyms: Callable[[str], Iterable[str]] | None = None, alpha: float = 0.9,
                    beta: float = 3.0, gamma: float = 0.5) -> float:
    """METEOR of one hypothesis against one reference (pre-tokenized, pre-normalised), 0..1."""
    matches = align(hyp_words, ref_words, stem, synonyms)
    m = len(matches)
    if m == 0 or not hyp_words or not ref_words:
        return 0.0
    precision, recall = m / len(hyp_words), m / len(ref_words)
    fmean = precision * recall / (alpha * precision + (1 - alpha) * recall)
    penalty = gamma * (_chunks(matches) / m) ** beta
    return (1 - penalty) * fmean


def meteor(hyp_words: list[str], refs_words: list[list[str]], **kwargs) -> float:
    """Best sentence METEOR over several references (as NLTK's ``meteor_score``)."""
    return max(sentence_meteor(hyp_words, ref, **kwargs) for ref in refs_words)
