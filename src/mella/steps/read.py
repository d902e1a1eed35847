"""Readers: WARC (fastwarc), folders of HTML files, and tables of existing (image_url, text) pairs.

datatrove's WarcReader uses warcio (several times slower than fastwarc) and drops charset information
from the HTTP header; this reader is mella's own for that reason. Pages become one Document each
(``text`` empty, the UTF-8 HTML in ``media[0].media_bytes`` as a ``MediaType.DOCUMENT``: the parser is
fastest on bytes); pair tables become image-text records directly (``media[0]`` an image).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline, Media, MediaType

from mella.htmldecode import DecodeError, charset_from_header, dechunk, inflate, to_utf8
from mella.remote import is_remote, name_of, open_input
from mella.steps.base import DroppingStep

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz", ".xhtml")
PAIR_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".ndjson")
URL_MAP_NAME = "urls.tsv"  # optional file<TAB>url map inside an HTML folder
HTML_TYPES = ("text/html", "application/xhtml+xml")
# column names accepted for pair tables
TEXT_KEYS = ("text", "alt_text", "alt", "caption", "caption_reference_description")
TEXT_KINDS = {"alt_text": "alt", "alt": "alt"}  # else "caption"
IMAGE_KEYS = ("image_url", "url", "img_url", "image")
PAGE_KEYS = ("page_url", "page", "source_url")


READER_KEYS = frozenset(TEXT_KEYS + IMAGE_KEYS + PAGE_KEYS + ("id", "lang", "language", "text_kind"))


def pair_table_columns(files: list[Path], sample_rows: int = 200) -> list:
    """The columns of the pair tables among ``files`` that the reader does not interpret, to be carried
    through mining as they are: Parquet with their own type; JSON Lines as strings (from the keys of the
    first ``sample_rows`` rows; objects and lists JSON-encoded). Names mella uses itself are not carried."""
    from mella.schema import COLUMNS, Column, unknown_column

    found: dict[str, Column] = {}
    for path in files:
        if input_kind(path) != "pairs":
            continue
        if path.name.lower().endswith(".parquet"):
            import pyarrow.parquet as pq

            try:
                fields = list(pq.read_schema(path))
            except Exception:  # noqa: BLE001 - an unreadable file is reported by the reader
                continue
            for f in fields:
                if f.name not in READER_KEYS and f.name not in found:
                    col = unknown_column(_carried_name(f.name, COLUMNS), f.type)
                    found[f.name] = Column(col.name, col.type, f"extra.{f.name}", col.step, col.meaning, col.arrow)
            continue
        try:
            for index, row in iter_table(path, 1 << 20):
                if index >= sample_rows:
                    break
                if isinstance(row, dict):
                    for key in row:
                        if key not in READER_KEYS and key not in found:
                            found[key] = Column(_carried_name(key, COLUMNS), "string", f"extra.{key}", "(input)",
                                                "carried through unchanged")
        except (OSError, EOFError):
            continue
    return list(found.values())


def _carried_name(key: str, columns) -> str:
    """A pair table's own column keeps its name unless mella uses that name itself (``split``, ``sha256``...):
    then it is carried as ``input_<name>``, so that neither overwrites the other."""
    return f"input_{key}" if key in columns or key == "reason" else key  # reason: excluded/'s own column


def input_kind(path) -> str | None:
    from mella.remote import name_of

    name = name_of(path).lower()
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(PAIR_SUFFIXES):
        return "pairs"
    return None


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files to read, in a stable order: folders are walked, unknown file types are an error; URLs
    (https://, s3://...) name remote WARC files (``mella.remote``)."""
    from mella.remote import expand_remote

    files: list = []
    for item in inputs:
        if is_remote(item):  # https:// (range requests) or an fsspec URL: WARC files only
            urls = expand_remote(str(item))
            if not urls:
                raise FileNotFoundError(f"no input matches {item}")
            bad = [u for u in urls if input_kind(u) != "warc"]
            if bad:
                raise ValueError(f"{bad[0]}: remote inputs are read as WARC/ARC files (.warc, .warc.gz); copy other "
                                 "files here first")
            files += urls
            continue
        path = Path(item)
        if path.is_dir():
            if (path / "table.json").is_file():
                raise ValueError(f"{path} is a mella output folder, not a crawl: `mella mine` reads WARC, HTML and "
                                 "pair-table files; give this folder to the next stage (e.g. `mella fetch`)")
            found = sorted(p for p in path.rglob("*") if p.is_file() and input_kind(p))
            if not found:
                raise ValueError(f"{path} holds no readable input (looked for {', '.join(WARC_SUFFIXES + HTML_SUFFIXES + PAIR_SUFFIXES)})")
            files += found
        elif path.is_file():
            if input_kind(path) is None:
                raise ValueError(f"{path}: not a WARC/ARC, HTML or parquet/jsonl file (by its name)")
            files.append(path)
        else:
            hint = ""
            if re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z]{4})?", str(path)):
                hint = (f" ({str(path)!r} looks like a language code: give several languages as one comma-"
                        "separated list, `--langs ar,ko,vi`)")
            raise FileNotFoundError(f"input not found: {path}{hint}")
    return files


