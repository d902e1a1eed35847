"""``align.score``: image-text similarity of each record's stored image and its native ``text``; and
``caption.align_score`` of the image and its English caption, where the record has one.

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

        from mella.models import load_count

        before = load_count()
        aligner = DualEncoderAligner(self.model)
        cache = ContentCache("alignment")
        params = aligner.params()
        try:
            for batch in batches(data, self.batch_size):
                yield from self._batch(batch, aligner, cache, params)
        finally:
            # loads this task caused: 0 when every output came from the cache, or this process had loaded
            # the model for an earlier task
            self.counts["model_loads"] += load_count() - before
            self.flush_counts()

    def _image(self, doc: Document) -> bytes | None:
        meta = doc.metadata
        try:
            return self.store.get(meta["img.sha256"], meta.get("img.ext") or "jpg")
        except (OSError, KeyError, TypeError):
            return None

    def _scores(self, batch, texts, aligner, cache, params, count_missing: bool = True) -> list[float | None]:
        keys = [content_key("align", params, d.metadata.get("img.sha256"), t) for d, t in zip(batch, texts)]
        scores = [cache.get(k) if t else None for k, t in zip(keys, texts)]
        todo = [n for n, s in enumerate(scores) if s is None and texts[n]]
        self.counts["from_cache"] += sum(s is not None for s in scores)
        images = {n: self._image(batch[n]) for n in todo}
        missing = [n for n, data in images.items() if data is None]
        if missing and count_missing:
            self.counts["failed_align_image_missing"] += len(missing)
        todo = [n for n in todo if images[n] is not None]
        if todo:
            with self.track_time("batch"):
                fresh = aligner.scores([images[n] for n in todo], [texts[n] for n in todo])
            for n, score in zip(todo, fresh):
                if score is None:
                    self.counts["failed_align_bad_image"] += count_missing  # counted once per record
                    continue
                scores[n] = repr(score)
                cache.put(keys[n], repr(score))
                self.counts["generated"] += 1
        return [float(s) if s is not None else None for s in scores]

    def _batch(self, batch, aligner, cache, params):
        native = self._scores(batch, [d.text for d in batch], aligner, cache, params)
        # the English caption too, where there is one: caption QA's image-text check
        captions = [d.metadata.get("caption.en") or "" for d in batch]
        caption = (self._scores(batch, captions, aligner, cache, params, count_missing=False) if any(captions)
                   else [None] * len(batch))
        for doc, score, cap in zip(batch, native, caption):
            doc.metadata["align.score"] = score
            doc.metadata["align.model"] = params.get("model")
            if captions and doc.metadata.get("caption.en"):
                doc.metadata["caption.align_score"] = cap
            yield doc
