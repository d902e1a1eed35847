"""Write WARC/1.0 response records (one gzip member each), e.g. to pack saved pages into a crawl file."""

from __future__ import annotations

import gzip
import os
import uuid
from pathlib import Path


def response_record(url: str, body: bytes, date: str = "2024-01-01T00:00:00Z",
                    content_type: str = "text/html; charset=utf-8", status: str = "200 OK",
                    extra_http_headers: str = "") -> bytes:
    """One WARC response record holding an HTTP response with ``body``."""
    http = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra_http_headers}"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{url} {date}")
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\nWARC-Date: {date}\r\n"
            f"WARC-Record-ID: <urn:uuid:{record_id}>\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode("latin-1")
    return head + http + b"\r\n\r\n"


def write_warc_gz(path: str | Path, records: list[bytes]) -> Path:
    """Writes ``records`` as a .warc.gz (a gzip member per record), atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        for rec in records:
            fh.write(gzip.compress(rec, mtime=0))
    os.replace(tmp, path)
    return path
