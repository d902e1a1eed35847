"""Machine translation of the English captions (cached by content) and translation QA scores. The QA
decision (thresholds) is ``mella.steps.select.qa_reason``: scores are saved, decided later."""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline

from mella.cache import ContentCache, content_key, output_params
from mella.languages import Language
from mella.models import get_translator
from mella.models.translators import TranslationError
from mella.ling.qa import qa_scores, semantic_similarity
from mella.steps.base import CountingStep, error_text


class Translator(CountingStep):
    """Adds ``mt.lang``, ``mt.text``, ``mt.model`` and ``mt.qa.*`` scores. Target: the record's own
    language (that of its native alt-text), or each of ``targets`` (one record per language, id
    ``<id>-<lang>``). A record whose caption cannot be translated keeps its row, with the named failure in
    ``mt.error`` (counted ``failed_mt_<kind>``): its D_know side is still good."""

    type = "🗣 - TRANSLATE"
    name = "🌍 translate"

    def __init__(self, backend: str, backend_kwargs: dict, languages: dict[str, Language],
                 targets: list[str] | None = None, batch_size: int = 16, similarity: bool = True,
                 max_source_chars: int = 5000):
        super().__init__()
        self.max_source_chars = max_source_chars
        self.backend, self.backend_kwargs, self.languages = backend, backend_kwargs, languages
        self.targets, self.batch_size, self.similarity = targets, batch_size, similarity

    def _expand(self, data):
        """(record, to translate?) per target language."""
        for doc in data:
            targets = self.targets or [doc.metadata.get("lid.lang")]
            for lang in targets:
                copy = Document(text=doc.text, id=doc.id if not self.targets else f"{doc.id}-{lang}",
                                media=doc.media, metadata=dict(doc.metadata))
                meta = copy.metadata
                meta["mt.lang"] = lang
                if lang not in self.languages:
                    self._fail(copy, "no_target_language", f"{lang!r} is not in the language table")
                elif not meta.get("caption.en"):
                    self._fail(copy, "no_caption", meta.get("caption.error") or "")
                elif len(meta["caption.en"]) > self.max_source_chars:
                    self._fail(copy, "source_too_long", f"{len(meta['caption.en'])} > {self.max_source_chars} chars")
                else:
                    yield copy, True
                    continue
                yield copy, False

    def _fail(self, doc: Document, kind: str, detail: str) -> None:
        doc.metadata["mt.error"] = error_text(kind, detail)
        self.counts[f"failed_mt_{kind}"] += 1

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from mella.models import load_count

        before = load_count()
        translator = get_translator(self.backend, **self.backend_kwargs)
        cache = ContentCache(f"translations-{self.backend}")
        params = translator.params()
        by_lang: dict[str, list[Document]] = {}
        try:
            with self.progress() as bar:
                for doc, todo in self._expand(data):
                    if not todo:
                        yield doc
                        continue
                    bucket = by_lang.setdefault(doc.metadata["mt.lang"], [])
                    bucket.append(doc)
                    if len(bucket) >= self.batch_size:
                        bar.update(len(bucket))
                        yield from self._batch(bucket, translator, cache, params)
                        by_lang[doc.metadata["mt.lang"]] = []
                for bucket in by_lang.values():
                    if bucket:
                        yield from self._batch(bucket, translator, cache, params)
        finally:
            # loads this task caused: 0 when every output came from the cache, or this process had loaded
            # the model for an earlier task
            self.counts["model_loads"] += load_count() - before
            self.flush_counts()

    def _batch(self, batch: list[Document], translator, cache, params):
        lang = self.languages[batch[0].metadata["mt.lang"]]
        code, name = lang.mt_code or lang.code, lang.name
        sources = [d.metadata["caption.en"] for d in batch]
        keys = [content_key(self.backend, output_params(params), code, s) for s in sources]
        results: list = [cache.get(k) for k in keys]
        todo = [n for n, r in enumerate(results) if r is None]
        self.counts["from_cache"] += len(batch) - len(todo)
        if todo:
            with self.track_time("batch"):
                try:
                    outs = translator.translate([sources[n] for n in todo], code, name)
                except TranslationError as e:
                    outs = [e] * len(todo)
            for n, out in zip(todo, outs):
                results[n] = out
                if isinstance(out, str):
                    cache.put(keys[n], out)
                    self.counts["generated"] += 1
        ok = [n for n, r in enumerate(results) if isinstance(r, str)]
        sims = (semantic_similarity([sources[n] for n in ok], [results[n] for n in ok], lang.code)
                if self.similarity and ok else [])
        sim_of = dict(zip(ok, sims))
        for n, (doc, out) in enumerate(zip(batch, results)):
            if not isinstance(out, str):
                self._fail(doc, getattr(out, "kind", "error"), getattr(out, "detail", str(out)))
                yield doc
                continue
            meta = doc.metadata
            meta["mt.text"], meta["mt.model"] = out, params.get("model")
            script = lang.scripts[0]
            for key, value in qa_scores(sources[n], out, lang.code, script).items():
                meta[f"mt.qa.{key}"] = value
            meta["mt.qa.similarity"] = sim_of.get(n)
            yield doc
