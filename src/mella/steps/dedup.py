"""Deduplication of image-text records, keeping the first occurrence.

Exact: same image URL and same (case-folded) alt-text, kept in an exact set of 64-bit keys (8 bytes per
record). Near: MinHash over character shingles of the normalised alt-text with LSH banding (as datatrove's
MinhashDedup does), but in one streaming pass: band keys go into a scalable Bloom filter, which grows
with the input and keeps its false-positive rate (a fixed-size one silently dropped most unique records
past its capacity: 0.33 false positives at 5x, 0.94 at 10x). datatrove's minhash runs four disk stages,
which costs more than the work on short alt-texts.

Both decide a batch at a time (one Bloom lookup per batch); within a batch, earlier records win, so the
result is the same as one by one.
"""

from __future__ import annotations

import re

import numpy as np
import xxhash
from datatrove.data import Document

from mella.bloom import KeySet, ScalableBloom
from mella.steps.alt_quality import normalise
from mella.steps.base import CountingStep, Filter

_MERSENNE = np.uint64((1 << 61) - 1)
# numbers that name things: 3+ digits (years) or digits joined to letters (KV46, 2018년); a bare "(2)" after a
# gallery's repeated caption is a counter, and leaves such captions near duplicates
_NUMBER = re.compile(r"\d{3,}|(?<=[^\W\d_])\d+|\d+(?=[^\W\d_])")


