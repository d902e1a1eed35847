"""Machine translation of the English captions (cached by content), translation QA scores, and the
QA decision with thresholds from config."""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline

from mella.cache import ContentCache, content_key
from mella.languages import Language
from mella.ling.backends import TranslationError, get_translator
from mella.ling.qa import qa_scores, semantic_similarity
from mella.steps.base import DroppingStep, Filter


class Translator(DroppingStep):
    """Adds ``mt.lang``, ``mt.text``, ``mt.model`` and ``mt.qa.*`` scores. Target: the record's own
    language (that of its native alt-text), or each of ``targets`` (one record per language)."""

    type = "🗣 - TRANSLATE"
    name = "🌍 translate"

    def __init__(self, backend: str, backend_kwargs: dict, languages: dict[str, Language],
                 targets: list[str] | None = None, batch_size: int = 16, similarity: bool = True,
                 exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.backend, self.backend_kwargs, self.languages = backend, backend_kwargs, languages
        self.targets, self.batch_size, self.similarity = targets, batch_size, similarity

    def _expand(self, data, rank: int):
        for doc in data:
            targets = self.targets or [doc.metadata.get("lid.lang")]
            for lang in targets:
                if lang not in self.languages:
                    self.drop(doc, "mt_no_target_language", rank)
                    continue
                copy = Document(text=doc.text, id=doc.id if not self.targets else f"{doc.id}-{lang}",
                                media=doc.media, metadata=dict(doc.metadata))
                copy.metadata["mt.lang"] = lang
                yield copy

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        translator = get_translator(self.backend, **self.backend_kwargs)
        cache = ContentCache(f"translations-{self.backend}")
        params = translator.params()
        with self.sink(), self.progress() as bar:
            by_lang: dict[str, list[Document]] = {}
            for doc in self._expand(data, rank):
                bucket = by_lang.setdefault(doc.metadata["mt.lang"], [])
                bucket.append(doc)
                if len(bucket) >= self.batch_size:
                    bar.update(len(bucket))
                    yield from self._batch(bucket, translator, cache, params, rank)
                    by_lang[doc.metadata["mt.lang"]] = []
            for bucket in by_lang.values():
                if bucket:
                    yield from self._batch(bucket, translator, cache, params, rank)

    def _batch(self, batch: list[Document], translator, cache, params, rank):
        lang = self.languages[batch[0].metadata["mt.lang"]]
        code, name = lang.mt_code or lang.code, lang.name
        sources = [d.metadata["caption.en"] for d in batch]
        keys = [content_key(self.backend, params, code, s) for s in sources]
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
        sims = semantic_similarity([sources[n] for n in ok], [results[n] for n in ok]) if self.similarity and ok else []
        sim_of = dict(zip(ok, sims))
        for n, (doc, out) in enumerate(zip(batch, results)):
            if not isinstance(out, str):
                doc.metadata["mt.error"] = str(out)[:300]
                self.drop(doc, f"mt_{getattr(out, 'kind', 'error')}", rank)
                continue
            meta = doc.metadata
            meta["mt.text"], meta["mt.model"] = out, params.get("model")
            script = lang.scripts[0]
            for key, value in qa_scores(sources[n], out, lang.code, script).items():
                meta[f"mt.qa.{key}"] = value
            meta["mt.qa.similarity"] = sim_of.get(n)
            yield doc


class TranslationQAFilter(Filter):
    """Drops translations whose QA scores fail a threshold; the first failing check is the reason."""

    name = "✅ translation QA"

    def __init__(self, languages: dict[str, Language], min_length_ratio: float = 0.5,
                 max_length_ratio: float = 2.5, min_numbers_preserved: float = 1.0, max_copy_ratio: float = 0.5,
                 max_repetition: float = 0.3, min_similarity: float = 0.8, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.languages = languages
        self.min_length_ratio, self.max_length_ratio = min_length_ratio, max_length_ratio
        self.min_numbers_preserved, self.max_copy_ratio = min_numbers_preserved, max_copy_ratio
        self.max_repetition, self.min_similarity = max_repetition, min_similarity

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        lang = self.languages[meta["mt.lang"]]
        script, label = meta.get("mt.qa.script"), meta.get("mt.qa.lid_label")
        accepted = set(lang.lid_labels) | set(lang.confusable.get(script, []))
        if script not in lang.scripts or label not in accepted:
            return False, "mt_wrong_language"
        if not self.min_length_ratio <= meta.get("mt.qa.length_ratio", 0) <= self.max_length_ratio:
            return False, "mt_length_ratio"
        if meta.get("mt.qa.numbers_preserved", 1) < self.min_numbers_preserved:
            return False, "mt_numbers_lost"
        if meta.get("mt.qa.copy_ratio", 0) > self.max_copy_ratio:
            return False, "mt_untranslated"
        if meta.get("mt.qa.repetition", 0) > self.max_repetition:
            return False, "mt_repetition"
        sim = meta.get("mt.qa.similarity")
        if sim is not None and sim < self.min_similarity:
            return False, "mt_low_similarity"
        return True
