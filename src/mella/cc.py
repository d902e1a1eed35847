"""Targeted reading of Common Crawl: choose pages by the columnar URL index, read just those WARC records.

Common Crawl publishes, per snapshot, a Parquet table of every capture (``cc-index/table/cc-main/warc/
crawl=CC-MAIN-YYYY-WW/subset=warc/*.parquet``) with the page's detected languages (``content_languages``,
ISO 639-3 codes from CLD2, comma-separated), its host's TLD and the byte range of its WARC record
(``warc_filename``, ``warc_record_offset``, ``warc_record_length``). Each record of a Common Crawl WARC
file is a gzip member of its own, so one HTTP range request returns one complete record.

``select``: the index rows whose capture is an HTML page fetched with status 200 and whose
``content_languages`` include a target language's ``cc_languages`` or whose host is under one of its
ccTLDs, sorted by file and offset (deterministic), written to ``OUT/cc/selection.parquet`` with the
counts (rows and bytes scanned, selected). ``CCRecordReader``: this task's slice of the selection, read
by range requests (http(s); a local folder; any fsspec URL such as s3:// when its package is installed),
each record parsed like a record of a WARC file (``InputReader._warc_record``). A range that cannot be
read after retries is one dropped record (``cc_fetch_error``), never the task.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from pathlib import Path, PurePosixPath

from datatrove.data import Document, DocumentsPipeline

from mella.steps.read import InputReader

INDEX_COLUMNS = ["url", "url_host_tld", "content_languages", "content_mime_detected", "fetch_status",
                 "warc_filename", "warc_record_offset", "warc_record_length"]
HTML_MIMES = ["text/html", "application/xhtml+xml"]
SELECTION = "selection.parquet"
DEFAULT_BASE = "https://data.commoncrawl.org/"


def index_files(pattern: str, storage_options: dict | None = None) -> tuple[list[str], object]:
    """The index files a glob names (local or any fsspec URL) and the filesystem to read them with."""
    if "://" not in pattern:
        import glob

        files = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
        if not files and Path(pattern).is_dir():
            files = sorted(str(p) for p in Path(pattern).rglob("*.parquet"))
        return files, None
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(pattern, **(storage_options or {}))
    except ImportError as e:
        raise ValueError(f"reading {pattern} needs an fsspec backend: {e}") from None
    files = sorted(fs.glob(path)) if any(c in path for c in "*?[") else [path]
    return files, fs


def select(pattern: str, langs: dict, out_dir: Path, storage_options: dict | None = None) -> dict:
    """Writes ``out_dir/selection.parquet`` (the index rows to read) and returns the counts; a rerun with
    the selection already written reads its counts back."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    out_dir.mkdir(parents=True, exist_ok=True)
    counts_path = out_dir / "selection.json"
    if (out_dir / SELECTION).is_file() and counts_path.is_file():
        return json.loads(counts_path.read_text(encoding="utf-8"))
    files, fs = index_files(pattern, storage_options)
    if not files:
        raise ValueError(f"--cc-index {pattern}: no index files there (Common Crawl's columnar index: "
                         "cc-index/table/cc-main/warc/crawl=CC-MAIN-YYYY-WW/subset=warc/*.parquet)")
    if fs is not None:
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        fs = PyFileSystem(FSSpecHandler(fs))
    try:
        dataset = pads.dataset(files, format="parquet", filesystem=fs, partitioning="hive")
    except (OSError, pa.ArrowInvalid) as e:
        raise ValueError(f"--cc-index {pattern}: not readable as Parquet: {e}") from None
    missing = [c for c in INDEX_COLUMNS if c not in dataset.schema.names]
    if missing:
        raise ValueError(f"--cc-index {pattern}: not Common Crawl's columnar index (no column {', '.join(missing)})")
    codes = sorted({c for lang in langs.values() for c in lang.cc_languages})
    tlds = sorted({t.lower() for lang in langs.values() for t in lang.cctlds})
    wanted = (pc.field("fetch_status") == 200) & pc.field("content_mime_detected").isin(HTML_MIMES)
    if "subset" in dataset.schema.names:
        wanted &= pc.field("subset") == "warc"
    language_re = f"(^|,)({'|'.join(codes)})(,|$)" if codes else "$^"
    scanned = scanned_bytes = 0
    batches = []
    for batch in dataset.to_batches(columns=INDEX_COLUMNS + (["subset"] if "subset" in dataset.schema.names else [])):
        scanned += batch.num_rows
        scanned_bytes += pc.sum(batch.column("warc_record_length")).as_py() or 0
        table = pa.Table.from_batches([batch]).filter(wanted)
        if not table.num_rows:
            continue
        by_lang = pc.fill_null(pc.match_substring_regex(table.column("content_languages"), language_re), False)
        by_tld = pc.fill_null(pc.is_in(pc.utf8_lower(table.column("url_host_tld")), pa.array(tlds)), False)
        table = table.filter(pc.or_(by_lang, by_tld)).select(INDEX_COLUMNS)
        if table.num_rows:
            batches.append(table)
    schema = pa.schema([(c, dataset.schema.field(c).type) for c in INDEX_COLUMNS])
    selected = pa.concat_tables(batches).cast(schema) if batches else schema.empty_table()
    selected = selected.sort_by([("warc_filename", "ascending"), ("warc_record_offset", "ascending")])
    tmp = out_dir / f".{SELECTION}.tmp"
    pq.write_table(selected, tmp)
    os.replace(tmp, out_dir / SELECTION)
    counts = {"index": pattern, "index_files": len(files), "scanned_records": scanned, "scanned_bytes": scanned_bytes,
              "selected_records": selected.num_rows,
              "selected_bytes": pc.sum(selected.column("warc_record_length")).as_py() or 0 if selected.num_rows else 0,
              "cc_languages": codes, "cctlds": tlds}
    counts["byte_share"] = round(counts["selected_bytes"] / scanned_bytes, 4) if scanned_bytes else 0.0
    tmp = out_dir / ".selection.json.tmp"
    tmp.write_text(json.dumps(counts, indent=2), encoding="utf-8")
    os.replace(tmp, counts_path)
    return counts


