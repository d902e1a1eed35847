"""Deduplication of image-text records, keeping the first occurrence.

Exact: same image URL and same (case-folded) alt-text. Near: MinHash over character shingles of the
normalised alt-text with LSH banding (as datatrove's MinhashDedup does), but in one streaming pass: band
keys go into a fixed-size Bloom filter, so memory does not grow with the input. datatrove's minhash
runs four disk stages, which costs more than the work on short alt-texts.
"""

from __future__ import annotations

import numpy as np
import xxhash
from datatrove.data import Document
from mella.steps.base import Filter

from mella.bloom import Bloom
from mella.steps.alt_quality import normalise

_MERSENNE = np.uint64((1 << 61) - 1)


class ExactDedupFilter(Filter):
    """Drops a record whose (image URL, alt-text) pair was seen before (dup_exact)."""

    name = "🫂 exact dedup"

    def __init__(self, capacity: int = 1_000_000, fp_rate: float = 1e-6, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.capacity, self.fp_rate = capacity, fp_rate
        self._bloom: Bloom | None = None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self._bloom is None:
            self._bloom = Bloom(self.capacity, self.fp_rate)
        url = doc.media[0].url if doc.media else ""
        key = xxhash.xxh3_64_intdigest(f"{url}\x00{doc.text.casefold()}".encode())
        if self._bloom.add_many(np.array([key], dtype=np.uint64))[0]:
            return False, "dup_exact"
        return True


class NearDupFilter(Filter):
    """Drops a record whose alt-text is a near duplicate of an earlier one (dup_near)."""

    name = "🫂 near-dup alt-text"

    def __init__(self, shingle_chars: int = 5, bands: int = 14, rows: int = 8, capacity: int = 1_000_000,
                 fp_rate: float = 1e-6, seed: int = 1, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.shingle_chars, self.bands, self.rows = shingle_chars, bands, rows
        self.capacity, self.fp_rate = capacity, fp_rate
        rng = np.random.default_rng(seed)
        n = bands * rows
        self._a = rng.integers(1, (1 << 61) - 1, size=n, dtype=np.uint64)
        self._b = rng.integers(0, (1 << 61) - 1, size=n, dtype=np.uint64)
        self._band_ids = np.arange(bands, dtype=np.uint64) << np.uint64(56)
        self._bloom: Bloom | None = None

    def signature(self, text: str) -> np.ndarray:
        """MinHash signature (bands*rows uint64) of the normalised text's character shingles."""
        norm = normalise(text)
        k = self.shingle_chars
        shingles = {norm[i : i + k] for i in range(max(1, len(norm) - k + 1))}
        hashes = np.fromiter((xxhash.xxh32_intdigest(s.encode()) for s in shingles), dtype=np.uint64,
                             count=len(shingles))
        # universal hashing mod a Mersenne prime; 32-bit inputs keep a*h below 2**64 after the mod
        perm = (hashes[:, None] * (self._a[None, :] & np.uint64(0xFFFFFFFF)) + self._b[None, :]) % _MERSENNE
        return perm.min(axis=0)

    def band_keys(self, signature: np.ndarray) -> np.ndarray:
        bands = signature.reshape(self.bands, self.rows)
        keys = np.array([xxhash.xxh3_64_intdigest(band.tobytes()) for band in bands], dtype=np.uint64)
        return (keys & np.uint64((1 << 56) - 1)) | self._band_ids

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self._bloom is None:
            self._bloom = Bloom(self.capacity * self.bands, self.fp_rate)
        seen = self._bloom.add_many(self.band_keys(self.signature(doc.text)))
        if seen.any():
            return False, "dup_near"
        return True