def _load_url_map(folder: Path) -> dict[str, str]:
    tsv = folder / URL_MAP_NAME
    out: dict[str, str] = {}
    if tsv.is_file():
        for line in tsv.read_text(encoding="utf-8").splitlines():
            if "\t" in line and not line.startswith("#"):
                name, url = line.split("\t", 1)
                out[name.strip()] = url.strip()
    return out


class InputReader(DroppingStep):
    """Reads this rank's share of the input files into page Documents (or pair records)."""

    type = "📖 - READER"
    name = "📥 mella input"

    def __init__(self, files: list[str | Path], max_page_bytes: int = 8_000_000,
                 allowed_status: tuple[int, ...] = (200, 203), exclusion_writer=None, carried: list | None = None):
        """``carried``: pair-table columns to keep as they are (``pair_table_columns``)."""
        super().__init__(exclusion_writer)
        self.files = [str(f) for f in files]
        self.carried = [(c.key.removeprefix("extra."), c.key, c.type == "string") for c in carried or []]
        self.max_page_bytes = max_page_bytes
        self.allowed_status = tuple(allowed_status)
        self._url_maps: dict[Path, dict[str, str]] = {}

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        shard = self.files[rank::world_size]
        with self.sink(), self.progress("file") as bar:
            bar.total = len(shard)
            for path in shard:
                bar.update(1)
                self.counts["input_files"] += 1
                kind = input_kind(path)
                reader = {"warc": self.read_warc, "html": self.read_html_file, "pairs": self.read_pairs}[kind]
                yield from reader(path if is_remote(path) else Path(path), rank)

    # -- helpers -------------------------------------------------------------------------------------
    def _page(self, body: bytes, header_charset: str | None, doc_id: str, meta: dict, rank: int):
        """A page Document with its HTML as UTF-8 bytes, or None (dropped with a reason)."""
        doc = Document(text="", id=doc_id, metadata=meta)
        if len(body) > self.max_page_bytes:
            self.drop(doc, "page_too_large", rank)
            return None
        try:
            html, charset = to_utf8(body, header_charset)
        except DecodeError as e:
            self.drop(doc, e.kind, rank)
            return None
        doc.media.append(page_media(html, meta.get("page.url")))
        meta["page.charset"] = charset
        self.counts["pages"] += 1
        return doc

    def _file_error(self, path: Path, reason: str, detail: str, rank: int, index) -> None:
        meta = {"source.file": str(path), "page.error": detail[:500]}
        self.drop(Document(text="", id=f"{name_of(path)}#{index}", metadata=meta), reason, rank)

    # -- WARC ----------------------------------------------------------------------------------------
    def read_warc(self, path: Path, rank: int) -> DocumentsPipeline:
        """Every readable record: broken framing (wrong Content-Length, oversized headers, a corrupt gzip
        member) costs the broken record only (``mella.warcscan``), each break a ``warc_framing_error``."""
        from fastwarc.warc import WarcRecordType

        from mella.warcscan import iter_records

        wanted = WarcRecordType.response | WarcRecordType.resource | WarcRecordType.revisit
        index = -1

        def on_event(event) -> None:
            if event.kind == "length_mismatch":
                self.counts["warc_length_mismatch"] += 1
                return
            resumed = f"; resumed at byte {event.resumed_at}" if event.resumed_at is not None else "; nothing after"
            self._file_error(path, "warc_framing_error", f"after the record at byte {event.offset}: "
                                                         f"{event.detail}{resumed}", rank, f"@{event.offset}")

        try:
            with open_input(path) as fh:  # a local file, or a URL read by range requests
                if _is_arc(fh):
                    self._file_error(path, "arc_format_unsupported", "ARC (pre-WARC) file", rank, 0)
                    return
                records = iter_records(fh, wanted, on_event, max_payload=self.max_page_bytes * 4)
                for index, (record, payload) in enumerate(records):
                    doc = self._warc_record(record, payload, path, index, rank)
                    if doc is not None:
                        yield doc
        except (OSError, EOFError, ValueError, gzip.BadGzipFile) as e:
            # unreadable file (permissions, vanished): keep what was read, record where it broke, go on
            self._file_error(path, "warc_read_error", f"after record {index}: {e}", rank, index + 1)

    def _warc_record(self, record, payload: bytes, path: Path, index: int, rank: int) -> Document | None:
        from fastwarc.warc import WarcRecordType

        if record.record_type == WarcRecordType.revisit:
            self.counts["skipped_revisit"] += 1
            return None
        headers = record.headers
        url = (headers.get("WARC-Target-URI") or "").strip().strip("<>") or None
        if record.record_type == WarcRecordType.response:
            http = record.http_headers
            if http is None:
                self.counts["skipped_no_http_headers"] += 1
                return None
            if http.status_code not in self.allowed_status:
                self.counts["skipped_http_status"] += 1
                return None
            content_type = http.get("Content-Type") or ""
            transfer = (http.get("Transfer-Encoding") or "").lower()
            content_encoding = http.get("Content-Encoding") or ""
        else:  # resource record: the WARC header carries the type
            content_type = headers.get("Content-Type") or ""
            transfer = content_encoding = ""
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime and mime not in HTML_TYPES:
            self.counts["skipped_not_html"] += 1
            return None
        meta = {"page.url": url, "page.date": headers.get("WARC-Date"), "source.file": str(path),
                "source.offset": record.stream_pos}
        doc_id = headers.get("WARC-Record-ID") or f"{name_of(path)}#{index}"
        if payload is None:  # more than max_page_bytes * 4 (compressed) bytes: not read
            self.drop(Document(text="", id=doc_id, metadata=meta), "page_too_large", rank)
            return None
        body = payload
        try:
            if "chunked" in transfer:
                body = dechunk(body, self.max_page_bytes)
            body = inflate(body, content_encoding, self.max_page_bytes)
        except DecodeError as e:
            self.drop(Document(text="", id=doc_id, metadata=meta), e.kind, rank)
            return None
        if not mime and not _sniff_html(body):
            self.counts["skipped_not_html"] += 1
            return None
        return self._page(body, charset_from_header(content_type), doc_id, meta, rank)

    # -- HTML files ----------------------------------------------------------------------------------
    def read_html_file(self, path: Path, rank: int) -> DocumentsPipeline:
        url_map = self._url_maps.get(path.parent)
        if url_map is None:
            url_map = self._url_maps[path.parent] = _load_url_map(path.parent)
        meta = {"page.url": url_map.get(path.name), "source.file": str(path)}
        doc_id = str(path)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(self.max_page_bytes * 4 + 1)
            if path.name.lower().endswith(".gz"):
                raw = inflate(raw, "gzip", self.max_page_bytes)
        except DecodeError as e:
            self.drop(Document(text="", id=doc_id, metadata=meta), e.kind, rank)
            return
        except OSError as e:
            self._file_error(path, "file_read_error", str(e), rank, 0)
            return
        doc = self._page(raw, None, doc_id, meta, rank)
        if doc is not None:
            yield doc

    # -- pair tables ---------------------------------------------------------------------------------
    def read_pairs(self, path: Path, rank: int) -> DocumentsPipeline:
        """Rows of a parquet/jsonl pair table. A bad row costs that row (``bad_json_line``,
        ``undecodable_line``, ``not_an_object``, ``line_too_long``); ids are the row's own ``id`` (or its
        line number) under a key of the file, made unique within the file."""
        import xxhash

        file_key = xxhash.xxh3_64_hexdigest(str(path.resolve()).encode())[:8]
        seen: set[str] = set()
        try:
            for index, row in iter_table(path, self.max_page_bytes):
                if isinstance(row, tuple):  # (reason, detail): a row that could not be read
                    reason, detail = row
                    self._file_error(path, reason, f"line {index + 1}: {detail}", rank, index)
                    continue
                text_key = next((k for k in TEXT_KEYS if row.get(k)), None)
                text = row[text_key] if text_key else None
                image_url = _first(row, IMAGE_KEYS)
                if not isinstance(text, (str, type(None))) or not isinstance(image_url, (str, type(None))):
                    what = "text_not_a_string" if not isinstance(text, (str, type(None))) else "bad_image_url"
                    self._file_error(path, what, f"line {index + 1}: {type(text if what.startswith('text') else image_url).__name__}",
                                     rank, index)
                    continue
                meta = {"page.url": _str(_first(row, PAGE_KEYS)), "source.file": str(path), "record.kind": "pair",
                        "text.kind": str(row.get("text_kind") or TEXT_KINDS.get(text_key, "caption"))}
                if row.get("lang") or row.get("language"):
                    meta["page.lang"] = str(row.get("lang") or row.get("language"))[:20]
                for name, key, as_text in self.carried:
                    if name in row:
                        meta[key] = _as_text(row[name]) if as_text else row[name]
                own = row.get("id") if isinstance(row.get("id"), (str, int)) else None
                doc_id = f"{file_key}:{own if own not in (None, '') else index}"
                if doc_id in seen:
                    doc_id = f"{doc_id}~{index}"
                    self.counts["pair_duplicate_id"] += 1
                seen.add(doc_id)
                doc = Document(text=str(text or ""), id=doc_id,
                               media=[Media(id="0", type=MediaType.IMAGE, url=_str(image_url) or "")], metadata=meta)
                self.counts["pairs"] += 1
                yield doc
        except (OSError, ValueError, EOFError) as e:  # the file itself is unreadable (parquet footer, gzip)
            self._file_error(path, "table_read_error", str(e), rank, "file")


