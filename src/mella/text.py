"""Text hygiene for everything read from the web: no control characters, terminal escapes, bidi overrides
or lone surrogates reach a record (they corrupt terminals and training text, spoof reading order, or
cannot be encoded as UTF-8)."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")  # CSI, OSC, 2-byte
# C0 and C1 controls (tab, newline and carriage return are whitespace), line/paragraph separators,
# bidi embeddings, overrides and isolates (U+202A-E, U+2066-9), lone surrogates
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """``text`` with terminal escapes removed, controls, separators and bidi overrides made spaces, and lone
    surrogates replaced by U+FFFD (which the mojibake check then drops)."""
    if text.isprintable():  # the common case: nothing to do
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = _BAD.sub(" ", text)
    return _SURROGATE.sub("\ufffd", text)