class _BloomDedup(Filter):
    reason = "dup"

    def __init__(self, capacity: int, fp_rate: float, batch_size: int, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.capacity, self.fp_rate, self.batch_size = capacity, fp_rate, batch_size
        self._bloom: Bloom | None = None

    def keys(self, doc: Document) -> list[int]:
        raise NotImplementedError

    def exempt(self, doc: Document) -> bool:
        """A record this filter lets through without a lookup (kept, its keys not added)."""
        return False

    def bloom_capacity(self) -> int:
        return self.capacity

    def new_set(self):
        """The set of seen keys: a Bloom filter that grows with the input (never one that degrades)."""
        return ScalableBloom(self.bloom_capacity(), self.fp_rate)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        if self._bloom is None:
            self._bloom = self.new_set()
        per_doc = [[] if self.exempt(doc) else self.keys(doc) for doc in batch]
        flat = np.array([k for keys in per_doc for k in keys], dtype=np.uint64)
        before = self._bloom.contains_many(flat).tolist() if len(flat) else []
        results: list[bool | tuple[bool, str]] = []
        seen: set[int] = set()
        i = 0
        for keys in per_doc:
            dup = any(before[i : i + len(keys)]) or any(k in seen for k in keys)
            i += len(keys)
            seen.update(keys)  # a dropped record's keys count too, as they do across batches
            results.append((False, self.reason) if dup else True)
        if len(flat):
            self._bloom.add_many(flat)
        return results


class ExactDedupFilter(_BloomDedup):
    """Drops a record whose (image URL, alt-text) pair was seen before (dup_exact)."""

    name = "🫂 exact dedup"
    reason = "dup_exact"

    def __init__(self, capacity: int = 1_000_000, fp_rate: float = 1e-6, batch_size: int = 256,
                 exclusion_writer=None):
        super().__init__(capacity, fp_rate, batch_size, exclusion_writer)

    def new_set(self):
        """Exact: a set of 64-bit keys (8 bytes per record), not a filter with false positives."""
        return KeySet()

    def keys(self, doc: Document) -> list[int]:
        url = doc.media[0].url if doc.media else ""
        return [xxhash.xxh3_64_intdigest(f"{url}\x00{doc.text.casefold()}".encode())]


class NearDupFilter(_BloomDedup):
    """Drops a record whose alt-text is a near duplicate of an earlier one (dup_near)."""

    name = "🫂 near-dup alt-text"
    reason = "dup_near"

    def __init__(self, shingle_chars: int = 5, bands: int = 14, rows: int = 8, capacity: int = 1_000_000,
                 fp_rate: float = 1e-6, seed: int = 1, batch_size: int = 256, exclusion_writer=None,
                 min_chars: int = 30):
        super().__init__(capacity, fp_rate, batch_size, exclusion_writer)
        self.shingle_chars, self.bands, self.rows = shingle_chars, bands, rows
        self.min_chars = min_chars
        self._gallery_page: str | None = None
        self._gallery_texts: set[str] = set()
        n = bands * rows
        # universal hashing (a*h + b) mod a Mersenne prime, on 32-bit shingle hashes (products may wrap
        # mod 2**64: still a fixed hash family, which is all MinHash needs); parameters from the seed
        params = [xxhash.xxh64_intdigest(f"{seed}:{i}".encode()) for i in range(2 * n)]
        self._a = np.array([p % ((1 << 32) - 2) + 1 for p in params[:n]], dtype=np.uint64)
        self._b = np.array([p % ((1 << 61) - 1) for p in params[n:]], dtype=np.uint64)
        self._band_ids = np.arange(bands, dtype=np.uint64) << np.uint64(56)

    def bloom_capacity(self) -> int:
        return self.capacity * self.bands

    def signature(self, text: str, bands: list[int] | None = None) -> np.ndarray:
        """MinHash signature (bands*rows uint64, or len(bands)*rows for the given bands only) of the
        normalised text's character shingles."""
        norm = normalise(text)
        k = self.shingle_chars
        shingles = {norm[i : i + k] for i in range(max(1, len(norm) - k + 1))}
        hashes = np.fromiter((xxhash.xxh32_intdigest(s.encode()) for s in shingles), dtype=np.uint64,
                             count=len(shingles))
        a, b = self._a, self._b
        if bands is not None:
            cols = np.concatenate([np.arange(n * self.rows, (n + 1) * self.rows) for n in bands])
            a, b = a[cols], b[cols]
        return ((hashes[:, None] * a[None, :] + b[None, :]) % _MERSENNE).min(axis=0)

    def exempt(self, doc: Document) -> bool:
        """Texts shorter than ``min_chars`` (normalised): on a name or a two-word label, 5-character
        shingles make different texts near duplicates ("Сборная Украины" / "Сборная Украины U-21"); exact
        dedup covers their repeats. And the second and later photos of a gallery carrying one caption
        (``alt.gallery``): their text is the first photo's, on other pictures of the same page."""
        meta = doc.metadata
        if len(normalise(doc.text)) < self.min_chars:
            self.counts["short_not_near_deduped"] += 1
            return True
        if not meta.get("alt.gallery"):
            return False
        page = meta.get("page.url")
        if page != self._gallery_page:
            self._gallery_page, self._gallery_texts = page, set()
        text = normalise(doc.text)
        if text in self._gallery_texts:
            self.counts["gallery_repeats_kept"] += 1
            return True
        self._gallery_texts.add(text)
        return False

    def keys(self, doc: Document, bands: list[int] | None = None) -> list[int]:
        """One key per band (all, or ``bands``); the text's numbers (``_NUMBER``) go into every key, so texts
        that differ in a number never match ("Hình ảnh của KV46" and "KV13" are two tombs, "mùa đông 2017"
        and "2019" two winters)."""
        which = list(range(self.bands)) if bands is None else bands
        sig = self.signature(doc.text, bands).reshape(len(which), self.rows)
        mask = (1 << 56) - 1
        numbers = " ".join(_NUMBER.findall(doc.text)).encode()
        return [(xxhash.xxh3_64_intdigest(row.tobytes() + numbers) & mask) | (n << 56) for n, row in zip(which, sig)]


class NearDupBands(CountingStep):
    """Near dedup partitioned by band, for runs past one machine: task ``rank`` of ``world_size`` reads every
    record of ``folder`` in order and decides, for its bands only (band n goes to task n % world_size), which
    records share a band key with an earlier record; it writes their positions to ``flags/<rank>.npy``.
    A record is a near duplicate when any task flags it (``NearDupApply``): the same decision as
    ``NearDupFilter`` in one task (a record whose band key any earlier record had, exempt ones aside), with
    the keys of one band group in memory per task (an exact set, 8 bytes per record and band)."""

    type = "🫂 - DEDUP"
    name = "🫂 near-dup bands"

    def __init__(self, folder, prefix: str, flags, near: dict, batch_rows: int = 8192):
        super().__init__()
        self.folder, self.prefix, self.flags, self.near, self.batch_rows = folder, prefix, flags, near, batch_rows

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from pathlib import Path

        from mella.steps.staged import StagedParquetReader

        if data:
            yield from data
        f = NearDupFilter(**self.near)
        mine = [n for n in range(f.bands) if n % world_size == rank]
        sets = {n: KeySet() for n in mine}
        flagged: list[int] = []
        reader = StagedParquetReader(self.folder, self.prefix, batch_rows=self.batch_rows)
        batch: list[tuple[int, list[int]]] = []

        def decide() -> None:
            for n_band, band in enumerate(mine):
                keys = np.array([keys[n_band] for _, keys in batch], dtype=np.uint64)
                before = sets[band].contains_many(keys)
                _, first = np.unique(keys, return_index=True)
                repeat = np.ones(len(keys), dtype=bool)
                repeat[first] = False  # a key an earlier record of this batch had
                for (index, _), dup in zip(batch, (before | repeat).tolist()):
                    if dup:
                        flagged.append(index)
                sets[band].add_many(keys)
            batch.clear()

        if mine:
            for index, doc in enumerate(reader.run(None, 0, 1)):
                if f.exempt(doc):
                    continue
                batch.append((index, f.keys(doc, mine)))
                if len(batch) >= self.batch_rows:
                    decide()
            decide()
        self.counts["flagged_in_these_bands"] += len(set(flagged))  # a record may be flagged in several tasks
        self.flush_counts()
        out = Path(self.flags)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{rank:05d}.tmp.npy"
        np.save(tmp, np.unique(np.array(flagged, dtype=np.int64)))
        tmp.replace(out / f"{rank:05d}.npy")


class NearDupApply(Filter):
    """Drops the records that any ``NearDupBands`` task flagged (dup_near), by their position in the
    same folder's order."""

    name = "🫂 near-dup alt-text"
    reason = "dup_near"

    def __init__(self, flags, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.flags = flags
        self._dups: set[int] | None = None
        self._index = 0

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self._dups is None:
            from pathlib import Path

            parts = [np.load(p) for p in sorted(Path(self.flags).glob("*.npy"))]
            self._dups = set(np.concatenate(parts).tolist()) if parts else set()
        index, self._index = self._index, self._index + 1
        return (False, self.reason) if index in self._dups else True


def placeholder_urls(folder, prefix: str, min_texts: int, any_texts: int = 10, batch_rows: int = 65_536) -> np.ndarray:
    """64-bit hashes (sorted) of the (image URL, language) pairs whose picture is a placeholder across a
    folder's record shards: one picture under ``any_texts`` or more different texts, or under ``min_texts``
    or more that fill one template with each page's own subject ("خريطة تبين موقع بلدية فيجيو" on the
    article فيجيو, "… بيزانو" on بيزانو: a locator map, which shows none of them). A photo reused by a few
    articles under different captions ("Messi and Ronaldo in 2011", "Ronaldo, Messi") is kept. Texts are
    counted per language: one photo captioned in several languages is one description, translated.
    Counting costs 16 bytes per record (three columns read at a time); only the candidates' texts are kept."""
    from pathlib import Path

    import pyarrow.parquet as pq

    files = sorted(Path(folder).glob(f"{prefix}-*.parquet"))
    if not files or min_texts < 1:
        return np.empty(0, np.uint64)

    def batches(columns):
        for path in files:
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)

    def url_keys(urls, langs):
        return np.fromiter((xxhash.xxh3_64_intdigest(f"{x or ''}\x00{y or ''}".encode()) for x, y in zip(urls, langs)),
                           np.uint64, len(urls))

    keys, texts = [], []
    for batch in batches(["image_url", "text", "lang"]):
        u, t, lang = (batch.column(i).to_pylist() for i in range(3))
        keys.append(url_keys(u, lang))
        texts.append(np.fromiter((xxhash.xxh3_64_intdigest(normalise(x or "").encode()) for x in t), np.uint64, len(t)))
    pairs = np.unique(np.stack([np.concatenate(keys), np.concatenate(texts)], axis=1), axis=0)
    ids, counts = np.unique(pairs[:, 0], return_counts=True)
    certain = set(ids[counts >= any_texts].tolist()) if any_texts else set()
    candidates = set(ids[counts >= min_texts].tolist()) - certain
    if not candidates:
        return np.array(sorted(certain), np.uint64)
    from mella.names import page_title

    groups: dict[int, dict[str, str]] = {}
    for batch in batches(["image_url", "text", "lang", "page_url", "page_title"]):
        u, t, lang, page, title = (batch.column(i).to_pylist() for i in range(5))
        for key, text, url, name in zip(url_keys(u, lang).tolist(), t, page, title):
            if key in candidates:
                groups.setdefault(key, {}).setdefault(normalise(text or ""), normalise(
                    page_title({"page.title": name, "page.url": url})))
    certain |= {key for key, group in groups.items() if _fills_a_template(group)}
    return np.array(sorted(certain), np.uint64)


def _fills_a_template(group: dict[str, str]) -> bool:
    """``group``: normalised text -> normalised subject of its page. True when the texts share a beginning or
    an end (a template: "map showing the location of …") and each differs in a short part that names its
    own page's subject, for most of them."""
    tokens = [text.split() for text in group]
    if any(not t for t in tokens):
        return False
    shortest = min(len(t) for t in tokens)
    head = 0
    while head < shortest and all(t[head] == tokens[0][head] for t in tokens):
        head += 1
    tail = 0
    while tail < shortest - head and all(t[-1 - tail] == tokens[0][-1 - tail] for t in tokens):
        tail += 1
    if head + tail == 0:
        return False
    named = 0
    for text, subject in zip(tokens, group.values()):
        part = text[head:len(text) - tail]
        if not part or len(part) > 4:
            return False  # one text extends another, or says more than a name: captions of one photo
        if subject and (" ".join(part) in subject or any(w in part for w in subject.split() if len(w) > 2)):
            named += 1
    return named * 2 > len(tokens)


class PlaceholderFilter(Filter):
    """Drops the records whose (image URL, language) carries ``min_texts`` different texts in the record
    shards ``folder/prefix-*.parquet`` (``placeholder_urls``, counted when the task starts): placeholder_image."""

    name = "🖼 placeholder across pages"
    reason = "placeholder_image"

    def __init__(self, folder, prefix: str, min_texts: int, any_texts: int = 10, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.folder, self.prefix, self.min_texts, self.any_texts = folder, prefix, min_texts, any_texts
        self._urls: set[int] | None = None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self._urls is None:
            self._urls = set(placeholder_urls(self.folder, self.prefix, self.min_texts, self.any_texts).tolist())
            self.counts["placeholder_urls"] = len(self._urls)
        if not self._urls:
            return True
        url = doc.media[0].url if doc.media else ""
        key = xxhash.xxh3_64_intdigest(f"{url}\x00{doc.metadata.get('lid.lang') or ''}".encode())
        return (False, self.reason) if key in self._urls else True
