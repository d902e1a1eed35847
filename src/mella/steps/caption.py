"""Detailed English captions of each record's image by an MLLM backend, batched and cached by content."""

from __future__ import annotations

import base64

from datatrove.data import Document, DocumentsPipeline

from mella.cache import ContentCache, content_key
from mella.eval.backends import Request, generate_safely, get_generator
from mella.ling.backends import caption_prompt
from mella.steps.base import DroppingStep, batches


def data_url(doc: Document) -> str:
    mime = {"jpg": "image/jpeg", "webp": "image/webp", "png": "image/png"}.get(doc.metadata.get("img.ext"), "image/jpeg")
    return f"data:{mime};base64,{base64.b64encode(doc.media[0].media_bytes).decode('ascii')}"


class Captioner(DroppingStep):
    """Adds ``caption.en``; a record whose caption fails after retries is dropped with the failure's
    name (``caption_timeout``, ``caption_http_503``, ``caption_empty_output``...): it is not cached, so a
    rerun tries it again."""

    type = "🗣 - CAPTION"
    name = "📝 caption (en)"

    def __init__(self, backend: str, backend_kwargs: dict, batch_size: int = 8, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.backend, self.backend_kwargs, self.batch_size = backend, backend_kwargs, batch_size

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        generator = get_generator(self.backend, **self.backend_kwargs)
        cache = ContentCache(f"captions-{self.backend}")
        version, prompt = caption_prompt()
        params = generator.params()
        with self.sink(), self.progress() as bar:
            for batch in batches(data, self.batch_size):
                bar.update(len(batch))
                yield from self._batch(batch, generator, cache, params, version, prompt, rank)

    def _batch(self, batch, generator, cache, params, version, prompt, rank):
        keys = [content_key(self.backend, params, version, prompt, d.metadata.get("img.sha256")) for d in batch]
        results: list = [cache.get(k) for k in keys]
        todo = [n for n, r in enumerate(results) if r is None]
        self.counts["from_cache"] += len(batch) - len(todo)
        if todo:
            with self.track_time("batch"):
                outs = generate_safely(generator, [Request(data_url(batch[n]), prompt, "en") for n in todo])
            for n, out in zip(todo, outs):
                results[n] = out
                if isinstance(out, str):
                    cache.put(keys[n], out)
                    self.counts["generated"] += 1
        for doc, out in zip(batch, results):
            if not isinstance(out, str):
                doc.metadata["caption.error"] = str(out)[:300]
                self.drop(doc, f"caption_{getattr(out, 'kind', 'error')}", rank)
                continue
            doc.metadata.update({"caption.en": out, "caption.model": params.get("model"),
                                 "caption.prompt_version": version})
            yield doc
