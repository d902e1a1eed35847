"""Get each record's image (from the crawl's WARC when it holds it, else over safe HTTP), validate,
convert and hash it, and put it in the content-addressed image store. Threads overlap the network waits;
Pillow decodes without holding the GIL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from datatrove.data import Document, DocumentsPipeline

from mella.images.net import FetchError, SafeFetcher
from mella.images.store import ImageStore
from mella.images.validate import ImageChecks, ImageRejected, PixelBudget, declared_pixels, process
from mella.images.warcindex import WarcImages
from mella.steps.base import DroppingStep, batches

OPAQUE_TYPES = {"application/octet-stream", "binary/octet-stream", "application/x-www-form-urlencoded"}


class ImageFetcher(DroppingStep):
    """Stores each record's image (``ImageStore``) and adds ``img.*`` metadata (``img.sha256`` names the
    stored file); a record whose image cannot be had is dropped with the named reason (``http_404``,
    ``timeout``, ``too_large``, ``blocked_private_address``, ``corrupt_image``, ``decompression_bomb``,
    ``too_small``, ``not_in_crawl`` when the network is off...) and its error text in ``img.error``."""

    type = "🖼 - FETCH"
    name = "📡 images"

    def __init__(self, fetcher: SafeFetcher | None, checks: ImageChecks, store: ImageStore,
                 warc_images: WarcImages | None = None, concurrency: int = 16, exclusion_writer=None,
                 max_pixels_in_flight: int = 150_000_000):
        """``fetcher`` None: the network is off, only images the crawl holds are taken."""
        super().__init__(exclusion_writer)
        self.fetcher, self.checks, self.warc_images = fetcher, checks, warc_images
        self.store, self.concurrency = store, concurrency
        self.budget = PixelBudget(max_pixels_in_flight)

    def _one(self, doc: Document):
        """(source, Processed | named error) for one record; an unexpected failure is contained too."""
        try:
            return self._get_and_process(doc)
        except Exception as e:  # noqa: BLE001 - one hostile item must cost one record, never the shard
            return "unknown", ImageRejected("fetch_internal_error", f"{type(e).__name__}: {str(e)[:250]}")

    def _get_and_process(self, doc: Document):
        url = doc.media[0].url if doc.media else ""
        variants = (url, *(doc.metadata.get("img.url_alts") or "").split("\n"))
        data = self.warc_images.get(*[v for v in variants if v]) if self.warc_images is not None else None
        source = "warc"
        try:
            if data is None:
                source = "http"
                if self.fetcher is None:
                    raise FetchError("not_in_crawl", "the crawl holds no copy and the network is off")
                fetched = self.fetcher.fetch(url)
                ctype = fetched.content_type.split(";")[0].strip().lower()
                if ctype and not ctype.startswith("image/") and ctype not in OPAQUE_TYPES:
                    raise ImageRejected("wrong_content_type", ctype)
                data = fetched.data
            with self.budget.hold(declared_pixels(data)):
                return source, process(data, self.checks)
        except (FetchError, ImageRejected) as e:
            return source, e

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.sink(), ThreadPoolExecutor(max_workers=self.concurrency) as pool, self.progress("image") as bar:
            for batch in batches(data, self.concurrency * 4):
                yield from self._finish(pool, batch, rank)
                bar.update(len(batch))

    def _finish(self, pool, batch: list[Document], rank: int):
        started = time.perf_counter()
        results = list(pool.map(self._one, batch))  # in input order
        self.stats.time_stats.update(time.perf_counter() - started)
        for doc, (source, result) in zip(batch, results):
            meta = doc.metadata
            meta["img.source"] = source
            if isinstance(result, (FetchError, ImageRejected)):
                meta["img.status"] = result.kind
                meta["img.error"] = str(result)[:300]
                self.drop(doc, result.kind, rank)
                continue
            stored = self.store.put(result.data, result.ext)
            meta.update({"img.status": "ok", "img.ext": result.ext, "img.width": result.width,
                         "img.height": result.height, "img.orig_width": result.orig_width,
                         "img.orig_height": result.orig_height, "img.format": result.orig_format,
                         "img.sha256": stored, "img.orig_sha256": result.sha256, "img.phash": result.phash,
                         "img.bytes": len(result.data)})
            self.counts[f"from_{source}"] += 1
            yield doc
