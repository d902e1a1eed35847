"""Dedup at scale: exact dedup over N synthetic records (default 10M) with known duplicates, near dedup
over a smaller sample, both through mella's own filters' sets; prints precision and recall of the
duplicates found, memory and time. (Before this, both used fixed 1M-key Bloom filters: past capacity the
false-positive rate reached 0.33 at 5x and 0.94 at 10x, silently dropping unique records.)

Then mining throughput on real pages (the fundus test pages, copied to make --pages files, one task
each) at 1 and 2 workers, locally and on Ray (a local Ray started by the run, fractional CPUs: half a CPU
per task), each a fresh process timed end to end, start-up included.

Usage: python bench/scale.py [--records 10000000] [--dup-share 0.1] [--near 200000] [--pages 96] [--no-mine]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exact(n: int, dup_share: float, batch: int = 4096) -> dict:
    """Keys of n records; a dup_share of them repeat an earlier record's key."""
    from mella.bloom import KeySet

    rng = np.random.default_rng(0)
    unique = int(n * (1 - dup_share))
    keys = rng.integers(0, 2**64 - 1, size=unique, dtype=np.uint64, endpoint=True)
    dups = keys[rng.integers(0, unique, size=n - unique)]
    stream = np.concatenate([keys, dups])
    is_dup = np.concatenate([np.zeros(unique, bool), np.ones(n - unique, bool)])
    order = rng.permutation(n)
    stream, is_dup = stream[order], is_dup[order]
    # a repeated key counts as a duplicate from its second occurrence on: recompute the truth by first sight
    _, first = np.unique(stream, return_index=True)
    truth = np.ones(n, bool)
    truth[first] = False
    seen = KeySet()
    flagged = np.zeros(n, bool)
    start, rss0 = time.perf_counter(), rss_mib()
    for i in range(0, n, batch):
        b = stream[i:i + batch]
        hit = seen.contains_many(b)
        # within a batch, later copies of a key are duplicates too
        _, idx = np.unique(b, return_index=True)
        inner = np.ones(len(b), bool)
        inner[idx] = False
        flagged[i:i + batch] = hit | inner
        seen.add_many(b)
    seconds = time.perf_counter() - start
    tp = int((flagged & truth).sum())
    return {"records": n, "duplicates": int(truth.sum()), "flagged": int(flagged.sum()),
            "precision": tp / max(1, flagged.sum()), "recall": tp / max(1, truth.sum()), "seconds": seconds,
            "set_mib": seen.nbytes / 2**20, "rss_growth_mib": rss_mib() - rss0}


def near(n: int) -> dict:
    """n distinct synthetic captions and n/10 edited copies (one word changed) through NearDupFilter."""
    from datatrove.data import Document

    from mella.steps.dedup import NearDupFilter

    rng = np.random.default_rng(1)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(letters[rng.integers(0, 26, int(rng.integers(3, 9)))]) for _ in range(20000)]
    texts = [" ".join(vocab[j] for j in rng.integers(0, len(vocab), 12)) for _ in range(n)]
    copies = []
    for i in rng.integers(0, n, n // 10):
        words = texts[i].split()
        words[int(rng.integers(0, 12))] = "edit"
        copies.append(" ".join(words))
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts + copies)]
    filt = NearDupFilter(capacity=100_000)
    start = time.perf_counter()
    verdicts = []
    for i in range(0, len(docs), 256):
        verdicts += filt.filter_batch(docs[i:i + 256])
    seconds = time.perf_counter() - start
    dropped = [v is not True for v in verdicts]
    false_drops = sum(dropped[:n])
    caught = sum(dropped[n:])
    return {"unique": n, "edited_copies": len(copies), "unique_dropped": false_drops, "copies_caught": caught,
            "seconds": seconds, "filters": len(filt._bloom.filters), "set_mib": filt._bloom.nbytes / 2**20}


