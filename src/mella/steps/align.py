"""``align.score``: image-text similarity of each record's stored image and its native ``text``.

Scores only: ``mella select`` decides with ``min_align_score`` (a record whose native text does not
describe its image can still serve D_ling, so nothing is dropped here).
"""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline

from mella.cache import ContentCache, content_key
from mella.images.store import ImageStore
from mella.steps.base import CountingStep, batches


class AlignmentScorer(CountingStep):
    type = "🔤 - ANNOTATOR"
    name = "🔗 image-text alignment"

    def __init__(self, model: str, store: ImageStore, batch_size: int = 32):
        super().__init__()
        self.model, self.store, self.batch_size = model, store, batch_size

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from mella.models.dual_encoder import DualEncoderAligner

        aligner = DualEncoderAligner(self.model)
        cache = ContentCache("alignment")
        params = aligner.params()
        try:
            for batch in batches(data, self.batch_size):
                yield from self._batch(batch, aligner, cache, params)
        finally:
            self.flush_counts()

    def _image(self, doc: Document) -> bytes | None:
        meta = doc.metadata
        try:
            return self.store.get(meta["img.sha256"], meta.get("img.ext") or "jpg")
        except (OSError, KeyError, TypeError):
            return None

    def _batch(self, batch, aligner, cache, params):
        keys = [content_key("align", params, d.metadata.get("img.sha256"), d.text) for d in batch]
        scores = [cache.get(k) for k in keys]
        todo = [n for n, s in enumerate(scores) if s is None and batch[n].text]
        self.counts["from_cache"] += sum(s is not None for s in scores)
        images = {n: self._image(batch[n]) for n in todo}
        missing = [n for n, data in images.items() if data is None]
        if missing:
            self.counts["failed_align_image_missing"] += len(missing)
        todo = [n for n in todo if images[n] is not None]
        if todo:
            with self.track_time("batch"):
                fresh = aligner.scores([images[n] for n in todo], [batch[n].text for n in todo])
            for n, score in zip(todo, fresh):
                if score is None:
                    self.counts["failed_align_bad_image"] += 1
                    continue
                scores[n] = repr(score)
                cache.put(keys[n], repr(score))
                self.counts["generated"] += 1
        for doc, score in zip(batch, scores):
            doc.metadata["align.score"] = float(score) if score is not None else None
            doc.metadata["align.model"] = params.get("model")
            yield doc
