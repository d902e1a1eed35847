"""Shared helpers for mella steps that drop records outside datatrove's BaseFilter."""

from __future__ import annotations

import contextlib
from collections import Counter

from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep


def record_lang(meta: dict) -> str:
    """The language a record is counted under: its identified language, else its page's, else "und"."""
    lang = meta.get("lid.lang")
    if lang:
        return lang.removeprefix("ambiguous:")
    page_lang = meta.get("page.lang")
    return page_lang.split("-")[0].lower() if page_lang else "und"


def error_text(kind: str, detail: str = "") -> str:
    """A failure as stored in an ``*_error`` column: its name, then the detail (``http_503: Service ...``)."""
    return f"{kind}: {detail}"[:300] if detail else kind


def error_kind(error: str) -> str:
    return error.split(":", 1)[0]


class CountingStep(PipelineStep):
    """A step with plain counters (``self.counts``), cheaper than a stat_update per document; they move
    into datatrove's stats once, by ``flush_counts``."""

    def __init__(self):
        super().__init__()
        self.counts: Counter = Counter()

    def flush_counts(self) -> None:
        for label, n in self.counts.items():
            self.stat_update(label, value=n)
        self.counts.clear()

    def progress(self, unit: str = "item"):
        """A progress bar on an interactive terminal (none in logs and CI)."""
        import sys

        from tqdm import tqdm

        return tqdm(desc=self.name, unit=unit, disable=not sys.stderr.isatty(), leave=False)


class DroppingStep(CountingStep):
    """A step that can drop a record with a named reason, counted and sent to the exclusion sink."""

    def __init__(self, exclusion_writer=None):
        super().__init__()
        self.exclusion_writer = exclusion_writer

    @contextlib.contextmanager
    def sink(self):
        """Enter the exclusion sink (shared by steps) and move counters into the stats at the end."""
        try:
            if self.exclusion_writer is not None:
                with self.exclusion_writer:
                    yield
            else:
                yield
        finally:
            self.flush_counts()

    def drop(self, doc: Document, reason: str, rank: int) -> None:
        counts = self.counts
        counts["dropped"] += 1
        counts[f"dropped_{reason}"] += 1
        counts[f"excluded:{record_lang(doc.metadata)}:{reason}"] += 1
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

    batch_size: int = 1

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """Override to decide a whole batch at once (results in order, as if one by one)."""
        return [self.filter(doc) for doc in batch]

    def run(self, data, rank: int = 0, world_size: int = 1):
        with self.sink():
            for batch in batches(data, self.batch_size):
                with self.track_time("batch" if self.batch_size > 1 else None):
                    results = self.filter_batch(batch) if self.batch_size > 1 else [self.filter(batch[0])]
                for doc, result in zip(batch, results):
                    if result is True or (not isinstance(result, tuple) and result):
                        self.counts["forwarded"] += 1
                        yield doc
                    else:
                        self.drop(doc, result[1] if isinstance(result, tuple) else "filtered", rank)


def batches(data, size: int):
    """Lists of up to ``size`` documents, in order."""
    batch: list[Document] = []
    for doc in data:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
