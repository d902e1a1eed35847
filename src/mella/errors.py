"""The one error shape of the project: a named ``kind`` (the drop or failure reason) plus detail."""

from __future__ import annotations


class NamedError(Exception):
    """An expected failure with a machine-readable name (``kind``) and a human detail."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
