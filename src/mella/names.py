"""Is a short text a name (of a person, place, dish, building)? Such a text is the whole description of
many photos ("Павел Вовк", "Donald Trump", "보힌의 위치") and the most cultural text an image can carry, so
the length and language rules treat it apart (docs/thresholds.md).

- Cased scripts (Latin, Cyrillic, Greek...): every word that has letters starts with a capital, except
  connecting particles ("de", "van", "i", "na"...), and at least one word is not all capitals (an all-caps
  short text is more often a button or a section label).
- Korean: kiwi finds a proper noun (NNP) and the text is nouns with their particles only (no verb).
- Uncased scripts (Thai, Arabic...): the text appears in the text around the image.
- Any script: the text is (a part of) the page title, or of the URL's last segment when the page has no
  title (a Wikipedia article's name).
"""

from __future__ import annotations

import re
from functools import cache

CASED_SCRIPTS = frozenset({"Latn", "Cyrl", "Grek", "Armn", "Geor"})
MAX_NAME_WORDS = 6
# lowercase words allowed inside a name: particles of person and place names across the target languages
PARTICLES = frozenset({
    "de", "da", "di", "do", "dos", "das", "del", "della", "der", "den", "van", "von", "la", "le", "du", "des",
    "y", "e", "i", "a", "na", "nad", "pod", "u", "v", "ve", "z", "ze", "and", "of", "the", "al", "el", "bin",
    "ibn", "и", "на", "над", "под", "у", "в", "де", "фон", "ван", "và", "ở", "és",
})
_WORD = re.compile(r"[^\W\d_][\w'’\-.]*")


def page_title(meta: dict) -> str:
    """The page's title, or where it has none (a pair table's row), the last segment of its URL when that
    reads as a title (Wikipedia: ``/wiki/Schneisingen`` -> "Schneisingen")."""
    title = meta.get("page.title")
    if title:
        return title
    url = meta.get("page.url") or ""
    from urllib.parse import unquote, urlsplit

    try:
        slug = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])
    except ValueError:
        return ""
    if not slug or "." in slug[-6:] or not any(c.isalpha() for c in slug):
        return ""
    return re.sub(r"[_+]", " ", slug)


_DATE_WORD = re.compile(r"\d+(?:년|월|일|년의|년도|년대)?")


def in_title(text: str, title: str) -> bool:
    """The text is the page title or a part of it (the page is about the named thing), years and dates
    aside ("2018년의 벨루치." on the article 모니카 벨루치, "Maysa, 1956" on Maysa)."""
    words = re.findall(r"\w+", text.casefold())
    title_norm = " ".join(re.findall(r"\w+", title.casefold()))
    if not words or not title_norm:
        return False
    core = [w for w in words if not _DATE_WORD.fullmatch(w)]
    return " ".join(words) in title_norm or (bool(core) and len(core) < len(words) and " ".join(core) in title_norm)


def looks_like_name(text: str, script: str, page_text: str = "", title: str = "") -> bool:
    """``script``: the text's script; ``page_text``: the text around the image (for scripts without
    capitals); ``title``: the page title (a text inside it names the page's subject)."""
    words = text.split()
    if not words or len(words) > MAX_NAME_WORDS:
        return False
    if title and in_title(text, title):
        return True
    if script in CASED_SCRIPTS:
        return _cased_name(text)
    if script == "Hang":
        return _korean_name(text)
    if script in ("Zyyy", "Zinh"):
        return False
    norm = " ".join(text.split()).casefold()
    return len(norm) >= 2 and norm in " ".join(page_text.split()).casefold()


# scripts without capitals and without an analyser for proper nouns, where a short text free of function
# words is read as a name or a named thing (Arabic: "نهر ويبر", "سوق الذهب", "أوجست رينوار")
UNCASED_NAME_SCRIPTS = frozenset({"Arab"})
_DIGITS = re.compile(r"^\d+$")


def uncased_name(text: str, lang: str) -> bool:
    """2-4 words of ``lang`` (numbers aside), none of them one of its stop words (data/stopwords/): a named
    person, place, dish or building rather than a sentence. Used for pages in ``lang`` only."""
    from mella.eval.keywords import stopwords
    from mella.eval.tokenize import normalise

    tokens = [w for w in re.findall(r"\w+", text) if not _DIGITS.match(w)]
    if not 2 <= len(tokens) <= 4:
        return False
    stop = stopwords(lang)
    return not any(normalise(w, lang) in stop for w in tokens)


def _cased_name(text: str) -> bool:
    tokens = _WORD.findall(text)
    if not tokens:
        return False
    capitalised = 0
    for token in tokens:
        if token[0].isupper():
            capitalised += 1
        elif token.casefold() not in PARTICLES:
            return False
    if capitalised == 0:
        return False
    return any(not t.isupper() for t in tokens if len(t) > 1) or len(tokens) == 1 and len(tokens[0]) <= 4


def _korean_name(text: str) -> bool:
    kiwi = _kiwi()
    if kiwi is None:
        return False
    tags = [tok.tag for tok in kiwi.tokenize(text)]
    if "NNP" not in tags:
        return False
    # nouns, particles, numbers, foreign words and punctuation only: no verb or adjective (a sentence)
    return all(tag.startswith(("NN", "J", "SL", "SN", "SH", "S", "XSN", "XPN", "NR", "MM")) for tag in tags)


@cache
def _kiwi():
    try:
        from kiwipiepy import Kiwi
    except ImportError:  # kiwipiepy is a dependency of mella; an install without it finds no Korean names
        return None
    return Kiwi()
