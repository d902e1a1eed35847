"""A fixed-size Bloom filter over 64-bit keys: memory is set by capacity, not by input size."""

from __future__ import annotations

import math

import numpy as np


class Bloom:
    """Membership test with false positives at rate ~``fp_rate`` up to ``capacity`` keys, no false negatives."""

    def __init__(self, capacity: int, fp_rate: float = 1e-6):
        self.capacity = capacity
        self.bits = max(64, int(-capacity * math.log(fp_rate) / math.log(2) ** 2))
        self.hashes = max(1, round(self.bits / capacity * math.log(2)))
        self.array = np.zeros((self.bits + 7) // 8, dtype=np.uint8)
        self.count = 0
        self._steps = np.arange(self.hashes, dtype=np.uint64)

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        # double hashing (Kirsch-Mitzenmacher): h1 + i*h2 for i in 0..k-1, from one 64-bit key
        keys = keys.astype(np.uint64, copy=False)
        h1 = keys & np.uint64(0xFFFFFFFF)
        h2 = (keys >> np.uint64(32)) | np.uint64(1)
        return (h1[:, None] + self._steps[None, :] * h2[:, None]) % np.uint64(self.bits)

    def add_many(self, keys: np.ndarray) -> np.ndarray:
        """Adds the keys; returns for each whether it was (probably) present before this call."""
        pos = self._positions(keys)
        byte, bit = pos >> np.uint64(3), (pos & np.uint64(7)).astype(np.uint8)
        present = ((self.array[byte] >> bit) & 1).all(axis=1)
        np.bitwise_or.at(self.array, byte.ravel(), (np.uint8(1) << bit).ravel())
        self.count += int((~present).sum())
        return present

    @property
    def over_capacity(self) -> bool:
        return self.count > self.capacity

    @property
    def nbytes(self) -> int:
        return self.array.nbytes
