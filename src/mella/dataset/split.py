"""Splits without leakage: records that share an image (exact hash), a near-duplicate image (pHash within
``phash_distance``) or a site (registered domain) form one group, and a group is in one split only.

Groups are assigned whole, in a seeded order, to test until each language has its test size, then to
validation; the rest is train. A language whose records sit in one large group (one site) cannot get a
test split without losing its training data: the report says so instead of cutting the group.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from mella.config import SplitConfig
from mella.urls import registered_domain, url_key

SPLITS = ("train", "validation", "test")


class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_pairs(hashes: list[int | None], distance: int) -> list[tuple[int, int]]:
    """Index pairs whose 64-bit hashes differ in at most ``distance`` bits. Pigeonhole: split the hash in
    ``distance + 1`` chunks; two hashes that close agree exactly on at least one chunk."""
    import numpy as np

    if distance <= 0:
        by_value: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(hashes):
            if h is not None:
                by_value[h].append(i)
        return [(m[0], j) for m in by_value.values() for j in m[1:]]
    chunks = distance + 1
    bounds = [round(64 * k / chunks) for k in range(chunks + 1)]
    pairs: set[tuple[int, int]] = set()
    for lo, hi in zip(bounds, bounds[1:]):
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(hashes):
            if h is not None:
                buckets[(h >> lo) & mask].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            values = np.array([hashes[i] for i in members], dtype=np.uint64)
            for a in range(len(members) - 1):
                diff = np.bitwise_count(values[a + 1:] ^ values[a])
                for b in np.nonzero(diff <= distance)[0]:
                    pairs.add((members[a], members[a + 1 + int(b)]))
    return sorted(pairs)


@dataclass
class SplitResult:
    split_of: list[str]  # per record
    group_of: list[str]  # per record: a short group id
    report: dict = field(default_factory=dict)


def _target(size: float, n: int) -> int:
    """A share (< 1) or a count (>= 1) of ``n`` records; never more than half of them."""
    want = round(size * n) if size < 1 else int(size)
    return min(want, n // 2)


def _slack(want: int) -> int:
    """How far a language may overshoot its target when a whole group goes in (none for a target of 0)."""
    return max(1, math.ceil(0.1 * want)) if want else 0


def record_langs(row: dict) -> set[str]:
    langs = {row.get("lang") or "und"}
    if row.get("translation_lang"):
        langs.add(row["translation_lang"])
    return langs


def assign_splits(rows: list[dict], cfg: SplitConfig) -> SplitResult:
    """``rows``: dicts with id, lang, (translation_lang), sha256 / image_url, phash, page_domain / page_url."""
    n = len(rows)
    uf = UnionFind(n)
    first: dict[tuple[str, str], int] = {}

    def join(kind: str, key: str | None, i: int) -> None:
        if key:
            j = first.setdefault((kind, key), i)
            if j != i:
                uf.union(i, j)

    for i, row in enumerate(rows):
        if "image" in cfg.group_by:
            join("image", row.get("sha256") or (url_key(row["image_url"]) if row.get("image_url") else None), i)
        if "domain" in cfg.group_by:
            join("domain", row.get("page_domain") or registered_domain(row.get("page_url") or row.get("image_url")), i)
    if "near_image" in cfg.group_by:
        hashes = [int(r["phash"], 16) if r.get("phash") else None for r in rows]
        for a, b in near_pairs(hashes, cfg.phash_distance):
            uf.union(a, b)

    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[uf.find(i)].append(i)
    group_id = {root: hashlib.sha256("\x00".join(sorted(rows[i]["id"] for i in idx)).encode()).hexdigest()[:12]
                for root, idx in members.items()}
    per_lang = Counter(lang for row in rows for lang in record_langs(row))
    targets = {split: {lang: _target((by_lang.get(lang, size)), count) for lang, count in per_lang.items()}
               for split, size, by_lang in (("test", cfg.test_size, cfg.test_size_by_lang),
                                            ("validation", cfg.val_size, cfg.val_size_by_lang))}
    counts = {root: Counter(lang for i in idx for lang in record_langs(rows[i])) for root, idx in members.items()}
    order = sorted(members, key=lambda root: hashlib.sha256(f"{cfg.seed}:{group_id[root]}".encode()).digest())
    split_of_group: dict[int, str] = {}
    for split in ("test", "validation"):
        got: Counter = Counter()
        want = targets[split]
        for root in order:
            if root in split_of_group:
                continue
            langs = counts[root]
            helps = any(got[lang] < want[lang] for lang in langs)
            fits = all(got[lang] + k <= want[lang] + _slack(want[lang]) for lang, k in langs.items())
            if helps and fits:
                split_of_group[root] = split
                got.update(langs)
    split_of = [split_of_group.get(uf.find(i), "train") for i in range(n)]
    group_of = [group_id[uf.find(i)] for i in range(n)]
    report = _report(rows, split_of, members, counts, targets, split_of_group, cfg)
    return SplitResult(split_of, group_of, {"group_by": list(cfg.group_by), "phash_distance": cfg.phash_distance} | report)


def _report(rows, split_of, members, counts, targets, split_of_group, cfg) -> dict:
    by_lang: dict[str, dict] = {}
    for lang in sorted({lang for c in counts.values() for lang in c}):
        got = Counter()
        for i, row in enumerate(rows):
            if lang in record_langs(row):
                got[split_of[i]] += 1
        groups = [root for root, c in counts.items() if lang in c]
        largest = max((counts[root][lang] for root in groups), default=0)
        entry = {"records": sum(got.values()), "groups": len(groups), "largest_group": largest,
                 **{split: got[split] for split in SPLITS},
                 "test_target": targets["test"][lang], "validation_target": targets["validation"][lang]}
        short = [s for s in ("test", "validation") if got[s] < targets[s][lang]]
        wanted = {"test": cfg.test_size_by_lang.get(lang, cfg.test_size),
                  "validation": cfg.val_size_by_lang.get(lang, cfg.val_size)}
        rounded = [s for s in ("test", "validation") if wanted[s] > 0 and targets[s][lang] == 0]
        warnings = []
        if short:
            warnings.append(f"{' and '.join(short)} smaller than wanted: {entry['records']} records in "
                            f"{len(groups)} leakage group(s), the largest of {largest}; a group goes whole to "
                            "one split: lower the size, add sites and images, or drop `domain` from "
                            "split.group_by")
        if rounded:  # asked for, but the share of this few records is 0: say so (an empty split is silent)
            warnings.append(f"no {' and no '.join(rounded)} split: {entry['records']} records x "
                            f"{' / '.join(str(wanted[s]) for s in rounded)} rounds to 0; give a count ("
                            + ", ".join(f"split.{'test' if s == 'test' else 'val'}_size_by_lang.{lang}=1" for s in rounded)
                            + f") or mine more records for {lang}")
        if warnings:
            entry["warning"] = "; ".join(warnings)
        by_lang[lang] = entry
    sizes = sorted((len(idx) for idx in members.values()), reverse=True)
    return {"groups": len(members), "largest_groups": sizes[:5],
            "groups_by_split": dict(Counter(split_of_group.get(root, "train") for root in members)),
            "by_lang": by_lang}
