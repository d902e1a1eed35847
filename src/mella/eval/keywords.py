"""Keywords of a reference alt-text, and whether an output names them (the culture score).

Our definition (the paper's is not public), per language: the reference's content words (stop words,
pure numbers and one-character words removed) and its multi-word names (runs of two or more capitalised
words in cased scripts, with no punctuation between them, where a capital that starts a sentence counts
only in a run of two; runs of proper nouns written as one word in Korean). A name is one keyword; its
words are not counted again. Matching is on normalised forms (case-folded, Arabic marks removed),
stem-aware (Snowball/Porter for en, ar, hu, ru; light stemmers for cs and sr, ``mella.eval.stemmers``),
and for Thai and Korean also as a substring of the output with spaces removed (segmenters disagree on
compound boundaries). Vietnamese does not inflect: its keywords are syllables and names, matched as they
are. See docs/metrics.md.
"""

from __future__ import annotations

import re
from functools import cache

from mella.eval.tokenize import normalise, tagged_words, words, words_and_gaps
from mella.resources import word_list

CASED_SCRIPT_LANGS = {"cs", "hu", "ru", "sr", "vi", "en"}
KOREAN_CONTENT_TAGS = {"NNG", "NNP", "SL", "SH", "XR"}
STEMMERS = {"en": "porter", "ar": "arabic", "hu": "hungarian", "ru": "russian", "cs": "czech", "sr": "serbian"}
_SENTENCE_END = re.compile(r"[.!?…。]")
# a period after these is an abbreviation, not the end of a sentence ("Dr. Smith", "sv. Václav", "ул. Ленина")
_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "jr", "sr", "sv", "prof", "ing", "mudr", "judr", "phdr",
                            "mgr", "doc", "gen", "ul", "nám", "tzv", "resp", "např", "ifj", "özv", "ул", "пр", "св",
                            "им", "тзв", "др", "проф", "инж", "ст"})


@cache
def stopwords(lang: str) -> frozenset[str]:
    """The language's stop words: its list (data/stopwords/<lang>.txt; Thai also pythainlp's), less the
    entries written ``!word`` there (content words that a borrowed list contains: Thai "big", "new")."""
    entries = set(word_list(f"stopwords/{lang}.txt"))
    keep = {e[1:] for e in entries if e.startswith("!")}
    words_ = entries - {e for e in entries if e.startswith("!")}
    if lang == "th":
        try:
            from pythainlp.corpus import thai_stopwords

            words_ |= set(thai_stopwords())
        except ImportError:
            pass
    return frozenset(normalise(w, lang) for w in words_ - keep)


@cache
def stemmer(lang: str):
    """A ``str -> str`` stemmer for the language, or None."""
    name = STEMMERS.get(lang.split("-")[0])
    if name is None:
        return None
    if name in ("czech", "serbian"):
        from mella.eval import stemmers

        return getattr(stemmers, name)
    if name == "porter":
        from nltk.stem.porter import PorterStemmer

        return PorterStemmer().stem
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer(name).stem


def _is_content(word: str, lang: str) -> bool:
    norm = normalise(word, lang)  # one letter is no word, but one Korean syllable is (집 house, 강 river)
    return (len(norm) > 1 or lang == "ko" and norm.isalpha()) and not norm.isdigit() and norm not in stopwords(lang) and norm not in _ABBREVIATIONS


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
    elif lang in CASED_SCRIPT_LANGS:
        surface, gaps = words_and_gaps(reference)
        for run in _capitalised_runs(surface, gaps, lang):
            out.append("".join((gaps[k] if k != run[0] else "") + surface[k] for k in run))
            in_names |= set(run)
        out += [w for i, w in enumerate(surface) if i not in in_names and _is_content(w, lang)]
    else:
        out += [w for w, _, _ in tagged if _is_content(w, lang)]
    seen: set[str] = set()
    unique = []
    for kw in out:
        key = normalise(kw, lang)
        if key not in seen:
            seen.add(key)
            unique.append(kw)
    return unique


def _capitalised_runs(surface: list[str], gaps: list[str], lang: str) -> list[list[int]]:
    """Runs of two or more capitalised content words with only spaces between them (names). A run is
    broken by any punctuation ("Praha, Brno" are two names) but the period of an initial or abbreviation
    ("J. R. R. Tolkien", "Sv. Václav"); a capital that starts a sentence is not evidence of a name, so a
    run that starts a sentence counts from its second word when it has three."""
    runs, run = [], []
    n = len(surface)
    for i, word in enumerate(surface + [""]):
        if run and i < n and gaps[i].strip() and not _abbreviation_dot(i, surface, gaps):
            runs.append(run)
            run = []
        if word[:1].isupper() and (_is_content(word, lang) or i + 1 < n and _abbreviation_dot(i + 1, surface, gaps)):
            run.append(i)
        elif run:
            runs.append(run)
            run = []
    out = []
    for run in runs:
        if _starts_sentence(run[0], surface, gaps) and len(run) >= 3:
            run = run[1:]
        if len(run) >= 2 and _is_content(surface[run[-1]], lang):
            out.append(run)
    return out


def _abbreviation_dot(i: int, surface: list[str], gaps: list[str]) -> bool:
    """Whether the gap before word ``i`` is the period of an initial or abbreviation ("Dr. ", "J. ")."""
    previous = surface[i - 1].casefold() if i else ""
    return gaps[i].strip() == "." and (len(previous) == 1 or previous in _ABBREVIATIONS)


def _starts_sentence(i: int, surface: list[str], gaps: list[str]) -> bool:
    return i == 0 or bool(_SENTENCE_END.search(gaps[i])) and not _abbreviation_dot(i, surface, gaps)


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
            if not hit and self.lang == "hu":
                hit = _contains(out_norm, kw_norm, _same_hungarian_word)
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


def _contains(seq: list[str], sub: list[str], same=None) -> bool:
    n = len(sub)
    if same is None:
        return any(seq[i : i + n] == sub for i in range(len(seq) - n + 1))
    return any(all(same(a, b) for a, b in zip(seq[i : i + n], sub)) for i in range(len(seq) - n + 1))


def _same_hungarian_word(a: str, b: str) -> bool:
    """Hungarian adds case suffixes to an unchanged stem, and Snowball's Hungarian stemmer strips a final
    -t of nominatives ("parlament" -> "parlamen", "parlamentben" -> "parlament"): a word is also the same
    when one form is the other plus at most a suffix's length (4+ letters in common)."""
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short) and len(long_) - len(short) <= 6
