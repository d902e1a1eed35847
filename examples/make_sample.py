"""Rebuild examples/sample-crawl.warc.gz from the real pages in ../shared/real-data (run from the repo root).

Each page is packed as a WARC response record with its original URL; the capture date is the crawl date
recorded by the source (fundus) or the page's own publication time, else 2020-01-01 (unknown).
The Common Crawl WARC's records are appended unchanged (a .warc.gz is a series of gzip members).
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

from mella.warcpack import response_record, write_warc_gz

REAL = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/real-data")
OUT = Path("examples/sample-crawl.warc.gz")
PUBLISHED = re.compile(rb'(?:article:published_time|datePublished)["\']?\s*(?:content=|:)\s*["\']([0-9T:\-+Z. ]{10,30})')
CANONICAL = re.compile(rb'<(?:link rel="canonical" href|meta property="og:url" content)="([^"]+)"')


def iso(date: str) -> str:
    date = date.strip().replace(" ", "T")
    return date[:19] + "Z" if len(date) >= 19 else date[:10] + "T00:00:00Z"


def main() -> None:
    records = []
    for meta_file in sorted((REAL / "html-fundus").glob("*/meta.info")):
        for name, info in json.loads(meta_file.read_text()).items():
            body = gzip.decompress((meta_file.parent / name).read_bytes())
            records.append(response_record(info["url"], body, iso(info["crawl_date"])))
    for page in sorted((REAL / "html-trafilatura").glob("*.html")) + sorted((REAL / "html-newspaper4k").glob("*.html")):
        body = page.read_bytes()
        url = CANONICAL.search(body).group(1).decode()
        published = PUBLISHED.search(body)
        date = iso(published.group(1).decode()) if published else "2020-01-01T00:00:00Z"
        records.append(response_record(url, body, date))
    write_warc_gz(OUT, records)
    with open(OUT, "ab") as out:
        out.write((REAL / "warc-resiliparse" / "warcfile.warc.gz").read_bytes())
    print(f"{OUT}: {len(records)} packed pages + the Common Crawl sample, {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
