"""Word tokenization per language, the one every word-level metric here uses (docs/metrics.md).

- th: pythainlp ``newmm`` dictionary segmentation (Thai has no spaces between words)
- ko: kiwipiepy morphemes (Korean words carry particles and endings: 후보가 -> 후보 + 가)
- everything else (ar, cs, hu, ru, sr, vi, en, ...): Unicode word rules (runs of letters/digits, with
  inner apostrophes and hyphens), after NFC normalisation. Vietnamese words are then its syllables.
Case folding is separate (``normalise``) so that keyword extraction can still see capitals.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# combining marks belong to the word they sit on (Python's \w does not match them): Arabic harakat and
# tanween ("أيضًا" is one word, not "أيض" + "ا"), Latin and Cyrillic combining accents
_MARKS = "\u0300-\u036f\u0483-\u0489\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
_WORD = re.compile(rf"[\w{_MARKS}]+(?:['’\-][\w{_MARKS}]+)*")
_ARABIC_MARKS = re.compile("[\u064b-\u0652\u0670\u0640]")  # harakat, dagger alif, tatweel
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"})


class MissingDependency(ImportError):
    pass


@cache
def _kiwi():
    try:
        from kiwipiepy import Kiwi
    except ImportError:
        raise MissingDependency("Korean tokenization needs kiwipiepy: pip install kiwipiepy") from None
    return Kiwi()


def _thai_words(text: str) -> list[str]:
    try:
        from pythainlp.tokenize import word_tokenize
    except ImportError:
        raise MissingDependency("Thai tokenization needs pythainlp: pip install 'mella[eval]'") from None
    return [w for w in word_tokenize(text, engine="newmm", keep_whitespace=False) if _WORD.search(w)]


def _clean(text: str) -> str:
    """NFC, and Cyrillic words typed with Latin look-alike letters repaired ("нa" with a Latin a: 21% of the
    words of NTREX's Serbian Cyrillic references), so that they compare equal to the real word."""
    from mella.lid import fix_homoglyphs

    return fix_homoglyphs(unicodedata.normalize("NFC", text))


def words(text: str, lang: str) -> list[str]:
    """Surface words of ``text`` in language ``lang`` (case kept)."""
    text = _clean(text)
    if lang == "th":
        return _thai_words(text)
    if lang == "ko":
        return [tok.form for tok in _kiwi().tokenize(text) if _WORD.search(tok.form)]
    return _WORD.findall(text)


def words_and_gaps(text: str) -> tuple[list[str], list[str]]:
    """Words by the Unicode word rule (cased scripts) and, for each, the characters between it and the
    previous word (punctuation and spaces)."""
    text = _clean(text)
    out, gaps, end = [], [], 0
    for m in _WORD.finditer(text):
        out.append(m.group(0))
        gaps.append(text[end : m.start()])
        end = m.end()
    return out, gaps


def tagged_words(text: str, lang: str) -> list[tuple[str, str, bool]]:
    """(word, tag, joined to the previous word without a space); tags only for Korean (kiwi's)."""
    if lang == "ko":
        out, end = [], -1
        for tok in _kiwi().tokenize(_clean(text)):
            if _WORD.search(tok.form):
                out.append((tok.form, tok.tag, tok.start == end))
            end = tok.start + tok.len
        return out
    return [(w, "", False) for w in words(text, lang)]


def normalise(word: str, lang: str) -> str:
    """Comparison form of a word: case-folded; Arabic without vowel marks and with unified alef/ya."""
    word = word.casefold()
    if lang == "ar":
        word = _ARABIC_MARKS.sub("", word).translate(_ALEF)
    return word


def normalised_words(text: str, lang: str) -> list[str]:
    return [normalise(w, lang) for w in words(text, lang)]


class MellaTokenizer:
    """The ``tokenizer`` rouge-score accepts: ``tokenize(text) -> list[str]``."""

    def __init__(self, lang: str):
        self.lang = lang

    def tokenize(self, text: str) -> list[str]:
        return normalised_words(text, self.lang)
