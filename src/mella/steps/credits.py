"""Photo credits and bylines split off the text into ``credit``: "Уэйн Руни, Getty Images" -> text
"Уэйн Руни" + credit "Getty Images"; "[사진 = 한수진 기자]" leaves a Korean caption. A text that is only a
credit ("Getty Images", "Фото из Инстаграма Лукаша Подольски") is dropped as ``credit_only``: it says
who took the picture, not what is on it. Patterns are data: ``mella/data/credits.yaml``.
"""

from __future__ import annotations

import re
from functools import cache

from datatrove.data import Document, DocumentsPipeline

from mella.steps.base import DroppingStep

_SEPARATORS = re.compile(r"\s*(?:,|،|\||\s[/–—-]\s|\s·\s)\s*")  # "،": the Arabic comma
_BRACKETED = re.compile(r"[\[(（【]([^\[\]()（）【】]{1,120})[\])）】]")
_WEB = re.compile(r"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,12}(?:/\S*)?$", re.I)
_COPYRIGHT = re.compile(r"^(?:©|ⓒ|\(c\)|copyright\b)", re.I)
_STRIP = " \t,،|/–—-·:;"


@cache
def _patterns() -> tuple[frozenset[str], re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    import yaml

    from mella.resources import data_text

    raw = yaml.safe_load(data_text("credits.yaml"))
    agencies = frozenset(a.casefold() for a in raw["agencies"])

    def alternation(words):
        return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))

    labels = alternation(raw["labels"])
    label_colon = re.compile(rf"^(?:{labels})\s*[:=]\s*\S", re.I)
    label_space = re.compile(rf"^(?:{labels})\s+(\S)", re.I)
    source = re.compile(rf"^(?:{alternation(raw['source_labels'])})\s+\S", re.I)
    byline = re.compile(rf"^\S{{1,12}}(?:\s\S{{1,12}})?\s?(?:{alternation(raw['bylines'])})$")
    return agencies, label_colon, label_space, source, byline


def is_credit(segment: str, trailing: bool = False) -> bool:
    """Is this piece of text a credit? ``trailing``: it is the last segment after a separator, where a
    label followed by a space is enough ("…, фото Шахтер")."""
    seg = segment.strip(_STRIP + ".")
    if not seg:
        return False
    agencies, label_colon, label_space, source, byline = _patterns()
    folded = seg.casefold()
    if folded in agencies or _COPYRIGHT.match(seg) or byline.match(seg):
        return True
    if _WEB.match(seg) and "." in seg:
        return True
    if label_colon.match(seg) or source.match(seg):
        return True
    spaced = label_space.match(seg) if trailing else None
    if spaced and spaced.group(1).isupper():  # a named source: "фото Шахтер", not "ảnh b"
        return True
    # "Reuters/Pool", "Getty Images via AFP", "MTI/Koszticsák Szilárd": an agency, then a short suffix
    for sep in ("/", " / ", " via "):
        head, found, tail = folded.partition(sep)
        short = sep == "/" and len(tail.split()) <= 2 and len(tail) <= 30  # MTI/Photographer Name
        if found and head in agencies and (tail in agencies or short):
            return True
    return False


def split_credit(text: str) -> tuple[str, str | None]:
    """(text without its credits, the credits joined by "; " or None)."""
    if is_credit(text):
        return "", text.strip()
    credits: list[str] = []

    def bracket(m: re.Match) -> str:
        if is_credit(m.group(1)):
            credits.append(m.group(1).strip())
            return " "
        return m.group(0)

    rest = _BRACKETED.sub(bracket, text) if any(c in text for c in "[(（【") else text
    # trailing segments: "Name, Getty Images", "Caption | Reuters", "캡션... 연합뉴스"
    while True:
        parts = _SEPARATORS.split(rest)
        if len(parts) > 1 and is_credit(parts[-1], trailing=True):
            credits.insert(0, parts[-1].strip(_STRIP))
            rest = rest[: rest.rfind(parts[-1])].rstrip(_STRIP)
            continue
        head, dot, tail = rest.rstrip().rpartition(". ")  # a Korean or Vietnamese caption's final credit
        if dot and tail and len(tail) <= 30 and is_credit(tail):
            credits.insert(0, tail.strip())
            rest = head + "."
            continue
        head, space, tail = rest.rstrip().rpartition(" ")
        if space and tail and tail.casefold() in _patterns()[0] and not tail.isascii():
            credits.insert(0, tail)  # "...있다 연합뉴스": a non-Latin agency name ends the caption
            rest = head
            continue
        break
    # leading: "Getty Images / Name", "Фото: Reuters. Caption"
    parts = _SEPARATORS.split(rest, maxsplit=1)
    if len(parts) == 2 and is_credit(parts[0]) and not is_credit(parts[1]):
        credits.append(parts[0].strip(_STRIP))
        rest = parts[1]
    rest = " ".join(rest.split()).strip(_STRIP)
    if not credits:
        return text, None
    if is_credit(rest):
        credits.append(rest)
        rest = ""
    return rest, "; ".join(c for c in credits if c) or None


class CreditSplitter(DroppingStep):
    """Moves credits from ``text`` to ``credit``; drops ``credit_only`` records."""

    type = "✂️ - SPLITTER"
    name = "©️ credits"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.sink():
            for doc in data:
                with self.track_time():
                    text, credit = split_credit(doc.text)
                if credit is not None:
                    doc.metadata["text.credit"] = credit
                    self.counts["credits_split"] += 1
                    if not text:
                        self.drop(doc, "credit_only", rank)
                        continue
                    doc.text = text
                yield doc
