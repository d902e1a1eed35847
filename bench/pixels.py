"""Peak memory of `mella fetch` on very large images, with and without the decoded-pixel budget.

32 JPEGs of 7000x7000 (49 M pixels each, just under the 50 M decompression-bomb cap), read from a WARC
(no network), 32 threads. Without a bound every thread decodes at once; `max_pixels_in_flight` (150 M by
default: three such images) holds the rest back.

Usage: python bench/pixels.py [--images 32] [--side 7000]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed  # noqa: E402


def big_jpeg(side: int, seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:side, 0:side]
    arr = np.stack([(x * 255 // side + seed * 7) % 256, (y * 255 // side) % 256, ((x + y) // 40 + seed) % 256], -1)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format="JPEG", quality=60)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--side", type=int, default=7000)
    args = ap.parse_args()
    from mella.warcpack import response_record, write_warc_gz

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        imgs = "".join(f'<img alt="Velký obrázek katedrály číslo {n} v Praze" src="/big{n}.jpg">'
                       for n in range(args.images))
        page = f'<html lang="cs"><body>{imgs}</body></html>'.encode()
        records = [response_record("https://big.invalid/a", page)]
        records += [response_record(f"https://big.invalid/big{n}.jpg", big_jpeg(args.side, n),
                                    content_type="image/jpeg") for n in range(args.images)]
        warc = write_warc_gz(tmp / "big.warc.gz", records)
        mella = [sys.executable, "-m", "mella.cli"]
        timed(mella + ["mine", str(warc), "--out", str(tmp / "mined"), "--langs", "cs", "--set", "dedup.near=false",
                       "--set", "quality.max_page_repeats=1000"])
        rows = []
        for label, budget in (("bounded (default 150 M pixels)", 150_000_000), ("unbounded", 10**12)):
            out = tmp / f"out-{budget}"
            wall, rss, _ = timed(mella + ["fetch", str(tmp / "mined"), "--out", str(out), "--offline", "--concurrency",
                                          "32", "--set", f"max_pixels_in_flight={budget}"])
            kept = json.loads((out / "stats.json").read_text())["kept_total"]
            rows.append((label, wall, rss, kept))
        print(f"{args.images} images of {args.side}x{args.side}, 32 threads")
        for label, wall, rss, kept in rows:
            print(f"  {label:32s} {wall:6.1f} s   peak RSS {rss:6d} MiB   kept {kept}")


if __name__ == "__main__":
    main()
