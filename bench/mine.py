"""Throughput and memory of `mella mine` against the bare limit (bench/bare_limit.py), whole processes.

Builds a WARC of N pages (default 800) by repeating the 68 distinct real HTML pages of
examples/sample-crawl.warc.gz and bench/data/*.warc.gz under distinct URLs (page text unchanged, so exact
dedup drops the repeated image/alt pairs; all filtering and writing run),
then times, each in a fresh process, start-up included:
  bare:  python bench/bare_limit.py WARC
  mella: mella mine WARC --out TMP --workers 1
and prints records/s, MB/s (compressed WARC bytes), their ratio, and peak RSS; then mella's peak RSS on a
WARC twice as large, to show memory does not grow with input size.

Usage: python bench/mine.py [--pages 800] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "examples" / "sample-crawl.warc.gz", *sorted((ROOT / "bench" / "data").glob("*.warc.gz"))]


def html_pages(path: Path) -> list[tuple[str, str, bytes]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            ctype = rec.http_headers.get("Content-Type") or ""
            if "html" in ctype:
                out.append((rec.headers.get("WARC-Target-URI"), ctype, rec.reader.read()))
    return out


def build_warc(pages: int, dest: Path) -> Path:
    from mella.warcpack import response_record, write_warc_gz

    base = [page for source in SOURCES for page in html_pages(source)]
    records = []
    for i in range(pages):
        url, ctype, body = base[i % len(base)]
        sep = "&" if "?" in url else "?"
        records.append(response_record(f"{url}{sep}bench={i // len(base)}", body, content_type=ctype))
    return write_warc_gz(dest, records)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=800)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    mella = shutil.which("mella") or str(Path(sys.executable).parent / "mella")
    # an editable install has no bytecode cache when PYTHONDONTWRITEBYTECODE is set; a normal install has
    import compileall

    compileall.compile_dir(ROOT / "src" / "mella", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warc = build_warc(args.pages, tmp / "bench.warc.gz")
        warc2 = build_warc(args.pages * 2, tmp / "bench2.warc.gz")
        mb = warc.stat().st_size / 1e6
        raw_mb = len(gzip.decompress(warc.read_bytes())) / 1e6
        bare_runs, mella_runs = [], []
        records = None
        for r in range(args.repeat):  # interleaved, so that machine noise hits both alike
            wall, rss, out = timed([sys.executable, str(ROOT / "bench" / "bare_limit.py"), str(warc)])
            pages, records = map(int, out.split()[:2])
            bare_runs.append((wall, rss))
            outdir = tmp / f"out{r}"
            wall, rss, _ = timed([mella, "mine", str(warc), "--out", str(outdir), "--workers", "1"])
            mella_runs.append((wall, rss))
        kept = json.loads((tmp / "out0" / "stats.json").read_text())["kept_total"]
        _, rss2, _ = timed([mella, "mine", str(warc2), "--out", str(tmp / "out2x"), "--workers", "1"])
    bare_t = statistics.median(w for w, _ in bare_runs)
    mella_t = statistics.median(w for w, _ in mella_runs)
    print(f"input: {pages} HTML pages, {records} <img> with alt, {mb:.1f} MB gzip ({raw_mb:.1f} MB raw); "
          f"median of {args.repeat} runs, whole process incl. start-up")
    print(f"{'':8s}{'wall s':>8s}{'records/s':>11s}{'pages/s':>9s}{'MB/s':>7s}{'peak RSS MiB':>14s}")
    for name, t, rss in (("bare", bare_t, max(r for _, r in bare_runs)),
                         ("mella", mella_t, max(r for _, r in mella_runs))):
        print(f"{name:8s}{t:8.2f}{records / t:11.0f}{pages / t:9.0f}{mb / t:7.2f}{rss:14d}")
    print(f"ratio mella/bare throughput: {bare_t / mella_t:.2f}  (goal >= 0.5); runs bare "
          f"{', '.join(f'{w:.2f}' for w, _ in bare_runs)} s, mella {', '.join(f'{w:.2f}' for w, _ in mella_runs)} s")
    print(f"mella kept {kept} records (the rest are duplicates of the repeated pages, or dropped with a reason)")
    print(f"mella peak RSS at {args.pages} pages: {max(r for _, r in mella_runs)} MiB; "
          f"at {args.pages * 2} pages: {rss2} MiB")


if __name__ == "__main__":
    main()
