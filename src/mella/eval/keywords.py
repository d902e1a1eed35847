"""Keywords of a reference alt-text, and whether an output names them (the culture score).

Our definition (the paper's is not public), per language: the reference's content words (stop words,
pure numbers and one-character words removed) and its multi-word names (runs of two or more capitalised
words in cased scripts, where a capital that starts the text counts only in a run of two; runs of
proper nouns written as one word in Korean). A name is one keyword; its words are not
counted again. Matching is on normalised forms (case-folded, Arabic marks removed), stem-aware where a
Snowball/Porter stemmer exists (en, ar, hu, ru), and for Thai and Korean also as a substring of the
output with spaces removed (segmenters disagree on compound boundaries). See docs/metrics.md.
"""

from __future__ import annotations

from functools import cache

from mella.eval.tokenize import normalise, tagged_words, words
from mella.resources import word_list

CASED_SCRIPT_LANGS = {"cs", "hu", "ru", "sr", "vi", "en"}
KOREAN_CONTENT_TAGS = {"NNG", "NNP", "SL", "SH", "XR"}
STEMMERS = {"en": "porter", "ar": "arabic", "hu": "hungarian", "ru": "russian"}


@cache
def stopwords(lang: str) -> frozenset[str]:
    words_ = set(word_list(f"stopwords/{lang}.txt"))
    if lang == "th":
        try:
            from pythainlp.corpus import thai_stopwords

            words_ |= set(thai_stopwords())
        except ImportError:
            pass
    return frozenset(normalise(w, lang) for w in words_)


@cache
def stemmer(lang: str):
    """A ``str -> str`` stemmer for the language, or None."""
    name = STEMMERS.get(lang.split("-")[0])
    if name is None:
        return None
    if name == "porter":
        from nltk.stem.porter import PorterStemmer

        return PorterStemmer().stem
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer(name).stem


def _is_content(word: str, lang: str) -> bool:
    norm = normalise(word, lang)
    return len(norm) > 1 and not norm.isdigit() and norm not in stopwords(lang)


def keywords(reference: str, lang: str) -> list[str]:
    """Keywords of ``reference`` (surface forms; names joined by spaces), in order, without repeats."""
    lang = lang.split("-")[0]
    out: list[str] = []
    in_names: set[int] = set()
    tagged = tagged_words(reference, lang)
    if lang == "ko":
        run: list[int] = []
        for i, (_, tag, joined) in enumerate(tagged + [("", "", False)]):
            if tag == "NNP" and (not run or joined):  # proper nouns written as one word form one name
                run.append(i)
                continue
            if len(run) >= 2:
                out.append("".join(tagged[k][0] for k in run))
                in_names |= set(run)
            run = [i] if tag == "NNP" else []
        out += [w for i, (w, tag, _) in enumerate(tagged) if i not in in_names and tag in KOREAN_CONTENT_TAGS
                and _is_content(w, lang)]
    else:
        surface = [w for w, _, _ in tagged]
        if lang in CASED_SCRIPT_LANGS:
            run = []
            for i, word in enumerate(surface + [""]):
                if word[:1].isupper() and _is_content(word, lang):
                    run.append(i)
                    continue
                if run and run[0] == 0 and len(run) >= 3:
                    run = run[1:]  # a capital that starts the text is not evidence of a name
                if len(run) >= 2:
                    out.append(" ".join(surface[k] for k in run))
                    in_names |= set(run)
                run = []
        out += [w for i, w in enumerate(surface) if i not in in_names and _is_content(w, lang)]
    seen: set[str] = set()
    unique = []
    for kw in out:
        key = normalise(kw, lang)
        if key not in seen:
            seen.add(key)
            unique.append(kw)
    return unique


class KeywordMatcher:
    """Which of a reference's keywords an output contains."""

    def __init__(self, lang: str):
        self.lang = lang.split("-")[0]
        self.stem = stemmer(self.lang)

    def _forms(self, tokens: list[str]) -> tuple[list[str], list[str]]:
        norm = [normalise(t, self.lang) for t in tokens]
        return norm, [self.stem(t) for t in norm] if self.stem else norm

    def found(self, output: str, keyword_list: list[str]) -> list[bool]:
        out_norm, out_stems = self._forms(words(output, self.lang))
        compact = "".join(out_norm)
        hits = []
        for kw in keyword_list:
            kw_norm, kw_stems = self._forms(words(kw, self.lang))
            hit = bool(kw_norm) and (_contains(out_norm, kw_norm) or _contains(out_stems, kw_stems))
            if not hit and self.lang in ("th", "ko"):
                hit = "".join(kw_norm) in compact
            hits.append(hit)
        return hits

    def accuracy(self, output: str, keyword_list: list[str]) -> float | None:
        """Share of keywords found (0..1); None when the reference has no keywords."""
        if not keyword_list:
            return None
        hits = self.found(output, keyword_list)
        return sum(hits) / len(hits)


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return any(seq[i : i + n] == sub for i in range(len(seq) - n + 1))
