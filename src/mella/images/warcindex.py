"""Where the crawl itself holds an image: URL -> (WARC file, record offset), in a small SQLite file.

Custom crawls often store the images of the pages they fetched; taking the bytes from there saves the
network and fetches what the page showed at crawl time. URLs are keyed by ``urls.url_key``: a page that
links ``https://host/a%20b.jpg`` finds the crawl's ``http://host/a b.jpg``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from mella.urls import url_key


def build_index(warcs: list[Path], db: Path) -> int:
    """Indexes image/* responses of ``warcs`` into ``db`` (atomically); returns how many."""
    from fastwarc.warc import WarcRecordType

    from mella.warcscan import iter_records

    tmp = db.with_name(f".{db.name}.tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    con.execute("CREATE TABLE images (url TEXT PRIMARY KEY, path TEXT, offset INTEGER, content_type TEXT)")
    n = 0
    for warc in warcs:
        try:
            with open(warc, "rb") as fh:
                for rec, _ in iter_records(fh, WarcRecordType.response, lambda event: None):
                    http = rec.http_headers
                    ctype = (http.get("Content-Type") or "") if http is not None else ""
                    if http is None or http.status_code != 200 or not ctype.lower().startswith("image/"):
                        continue
                    url = (rec.headers.get("WARC-Target-URI") or "").strip().strip("<>")
                    con.execute("INSERT OR IGNORE INTO images VALUES (?, ?, ?, ?)",
                                (url_key(url), str(warc), rec.stream_pos, ctype))
                    n += 1
        except (OSError, ValueError, EOFError):
            continue  # a broken archive: its readable images are indexed, the rest fetched from the web
    con.commit()
    con.close()
    os.replace(tmp, db)
    return n


class WarcImages:
    """Read-only lookups into an index built by ``build_index``."""

    def __init__(self, db: Path | None):
        self.db = db
        self._con = None
        self._lock = threading.Lock()

    def get(self, *urls: str) -> bytes | None:
        """The stored bytes of the first of ``urls`` (an image's URL variants) the crawl holds."""
        if self.db is None or not Path(self.db).is_file():
            return None
        with self._lock:  # one connection, used by the fetch threads in turn
            if self._con is None:
                self._con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, check_same_thread=False)
            row = None
            for url in urls:
                row = self._con.execute("SELECT path, offset FROM images WHERE url = ?", (url_key(url),)).fetchone()
                if row is not None:
                    break
        if row is None:
            return None
        from fastwarc.warc import ArchiveIterator, WarcRecordType

        from mella.warcscan import embedded_record

        try:
            with open(row[0], "rb") as fh:
                fh.seek(row[1])
                for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
                    payload = rec.reader.read()
                    cut = embedded_record(payload)  # a Content-Length too large: the image ends there
                    return payload[:cut] if cut >= 0 else payload
        except (OSError, ValueError):
            return None
        return None

    def __getstate__(self):  # picklable for datatrove's process pool: reopen in each process
        return {"db": self.db}

    def __setstate__(self, state):
        self.__init__(state["db"])

    def __deepcopy__(self, memo):
        return WarcImages(self.db)
