"""Shared helpers for mella steps that drop records outside datatrove's BaseFilter."""

from __future__ import annotations

import contextlib

from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep


def record_lang(meta: dict) -> str:
    """The language a record is counted under: its identified language, else its page's, else "und"."""
    lang = meta.get("lid.lang")
    if lang:
        return lang.removeprefix("ambiguous:")
    page_lang = meta.get("page.lang")
    return page_lang.split("-")[0].lower() if page_lang else "und"


class DroppingStep(PipelineStep):
    """A step that can drop a record with a named reason, counted and sent to the exclusion sink."""

    def __init__(self, exclusion_writer=None):
        super().__init__()
        self.exclusion_writer = exclusion_writer

    def sink(self):
        return self.exclusion_writer if self.exclusion_writer is not None else contextlib.nullcontext()

    def drop(self, doc: Document, reason: str, rank: int) -> None:
        self.stat_update("dropped", f"dropped_{reason}", f"excluded:{record_lang(doc.metadata)}:{reason}")
        if self.exclusion_writer is not None:
            doc.metadata["filter_reason"] = reason
            self.exclusion_writer.write(doc, rank)


class Filter(DroppingStep):
    """datatrove's BaseFilter contract (``filter(doc) -> True | (False, "reason")``, ``dropped_<reason>``
    counters, exclusion writer) without importing ``datatrove.pipeline.filters``, whose ``__init__``
    imports every stock filter (+0.2 s start-up and the ``regex`` package, measured)."""

    type = "🔻 - FILTER"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        raise NotImplementedError

    def run(self, data, rank: int = 0, world_size: int = 1):
        with self.sink():
            for doc in data:
                with self.track_time():
                    result = self.filter(doc)
                if result is True or (not isinstance(result, tuple) and result):
                    self.stat_update("forwarded")
                    yield doc
                else:
                    self.drop(doc, result[1] if isinstance(result, tuple) else "filtered", rank)
