"""Numbers of a sentence, compared across languages: is every number of the English source in its
translation?

A professional translation writes "$350,000" as "350 000 USD", "3.5 million" as "3,5 milionu", "37" as
"тридцать семь" and "19th century" as "XIX век". So each number is reduced to its digits with every
separator dropped (350,000 / 350 000 / 350.000 -> "350000"), and a large or decimal number also to its
significant digits (-> "35"; 3.5 -> "35"), which survive the scale words (million, tisíc); a changed digit
changes both. Numbers before imperial units are not required (translators convert 30 yards to 27 m);
"3 p.m." also matches 15 and "the 1930s" also 30. A source number missing from the target's digits is
still found when the target writes it in words (num2words' cardinal, and ordinal where it has one, in
the target language, matched by word stems so that inflected forms count) or, from 1 to 3999, as a Roman
numeral (centuries).
"""

from __future__ import annotations

import re
from functools import cache

from mella.scripts import transliterate_sr

# digits with optional group separators (space, no-break spaces, dot, comma, apostrophe) and a decimal part
_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f.,'’]\d{3})*(?:[.,]\d+)?")
_ROMAN = re.compile(r"\b[IVXLCDM]{2,}\b|\b[IVX]\b")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_WORD = re.compile(r"\w+")
# num2words language codes (it has no Serbian Cyrillic: Cyrillic text is transliterated first)
NUM2WORDS_LANG = {"ar": "ar", "cs": "cs", "hu": "hu", "ko": "ko", "ru": "ru", "sr": "sr", "th": "th", "vi": "vi",
                  "en": "en", "uk": "uk", "pl": "pl", "sk": "sk", "bg": "ru"}

# a source number followed by an imperial unit is converted by translators (30 yards -> 27 metrů): exempt
_IMPERIAL = re.compile(r"\s?-?(?:yards?|yd|feet|foot|ft|miles?|mph|pounds?|lbs?|inch(?:es)?|in\.|ounces?|oz|"
                       r"gallons?|acres?|°\s?F|degrees Fahrenheit|Fahrenheit|stones?)\b", re.I)
_CLOCK = re.compile(r"\s?([ap])\.?m\.?(?![a-z])", re.I)


def digits(token: str) -> str:
    """The digits of a number token, leading zeros dropped (any script's digits: ٣٢ is 32)."""
    import unicodedata

    return "".join(str(unicodedata.digit(c)) for c in token if c.isdigit()).lstrip("0") or "0"


def key(token: str) -> str:
    """The significant digits of a number token: trailing zeros dropped too (350,000 / 350 tisíc -> 35)."""
    return digits(token).rstrip("0") or "0"


def keys(token: str) -> set[str]:
    """What a number token can be matched by: its digits; for a large or decimal number also its
    significant digits, which survive scale words (3.5 million -> 3,5 milionu; 350,000 -> 350 tisíc). A
    small whole number needs its exact digits (20 is not 2)."""
    whole = digits(token)
    out = {whole}
    if len(whole) >= 4 or any(c in ".," for c in token.strip(".,")):
        out.add(key(token))
    return out


def number_tokens(text: str) -> list[str]:
    return _NUMBER.findall(text)


def source_numbers(text: str) -> list[tuple[str, set[str]]]:
    """The English source's numbers to find: (token, keys that count as it). Numbers before an imperial
    unit are left out (translators convert them); "3 p.m." also counts as 15; "the 1930s" also as 30."""
    out = []
    for m in _NUMBER.finditer(text):
        token, after = m.group(0), text[m.end():m.end() + 24]
        if _IMPERIAL.match(after):
            continue
        found = keys(token)
        clock = _CLOCK.match(after)
        if clock and token.isdigit() and int(token) <= 12:
            found.add(str(int(token) % 12 + (12 if clock.group(1).lower() == "p" else 0)))
        if after.startswith("s") and len(token) == 4 and token.endswith("0"):
            found.add(token[2:].lstrip("0") or "0")  # the 1930s -> "30. letech", "30-х годах"
            token = token[2:]  # ... and in words: "ثلاثينيات", "тридцатых"
        out.append((token, found))
    return out


def roman_values(text: str) -> list[int]:
    out = []
    for token in _ROMAN.findall(text):
        total, prev = 0, 0
        for ch in reversed(token):
            v = _ROMAN_VALUES[ch]
            total, prev = (total - v, prev) if v < prev else (total + v, v)
        if 0 < total < 4000:
            out.append(total)
    return out


def _value(token: str) -> int | None:
    """The integer a source token most likely means (English conventions), for the word forms."""
    digits = token.replace(",", "").replace(" ", "").replace("\u00a0", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


@cache
def _word_stems(value: int, lang: str) -> tuple[tuple[str, ...], ...]:
    """Stem sequences of ``value`` written in words (cardinal, ordinal): each a tuple of word prefixes."""
    try:
        from num2words import num2words
    except ImportError:  # num2words is a dependency; without it only digits are compared
        return ()
    code = NUM2WORDS_LANG.get(lang)
    if code is None or value > 10**6:
        return ()
    forms = []
    for to in ("cardinal", "ordinal"):
        try:
            forms.append(num2words(value, lang=code, to=to))
        except (NotImplementedError, KeyError, ValueError, TypeError, OverflowError):
            continue
    out = []
    for form in forms:
        words = _WORD.findall(form.casefold())
        if lang in ("th", "ko"):  # no word spaces in numbers: match the form as one string
            out.append(("".join(words),))
        else:
            out.append(tuple(w[: max(3, len(w) - 2)] for w in words if w not in ("a", "és", "và", "و")))
    return tuple(o for o in out if o)


def in_words(value: int, target: str, lang: str) -> bool:
    """Is ``value`` written in words in ``target``?"""
    low = target.casefold()
    if lang == "sr":
        low = transliterate_sr(low)
    words = _WORD.findall(low)
    for stems in _word_stems(value, lang):
        if sum(len(s) for s in stems) < 5:
            continue  # "ba", "năm", "삼": short forms are parts of other words, no evidence
        if lang in ("th", "ko"):
            if stems[0] in low.replace(" ", ""):
                return True
        elif all(any(s in w for w in words) for s in stems):  # in, not startswith: compounds (sedmatřicetiletá)
            return True
    return False


def numbers_preserved(source: str, target: str, lang: str) -> float:
    """Share of the source's numbers found in the target (1.0 when the source has none)."""
    src = source_numbers(source)
    if not src:
        return 1.0
    pool = [{digits(t), key(t)} for t in number_tokens(target)]  # "300 ألف" can be 300,000
    romans = roman_values(target)
    found = 0
    for token, wanted in src:
        hit = next((i for i, have in enumerate(pool) if wanted & have), None)
        if hit is not None:
            pool.pop(hit)
            found += 1
            continue
        value = _value(token)
        if value is not None and (value in romans or in_words(value, target, lang)):
            found += 1
    return found / len(src)
