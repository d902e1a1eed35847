"""``align.score``: image-text similarity of each record (alt-text, or caption translation when present)."""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline

from mella.cache import ContentCache, content_key
from mella.steps.base import DroppingStep, Filter, batches


class AlignmentScorer(DroppingStep):
    type = "🔤 - ANNOTATOR"
    name = "🔗 image-text alignment"

    def __init__(self, model: str, batch_size: int = 32, text_key: str | None = None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.model, self.batch_size, self.text_key = model, batch_size, text_key

    def _text(self, doc: Document) -> str:
        return doc.metadata.get(self.text_key) if self.text_key else doc.text

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from mella.ling.align import DualEncoderAligner

        aligner = DualEncoderAligner(self.model)
        cache = ContentCache("alignment")
        params = aligner.params()
        with self.sink(), self.progress() as bar:
            for batch in batches(data, self.batch_size):
                bar.update(len(batch))
                yield from self._batch(batch, aligner, cache, params)

    def _batch(self, batch, aligner, cache, params):
        keys = [content_key("align", params, d.metadata.get("img.sha256"), self._text(d)) for d in batch]
        scores = [cache.get(k) for k in keys]
        todo = [n for n, s in enumerate(scores) if s is None]
        self.counts["from_cache"] += len(batch) - len(todo)
        if todo:
            with self.track_time("batch"):
                fresh = aligner.scores([batch[n].media[0].media_bytes for n in todo], [self._text(batch[n]) for n in todo])
            for n, score in zip(todo, fresh):
                scores[n] = repr(score)
                cache.put(keys[n], repr(score))
            self.counts["generated"] += len(todo)
        for doc, score in zip(batch, scores):
            doc.metadata["align.score"] = float(score)
            yield doc


class AlignmentFilter(Filter):
    name = "🔗 alignment filter"

    def __init__(self, min_score: float, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.min_score = min_score

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return True if doc.metadata.get("align.score", 1.0) >= self.min_score else (False, "low_alignment")
