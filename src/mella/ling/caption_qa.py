"""Caption QA: scores for each English caption (saved by `mella caption`; `mella select` decides).

A captioner can answer with something that is not a caption: a refusal ("I cannot see the image"), a
decoding loop, a few words, or text in another language. Each is a score here and a named reason there.
"""

from __future__ import annotations

import re
from functools import cache

from mella.ling.qa import repetition

_WORDS = re.compile(r"\w+")


@cache
def refusal_phrases() -> tuple[str, ...]:
    from mella.resources import word_list

    return tuple(sorted(word_list("refusals.txt")))


def is_refusal(caption: str) -> bool:
    head = " ".join(caption[:200].casefold().replace("’", "'").split())
    return any(phrase in head for phrase in refusal_phrases())


def caption_scores(caption: str) -> dict:
    """``english`` (the identifier says English, with English as the prior), ``words``, ``repetition``
    (share of repeated word 3-grams), ``refusal``."""
    from mella.languages import Language
    from mella.lid import identify_as

    english = Language(code="en", name="English", scripts=["Latn"], lid_labels=["en"])
    ok, decision = identify_as(caption, english)
    return {"english": ok, "lid_label": decision.label, "words": len(_WORDS.findall(caption)),
            "repetition": repetition(caption), "refusal": is_refusal(caption)}
