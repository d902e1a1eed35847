"""Detailed English captions of each record's image by an MLLM backend, batched and cached by content."""

from __future__ import annotations

import base64

from datatrove.data import Document, DocumentsPipeline

from mella.cache import ContentCache, content_key, output_params
from mella.ling.caption_qa import caption_scores
from mella.ling.prompts import caption_prompt
from mella.models import GenerationError, Request, generate_safely, get_generator
from mella.images.store import ImageStore
from mella.steps.base import CountingStep, batches, error_text

MIME = {"jpg": "image/jpeg", "webp": "image/webp", "png": "image/png"}


def data_url(data: bytes, ext: str | None) -> str:
    return f"data:{MIME.get(ext or '', 'image/jpeg')};base64,{base64.b64encode(data).decode('ascii')}"


class Captioner(CountingStep):
    """Adds ``caption.en`` for the record's stored image. A caption that fails after retries leaves the
    record in place with the failure's name in ``caption.error`` (``timeout``, ``http_503``,
    ``empty_output``..., counted ``failed_caption_<kind>``): failures are not cached, so a new run
    asks again."""

    type = "🗣 - CAPTION"
    name = "📝 caption (en)"

    def __init__(self, backend: str, backend_kwargs: dict, store: ImageStore, batch_size: int = 8):
        super().__init__()
        self.backend, self.backend_kwargs, self.batch_size = backend, backend_kwargs, batch_size
        self.store = store

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from mella.models import load_count

        before = load_count()
        generator = get_generator(self.backend, **self.backend_kwargs)
        cache = ContentCache(f"captions-{self.backend}")
        version, prompt = caption_prompt()
        params = generator.params()
        try:
            with self.progress() as bar:
                for batch in batches(data, self.batch_size):
                    bar.update(len(batch))
                    yield from self._batch(batch, generator, cache, params, version, prompt)
        finally:
            # loads this task caused: 0 when every output came from the cache, or this process had loaded
            # the model for an earlier task
            self.counts["model_loads"] += load_count() - before
            self.flush_counts()

    def _batch(self, batch, generator, cache, params, version, prompt):
        keys = [content_key(self.backend, output_params(params), version, prompt, d.metadata.get("img.sha256"))
                for d in batch]
        results: list = [cache.get(k) for k in keys]
        todo = [n for n, r in enumerate(results) if r is None]
        self.counts["from_cache"] += len(batch) - len(todo)
        requests = {n: self._request(batch[n], prompt) for n in todo}
        for n, req in list(requests.items()):
            if isinstance(req, GenerationError):
                results[n] = req
                del requests[n]
        todo = list(requests)
        if todo:
            with self.track_time("batch"):
                outs = generate_safely(generator, [requests[n] for n in todo])
            for n, out in zip(todo, outs):
                results[n] = out
                if isinstance(out, str):
                    cache.put(keys[n], out)
                    self.counts["generated"] += 1
        for doc, out in zip(batch, results):
            if not isinstance(out, str):
                kind = getattr(out, "kind", "error")
                doc.metadata["caption.error"] = error_text(kind, getattr(out, "detail", str(out)))
                self.counts[f"failed_caption_{kind}"] += 1
            else:
                doc.metadata.update({"caption.en": out, "caption.model": params.get("model"),
                                     "caption.prompt_version": version, "caption.error": None})
                for name, value in caption_scores(out).items():
                    if name != "lid_label":
                        doc.metadata[f"caption.qa.{name}"] = value
            yield doc

    def _request(self, doc: Document, prompt: str) -> Request | GenerationError:
        meta = doc.metadata
        ext = meta.get("img.ext") or "jpg"
        try:
            return Request(data_url(self.store.get(meta["img.sha256"], ext), ext), prompt, "en")
        except (OSError, KeyError, TypeError):
            return GenerationError("image_missing", f"{meta.get('img.sha256')}.{ext} not in {self.store.root}")