def page_media(html: bytes | str, url: str | None = None) -> Media:
    """The Media that carries a page's HTML (UTF-8 bytes) inside a page Document."""
    data = html.encode("utf-8") if isinstance(html, str) else html
    return Media(id="page", type=MediaType.DOCUMENT, url=url or "", media_bytes=data)


def _first(row: dict, keys: tuple[str, ...]):
    for key in keys:
        if row.get(key):
            return row[key]
    return None


def _str(value) -> str | None:
    return None if value is None else str(value)


def _as_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def iter_table(path: Path, max_line_bytes: int):
    """(index, row dict) per row, or (index, (reason, detail)) for a row that cannot be read."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        index = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                yield index, row
                index += 1
        return
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"  # by content: a gzip file without .gz is still read
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:
        index = 0
        while True:
            raw = fh.readline(max_line_bytes + 1)
            if not raw:
                return
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line without holding it
                    raw = fh.readline(max_line_bytes)
                yield index, ("line_too_long", f"> {max_line_bytes} bytes")
            elif raw.strip():
                yield index, _parse_line(raw)
            index += 1


def _parse_line(raw: bytes):
    try:
        line = raw.decode("utf-8").lstrip("\ufeff")  # a byte-order mark (Windows editors) is not content
    except UnicodeDecodeError as e:
        return "undecodable_line", str(e)[:200]
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        return "bad_json_line", str(e)[:200]
    return row if isinstance(row, dict) else ("not_an_object", type(row).__name__)


def _is_arc(fh) -> bool:
    head = fh.read(64)
    fh.seek(0)
    if head[:2] == b"\x1f\x8b":
        try:
            head = gzip.GzipFile(fileobj=fh).read(64)
        except (OSError, EOFError, zlib.error):  # a corrupt first member: the WARC reader resynchronises
            head = b""
        fh.seek(0)
    return head.startswith(b"filedesc://")


def _sniff_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<div", b"<meta", b"<!--")) or (
        b"<img" in head or b"<html" in head)