def near_partitioned(n: int, tasks: int = 3) -> dict:
    """The same kind of texts written as a record table, near-deduplicated by band in ``tasks`` tasks
    (NearDupBands, run one after another here; on a cluster they run at once on different machines) and in
    one streaming task: the same records flagged? time and key memory per task."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from mella.steps.dedup import NearDupBands, NearDupFilter

    rng = np.random.default_rng(2)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(letters[rng.integers(0, 26, int(rng.integers(3, 9)))]) for _ in range(20000)]
    texts = [" ".join(vocab[j] for j in rng.integers(0, len(vocab), 12)) for _ in range(n)]
    for i in rng.integers(0, n, n // 10):
        words = texts[i].split()
        words[int(rng.integers(0, 12))] = "edit"
        texts.append(" ".join(words))
    params = {"capacity": 100_000}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pq.write_table(pa.table({"id": [str(i) for i in range(len(texts))], "text": texts,
                                 "image_url": [f"https://x.invalid/{i}.jpg" for i in range(len(texts))]}),
                       tmp / "t-00000.parquet")
        per_task = []
        for rank in range(tasks):
            step = NearDupBands(tmp, "t", tmp / "flags", params)
            start = time.perf_counter()
            list(step.run(None, rank, tasks))
            per_task.append(time.perf_counter() - start)
        flagged = set(np.concatenate([np.load(p) for p in sorted((tmp / "flags").glob("*.npy"))]).tolist())
        from mella.steps.staged import StagedParquetReader

        docs = list(StagedParquetReader(tmp, "t").run(None, 0, 1))
        filt = NearDupFilter(**params)
        start = time.perf_counter()
        verdicts = []
        for i in range(0, len(docs), 256):
            verdicts += filt.filter_batch(docs[i:i + 256])
        one = time.perf_counter() - start
    streaming = {i for i, v in enumerate(verdicts) if v is not True}
    bands = NearDupFilter().bands
    return {"records": len(texts), "tasks": tasks, "same": flagged == streaming, "flagged": len(flagged),
            "task_seconds": per_task, "one_task_seconds": one,
            "key_mib_per_task": len(texts) * -(-bands // tasks) * 8 / 2**20}


MINE_JOB = """
import sys, time, json
from mella.config import MineConfig
from mella.recipes.mine import run_mine
start = time.perf_counter()
summary = run_mine([sys.argv[1]], sys.argv[2], MineConfig(**json.loads(sys.argv[3])))
print(json.dumps({"seconds": time.perf_counter() - start, "kept": summary["kept_total"]}))
"""


def mine_throughput(pages: int) -> list[dict]:
    """Wall time of `mella mine` over ``pages`` page files: local 1 and 2 workers, Ray 1 and 2 workers."""
    import json
    import os
    import shutil
    import subprocess
    import tempfile

    src = ROOT / "tests" / "data" / "fundus"
    originals = sorted(src.glob("*/*.html.gz"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        crawl = Path(tmp) / "crawl"
        crawl.mkdir()
        for i in range(pages):
            page = originals[i % len(originals)]
            shutil.copy(page, crawl / f"{i:04d}-{page.name}")
        runs = [("local", 1, {}), ("local", 2, {}),
                ("ray", 1, {"kind": "ray", "cpus_per_task": 0.5}), ("ray", 2, {"kind": "ray", "cpus_per_task": 0.5})]
        for kind, workers, executor in runs:
            cfg = {"langs": ["ko", "ar", "cs"], "workers": workers, "executor": executor}
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", MINE_JOB, str(crawl), str(Path(tmp) / f"out-{kind}-{workers}"),
                                   json.dumps(cfg)], capture_output=True, text=True,
                                  env=dict(os.environ, MELLA_QUIET="1", RAY_ADDRESS=""))
            wall = time.perf_counter() - t0
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            inner = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append({"executor": kind, "workers": workers, "wall_s": wall, "job_s": inner["seconds"],
                            "kept": inner["kept"], "pages_per_s": pages / wall})
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--dup-share", type=float, default=0.1)
    ap.add_argument("--near", type=int, default=200_000)
    ap.add_argument("--pages", type=int, default=96)
    ap.add_argument("--no-mine", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    e = exact(args.records, args.dup_share)
    print(f"exact dedup: {e['records']:,} records, {e['duplicates']:,} duplicates; flagged {e['flagged']:,}; "
          f"precision {e['precision']:.6f} recall {e['recall']:.6f}; {e['seconds']:.1f} s "
          f"({e['records'] / e['seconds']:,.0f} records/s); key set {e['set_mib']:.0f} MiB, "
          f"peak RSS growth {e['rss_growth_mib']:.0f} MiB")
    m = near(args.near)
    print(f"near dedup: {m['unique']:,} distinct texts + {m['edited_copies']:,} one-word edits; unique dropped "
          f"{m['unique_dropped']} ({m['unique_dropped'] / m['unique']:.2e}); edits caught {m['copies_caught']:,} "
          f"({m['copies_caught'] / m['edited_copies']:.3f}); {m['seconds']:.1f} s; {m['filters']} Bloom filters, "
          f"{m['set_mib']:.0f} MiB")
    p = near_partitioned(min(args.near, 100_000))
    print(f"near dedup by band: {p['records']:,} records in {p['tasks']} band tasks: same records as one task: "
          f"{p['same']} ({p['flagged']:,} flagged); seconds per task "
          f"{', '.join(f'{s:.1f}' for s in p['task_seconds'])} (one streaming task {p['one_task_seconds']:.1f}); "
          f"exact band keys per task ~{p['key_mib_per_task']:.1f} MiB (8 bytes per record and band)")
    if args.no_mine:
        return
    import os

    print(f"mine: {args.pages} real news pages (one task each), {os.cpu_count()} CPUs, wall time of a fresh process")
    for r in mine_throughput(args.pages):
        print(f"  {r['executor']:5s} workers={r['workers']}: {r['wall_s']:6.1f} s wall ({r['job_s']:6.1f} s in run_mine), "
              f"{r['pages_per_s']:5.1f} pages/s, {r['kept']} records kept")


if __name__ == "__main__":
    main()
