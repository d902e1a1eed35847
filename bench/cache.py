"""The model-output cache at size: a cache of N entries (captions of ~600 characters), opened by a fresh
process as every task does, then K lookups. Prints open time, lookup rate and the process's resident
memory (VmRSS after the lookups), for mella's SQLite cache and for the JSON Lines file it replaced (loaded whole by each task).

Usage: python bench/cache.py [--entries 200000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = """
import json, sys, time
sys.path.insert(0, {src!r})
kind, folder = sys.argv[1], sys.argv[2]
keys = json.loads(open(sys.argv[3]).read())
t0 = time.perf_counter()
if kind == "sqlite":
    from mella.cache import ContentCache
    cache = ContentCache("captions", __import__("pathlib").Path(folder))
    cache.get("warm-up")
    get = cache.get
else:
    entries = {{}}
    with open(folder + "/captions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            entries[row["key"]] = row["output"]
    get = entries.get
opened = time.perf_counter() - t0
t1 = time.perf_counter()
hits = sum(get(k) is not None for k in keys)
looked = time.perf_counter() - t1
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS"))
print(json.dumps({{"open_s": opened, "lookups_per_s": len(keys) / looked, "hits": hits, "rss_mib": rss / 1024}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--lookups", type=int, default=2000)
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "src"))
    from mella.cache import ContentCache, content_key

    caption = ("A wide view of a stone bridge with baroque statues over a river at dawn, " * 8)[:600]
    items = [(content_key("openai", {"model": "m"}, 1, "prompt", f"sha{i}"), f"{caption} #{i}")
             for i in range(args.entries)]
    keys = [items[i][0] for i in range(0, args.entries, max(1, args.entries // args.lookups))]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cache = ContentCache("captions", Path(tmp))
        for i in range(0, len(items), 10_000):
            cache.put_many(items[i : i + 10_000])
        written = time.perf_counter() - t0
        with open(Path(tmp) / "captions.jsonl", "w", encoding="utf-8") as fh:
            for key, out in items:
                fh.write(json.dumps({"key": key, "output": out}) + "\n")
        sizes = {"sqlite": (Path(tmp) / "captions.sqlite").stat().st_size,
                 "jsonl": (Path(tmp) / "captions.jsonl").stat().st_size}
        probe = PROBE.format(src=str(root / "src"))
        print(f"{args.entries:,} entries (written to SQLite in {written:.1f} s), {len(keys):,} lookups per probe")
        for kind in ("sqlite", "jsonl"):
            # each kind in a folder of its own (SQLite would import a JSONL file it finds beside it)
            folder = Path(tmp) / kind
            folder.mkdir()
            src = Path(tmp) / f"captions.{'sqlite' if kind == 'sqlite' else 'jsonl'}"
            src.rename(folder / src.name)
            for wal in Path(tmp).glob("captions.sqlite-*"):
                wal.rename(folder / wal.name)
            (Path(tmp) / "keys.json").write_text(json.dumps(keys))
            out = subprocess.run([sys.executable, "-c", probe, kind, str(folder), str(Path(tmp) / "keys.json")],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            print(f"{kind:7s} file {sizes[kind] / 2**20:7.1f} MiB   open {r['open_s']:6.3f} s   "
                  f"{r['lookups_per_s']:>10,.0f} lookups/s   hits {r['hits']}   RSS after {r['rss_mib']:6.1f} MiB")


if __name__ == "__main__":
    main()