class RangeError(Exception):
    pass


class RangeClient:
    """Reads byte ranges of files under ``base``: http(s) with Range requests (206 required), a local
    folder, or any fsspec URL. Retries timeouts, connection errors, 429 and 5xx with backoff."""

    def __init__(self, base: str, timeout: float = 60.0, retries: int = 3, backoff: float = 1.0,
                 storage_options: dict | None = None):
        self.base, self.timeout, self.retries, self.backoff = base, timeout, retries, backoff
        self.storage_options = storage_options or {}
        self._fs = None

    def url(self, name: str) -> str:
        if "://" in name or name.startswith("/"):
            return name
        return self.base.rstrip("/") + "/" + name.lstrip("/")

    def read(self, name: str, offset: int, length: int) -> bytes:
        url = self.url(name)
        last = None
        for attempt in range(self.retries + 1):
            try:
                return self._read(url, offset, length)
            except RangeError as e:
                last = e
                if e.args[1:] != ("retry",):
                    break
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise last

    def _read(self, url: str, offset: int, length: int) -> bytes:
        if url.startswith(("http://", "https://")):
            return self._http(url, offset, length)
        if "://" not in url or url.startswith("file://"):
            path = url.removeprefix("file://")
            try:
                with open(path, "rb") as fh:
                    fh.seek(offset)
                    data = fh.read(length)
            except OSError as e:
                raise RangeError(f"{path}: {e.strerror or e}") from None
        else:
            data = self._fsspec(url, offset, length)
        if len(data) != length:
            raise RangeError(f"{url}: {len(data)} of {length} bytes at {offset}")
        return data

    def _http(self, url: str, offset: int, length: int) -> bytes:
        import http.client
        import urllib.error
        import urllib.request

        from mella import __version__

        req = urllib.request.Request(url, headers={"Range": f"bytes={offset}-{offset + length - 1}",
                                                   "User-Agent": f"mella/{__version__} (Common Crawl index reader)"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                if resp.status != 206:
                    raise RangeError(f"{url}: HTTP {resp.status} to a range request (the server must answer 206)")
                data = resp.read(length + 1)
        except urllib.error.HTTPError as e:
            retry = "retry" if e.code in (408, 429) or e.code >= 500 else "final"
            raise RangeError(f"{url}: HTTP {e.code}", retry) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as e:
            raise RangeError(f"{url}: {getattr(e, 'reason', None) or e}", "retry") from None
        if len(data) != length:
            raise RangeError(f"{url}: {len(data)} of {length} bytes at {offset}", "retry")
        return data

    def _fsspec(self, url: str, offset: int, length: int) -> bytes:
        import fsspec

        try:
            if self._fs is None:
                self._fs, _ = fsspec.core.url_to_fs(url, **self.storage_options)
            return self._fs.cat_file(url, start=offset, end=offset + length)
        except ImportError as e:
            raise RangeError(f"{url}: needs an fsspec backend ({e})") from None
        except Exception as e:  # noqa: BLE001 - backends raise their own errors; one record fails, not the task
            raise RangeError(f"{url}: {type(e).__name__}: {e}", "retry") from None


class CCRecordReader(InputReader):
    """Reads this task's rows of a Common Crawl selection by range requests into page Documents."""

    name = "📥 Common Crawl by index"

    def __init__(self, selection: str | Path, base: str, rows_per_task: int, max_page_bytes: int = 8_000_000,
                 allowed_status: tuple[int, ...] = (200, 203), exclusion_writer=None, timeout: float = 60.0,
                 retries: int = 3, backoff: float = 1.0, concurrency: int = 8, storage_options: dict | None = None):
        super().__init__([], max_page_bytes, allowed_status, exclusion_writer)
        self.selection, self.rows_per_task, self.concurrency = str(selection), rows_per_task, concurrency
        self.client = RangeClient(base, timeout, retries, backoff, storage_options)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow.parquet as pq

        if data:
            yield from data
        table = pq.read_table(self.selection).slice(rank * self.rows_per_task, self.rows_per_task)
        rows = table.to_pylist()

        def fetch(row):
            try:
                return self.client.read(row["warc_filename"], row["warc_record_offset"], row["warc_record_length"])
            except RangeError as e:
                return e

        with self.sink(), self.progress("record") as bar, ThreadPoolExecutor(self.concurrency) as pool:
            bar.total = len(rows)
            for row, payload in zip(rows, pool.map(fetch, rows)):  # in order: deterministic output
                bar.update(1)
                self.counts["cc_records"] += 1
                yield from self._record(row, payload, rank)

    def _record(self, row: dict, data, rank: int) -> DocumentsPipeline:
        from fastwarc.warc import WarcRecordType

        from mella.warcscan import iter_records

        name = PurePosixPath(row["warc_filename"])
        where = f"{row['warc_filename']}@{row['warc_record_offset']}"
        meta = {"page.url": row["url"], "source.file": self.client.url(row["warc_filename"]),
                "source.offset": row["warc_record_offset"]}
        if isinstance(data, RangeError):
            meta["page.error"] = str(data.args[0])[:500]
            self.drop(Document(text="", id=where, metadata=meta), "cc_fetch_error", rank)
            return
        if data[:2] == b"\x1f\x8b":
            try:  # one member: a corrupt one is this record's loss only
                gzip.decompress(data)
            except (OSError, EOFError, gzip.BadGzipFile) as e:
                meta["page.error"] = f"corrupt gzip member: {e}"[:500]
                self.drop(Document(text="", id=where, metadata=meta), "warc_framing_error", rank)
                return
        wanted = WarcRecordType.response | WarcRecordType.resource | WarcRecordType.revisit
        problems = []
        for record, payload in iter_records(io.BytesIO(data), wanted, problems.append,
                                            max_payload=self.max_page_bytes * 4):
            doc = self._warc_record(record, payload, name, 0, rank)
            if doc is not None:
                doc.metadata.update({"source.file": meta["source.file"], "source.offset": meta["source.offset"]})
                yield doc
            return
        meta["page.error"] = "; ".join(p.detail for p in problems)[:500] or "no WARC record in the range"
        self.drop(Document(text="", id=where, metadata=meta), "warc_framing_error", rank)
