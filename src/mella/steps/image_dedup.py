"""Exact (SHA-256 of the original or of the stored bytes) and near (pHash Hamming distance) duplicate
images, first kept.

Near duplicates are found with the pigeonhole trick: two 64-bit hashes within distance d < 4 share at
least one of their four 16-bit quarters exactly, so each quarter indexes the hashes seen so far.
"""

from __future__ import annotations

from datatrove.data import Document

from mella.images.validate import hamming
from mella.steps.base import Filter


class ImageDedupFilter(Filter):
    name = "🫂 image dedup"

    def __init__(self, max_distance: int = 3, exclusion_writer=None):
        super().__init__(exclusion_writer)
        if not 0 <= max_distance <= 3:
            raise ValueError("max_distance must be 0..3 (the quarter index finds distances below 4)")
        self.max_distance = max_distance
        self._sha: set[str] = set()
        self._quarters: list[dict[str, list[str]]] = [{}, {}, {}, {}]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        shas = {meta.get("img.orig_sha256"), meta.get("img.sha256")} - {None}
        phash = meta.get("img.phash")
        if shas & self._sha:
            return False, "dup_image_exact"
        if phash:
            for q, index in enumerate(self._quarters):
                for other in index.get(phash[4 * q : 4 * q + 4], ()):
                    if hamming(phash, other) <= self.max_distance:
                        meta["img.dup_of_phash"] = other
                        return False, "dup_image_near"
            for q, index in enumerate(self._quarters):
                index.setdefault(phash[4 * q : 4 * q + 4], []).append(phash)
        self._sha |= shas
        return True
