"""Unicode script of a string: which writing system most of its letters belong to (ISO 15924 codes)."""

from __future__ import annotations

from functools import cache

# (first, last, script). Letters only; digits, punctuation and symbols belong to no script here.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latn"), (0x0061, 0x007A, "Latn"), (0x00C0, 0x00D6, "Latn"), (0x00D8, 0x00F6, "Latn"),
    (0x00F8, 0x024F, "Latn"), (0x1E00, 0x1EFF, "Latn"), (0x2C60, 0x2C7F, "Latn"), (0xA720, 0xA7FF, "Latn"),
    (0x0300, 0x036F, "Zinh"),  # combining marks: inherit the script of their base letter
    (0x0370, 0x03FF, "Grek"), (0x1F00, 0x1FFF, "Grek"),
    (0x0400, 0x052F, "Cyrl"), (0x1C80, 0x1C8F, "Cyrl"), (0x2DE0, 0x2DFF, "Cyrl"), (0xA640, 0xA69F, "Cyrl"),
    (0x0531, 0x058F, "Armn"), (0x0591, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"), (0x0750, 0x077F, "Arab"), (0x08A0, 0x08FF, "Arab"), (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"),
    (0x0780, 0x07BF, "Thaa"), (0x0900, 0x097F, "Deva"), (0x0980, 0x09FF, "Beng"), (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"), (0x0B00, 0x0B7F, "Orya"), (0x0B80, 0x0BFF, "Taml"), (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"), (0x0D00, 0x0D7F, "Mlym"), (0x0D80, 0x0DFF, "Sinh"), (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Laoo"), (0x0F00, 0x0FFF, "Tibt"), (0x1000, 0x109F, "Mymr"), (0x10A0, 0x10FF, "Geor"),
    (0x1100, 0x11FF, "Hang"), (0x1200, 0x139F, "Ethi"), (0x1780, 0x17FF, "Khmr"),
    (0x3040, 0x30FF, "Jpan"), (0x31F0, 0x31FF, "Jpan"), (0xFF66, 0xFF9F, "Jpan"),
    (0x3130, 0x318F, "Hang"), (0xA960, 0xA97F, "Hang"), (0xAC00, 0xD7AF, "Hang"), (0xD7B0, 0xD7FF, "Hang"),
    (0x3400, 0x4DBF, "Hani"), (0x4E00, 0x9FFF, "Hani"), (0xF900, 0xFAFF, "Hani"),
)


class _ScriptTags(dict):
    """str.translate table: letter -> one-character script tag, anything else -> deleted. Filled on first
    sight of each code point (building all 65k entries up front costs ~50 ms of start-up)."""

    def __init__(self):
        super().__init__()
        self.starts = [first for first, _, _ in _RANGES]
        order = sorted(range(len(_RANGES)), key=lambda i: _RANGES[i][0])
        self.ranges = [_RANGES[i] for i in order]
        self.starts = [r[0] for r in self.ranges]
        self.tag_of = {s: chr(0xE000 + i) for i, s in enumerate(sorted({s for _, _, s in _RANGES}))}

    def __missing__(self, cp: int) -> str | None:
        from bisect import bisect_right

        i = bisect_right(self.starts, cp) - 1
        tag = None
        if i >= 0:
            first, last, script = self.ranges[i]
            if cp <= last and (script == "Zinh" or chr(cp).isalpha()):
                tag = self.tag_of[script]
        self[cp] = tag
        return tag


@cache
def _mapping() -> _ScriptTags:
    return _ScriptTags()


@cache
def _tags() -> dict[str, str]:
    return {tag: script for script, tag in _mapping().tag_of.items()}


def script_counts(text: str) -> dict[str, int]:
    """Letters per script in ``text`` (combining marks not counted)."""
    tagged = text.translate(_mapping())
    if not tagged:
        return {}
    names = _tags()
    first = tagged[0]
    if first in names and tagged.count(first) == len(tagged):  # one script: the common case
        return {} if names[first] == "Zinh" else {names[first]: len(tagged)}
    # code points never seen as letters stay untranslated: they belong to no script we track
    counts = {names[t]: tagged.count(t) for t in sorted(set(tagged)) if t in names}
    counts.pop("Zinh", None)
    return counts


def top_script(counts: dict[str, int]) -> str:
    """The script with the most letters; a tie goes to a script other than Latin (``Mnet 에서 Exo``: the
    Latin letters are usually names in a text of the other script), then by name: never by hash order."""
    return max(counts, key=lambda s: (counts[s], s != "Latn", s))


def dominant_script(text: str) -> tuple[str, float]:
    """(script, share of letters in it); ``("Zyyy", 0.0)`` when the text has no letters.

    Japanese kana with Han counts as ``Jpan``; Han alone as ``Hani``.
    """
    counts = script_counts(text)
    if not counts:
        return "Zyyy", 0.0
    total = sum(counts.values())
    if "Jpan" in counts and "Hani" in counts:
        counts["Jpan"] += counts.pop("Hani")
    script = top_script(counts)
    return script, counts[script] / total


def letter_count(text: str) -> int:
    return sum(script_counts(text).values())


def script_of(char: str) -> str | None:
    """The script of one character (None for digits, punctuation, symbols, spaces)."""
    tag = _mapping()[ord(char)]
    return _tags()[tag] if tag else None


_SR_CYRL = dict(zip("абвгдђежзијклљмнњопрстћуфхцчџш", ["a", "b", "v", "g", "d", "đ", "e", "ž", "z", "i", "j", "k",
                                                      "l", "lj", "m", "n", "nj", "o", "p", "r", "s", "t", "ć", "u",
                                                      "f", "h", "c", "č", "dž", "š"]))


def transliterate_sr(text: str) -> str:
    """Serbian Cyrillic to Latin (Serbian's one-to-one mapping; case kept)."""
    out = []
    for c in text:
        low = c.lower()
        if low in _SR_CYRL:
            latin = _SR_CYRL[low]
            out.append(latin.capitalize() if c != low else latin)
        else:
            out.append(c)
    return "".join(out)
