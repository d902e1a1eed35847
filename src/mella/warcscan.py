"""WARC iteration that survives broken framing: fastwarc for speed, resynchronisation for everything else.

fastwarc stops at the first record it cannot frame (a Content-Length too small or negative, a header
line past its limit, a corrupt gzip member) and silently lets a Content-Length that is too large swallow
the records after it. Here, a record whose payload holds the start of another WARC record is cut there
(``length_mismatch``), and after any framing failure iteration resumes at the next record start (the next
``WARC/1.x`` header line in a plain file, the next gzip member that decompresses to one in a .warc.gz),
as warcio-style readers do; every resynchronisation is reported with the bytes it skipped. Progress is
guaranteed: a resumption point is always past the previous one.
"""

from __future__ import annotations

import mmap
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# a WARC header line at the start of a line, followed by a header field: the start of a record
_HEADER = re.compile(rb"(?:^|\r?\n)(WARC/1\.[01]\r?\n(?:WARC-|Content-)[A-Za-z-]*:)")
_EMBEDDED = re.compile(rb"\r?\nWARC/1\.[01]\r?\n(?:WARC-|Content-)[A-Za-z-]*:")
GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass
class Event:
    kind: str  # "resync" (framing failure, resumed at the next record) | "length_mismatch" (payload cut)
    offset: int  # file offset of the last record read before the problem (or where the pass started)
    detail: str
    resumed_at: int | None = None  # where reading resumed (None: nothing readable after it)


def embedded_record(payload: bytes) -> int:
    """Position in ``payload`` where another WARC record starts (a Content-Length too large), or -1."""
    # find the literal first (memchr speed): the pattern alone tries every newline of the payload
    pos = payload.find(b"\nWARC/1.")
    while pos >= 0:
        start = pos - 1 if pos > 0 and payload[pos - 1:pos] == b"\r" else pos
        m = _EMBEDDED.match(payload, start)
        if m:
            return m.start()
        pos = payload.find(b"\nWARC/1.", pos + 1)
    return -1


def _is_gzip(fh) -> bool:
    head = fh.read(3)
    fh.seek(0)
    return head == GZIP_MAGIC


def next_record_start(data, after: int, gz: bool) -> int | None:
    """The first offset > ``after`` where a record starts: a gzip member that decompresses to a WARC
    header (.gz), or a WARC header line (plain)."""
    if not gz:
        m = _HEADER.search(data, after + 1)
        return m.start(1) if m else None
    pos = after
    while True:
        pos = data.find(GZIP_MAGIC, pos + 1)
        if pos < 0:
            return None
        try:
            head = zlib.decompressobj(31).decompress(data[pos:pos + 65536], 16)
        except zlib.error:
            continue
        if head.startswith(b"WARC/1."):
            return pos


def iter_records(fh, record_types, on_event: Callable[[Event], None], parse_http: bool = True,
                 max_payload: int = 64 << 20) -> Iterator:
    """Yields ``(record, payload)`` for every readable record of an open WARC file (plain or gzip);
    ``payload`` is None for a record larger than ``max_payload`` (read no further: a video in a crawl
    must not be held in memory)."""
    from fastwarc.warc import ArchiveIterator

    gz = _is_gzip(fh)
    start = 0
    data = None
    pending: Event | None = None  # a resync is reported once the reader is back on track (or gives up)
    while True:
        fh.seek(start)
        last = None  # offset of the last record read in this pass
        failure = None
        try:
            for record in ArchiveIterator(fh, record_types=record_types, parse_http=parse_http):
                if pending is not None:
                    on_event(pending)
                    pending = None
                last = record.stream_pos
                payload = record.reader.read(max_payload + 1)
                cut = embedded_record(payload)
                if cut >= 0:
                    on_event(Event("length_mismatch", last, f"record at {last} holds another record's header "
                                                            f"at payload byte {cut}: cut there"))
                    yield record, payload[:cut]
                    failure = "length_mismatch"
                    break
                yield record, payload if len(payload) <= max_payload else None
        except (OSError, ValueError, EOFError) as e:
            failure = f"{type(e).__name__}: {e}"
        if failure is None:
            if pending is not None:
                on_event(pending)
            return
        if data is None:  # map the file once, only when a file needs resynchronising
            try:
                data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (ValueError, OSError):
                fh.seek(0)
                data = fh.read()
        after = max(start, last if last is not None else start)
        resume = next_record_start(data, after, gz)
        if failure != "length_mismatch" or resume is None:
            if pending is not None and last is None:  # the resumed pass failed at once: the same break
                pending.resumed_at = resume
            else:
                if pending is not None:
                    on_event(pending)
                pending = Event("resync", after, failure[:300], resume)
        if resume is None or resume <= start:
            if pending is not None:
                on_event(pending)
            return
        start = resume
