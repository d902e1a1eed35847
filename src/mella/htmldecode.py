"""Bytes of an HTTP response -> HTML text: content-encoding, chunking and charset, with hard caps."""

from __future__ import annotations

import codecs
import re
import zlib

from mella.errors import NamedError

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]{1,40})""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.\-]{1,40})", re.I)
# WHATWG encoding-standard aliases that matter on the web
_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
            "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
            "x-sjis": "shift_jis", "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "windows-874": "cp874",
            "tis-620": "cp874", "iso-8859-11": "cp874", "utf8": "utf-8", "unicode": "utf-8"}


class DecodeError(NamedError):
    """The payload cannot be turned into text; ``kind`` is the named drop reason."""


def dechunk(body: bytes, limit: int) -> bytes:
    """Undo HTTP/1.1 chunked transfer encoding (lenient: a truncated last chunk is kept). Archived crawls
    often store the body already de-chunked under a ``chunked`` header: a body that does not parse as
    chunks (no size line, or nothing decoded) is returned as it is."""
    out = bytearray()
    pos = 0
    while pos < len(body):
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            break
        size_field = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            if not out:
                return body  # not chunked after all
            break
        if size == 0:
            break
        out += body[eol + 2 : eol + 2 + size]
        if len(out) > limit:
            raise DecodeError("page_too_large", f"> {limit} bytes after de-chunking")
        pos = eol + 2 + size + 2
    return bytes(out) if out else body


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo gzip/deflate content-encoding, stopping at ``limit`` bytes (decompression bombs)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity", "none"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise DecodeError("unsupported_content_encoding", encoding)
    wbits = 47 if encoding != "deflate" else (15 if body[:1] == b"\x78" else -15)  # 47: auto gzip/zlib
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(body, limit + 1)
    except zlib.error as e:
        raise DecodeError("corrupt_content_encoding", str(e)) from None
    if not out and not d.eof:  # a truncated stream that yields something is kept (crawls cut bodies)
        raise DecodeError("corrupt_content_encoding", "stream ends before any data")
    if len(out) > limit:
        raise DecodeError("page_too_large", f"inflates past {limit} bytes")
    return out


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def charset_from_header(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _normalise(m.group(1)) if m else None


_CONTROL_BYTES = bytes(range(9)) + bytes(range(14, 32))
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def looks_binary(body: bytes) -> bool:
    """NUL bytes or many control characters in the first KiB: not an HTML document."""
    head = body[:1024]
    if b"\x00" in head:
        return True
    return len(head.translate(None, _NOT_CONTROL)) > len(head) // 20


def to_utf8(body: bytes, header_charset: str | None = None) -> tuple[bytes, str]:
    """(UTF-8 bytes, source charset): what the HTML parser gets (lexbor reads bytes as UTF-8 and is
    fastest on bytes). Charset order: BOM, HTTP header, ``<meta charset>``, strict UTF-8, detection.
    Declared UTF-8 passes through untouched (invalid sequences become U+FFFD in the parser, and
    alt-texts with them are dropped as mojibake); other charsets are transcoded."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:], "utf-8"
    if looks_binary(body):
        raise DecodeError("binary_content", "NUL/control bytes in what claims to be HTML")
    meta = _META_CHARSET.search(body[:4096])
    meta_charset = _normalise(meta.group(1).decode("ascii", "ignore")) if meta else None
    if (header_charset or meta_charset) == "utf-8":
        return body, "utf-8"
    tried: list[str] = []
    for cand in (header_charset, meta_charset, "utf-8"):
        if cand and cand not in tried:
            tried.append(cand)
            try:
                text = body.decode(cand)
            except (UnicodeDecodeError, LookupError):
                continue
            return (body if cand == "utf-8" else text.encode("utf-8")), cand
    from charset_normalizer import from_bytes

    best = from_bytes(body[:65536]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, "replace").encode("utf-8"), best.encoding
    raise DecodeError("undecodable_charset", f"tried {tried} and detection")


# elements that do not nest (void elements) or that the parser closes implicitly: not counted as depth
_FLAT_TAGS = (b"img", b"br", b"hr", b"meta", b"link", b"input", b"area", b"base", b"col", b"embed", b"param",
              b"source", b"track", b"wbr", b"p", b"li", b"td", b"tr", b"th", b"option", b"dt", b"dd")
_NAME_BYTES = 7


def _name_key(names, lengths):
    import numpy as np

    keys = np.zeros(len(lengths), dtype=np.int64)
    for j in range(_NAME_BYTES):
        keys = keys * 37 + np.where(j < lengths, names[:, j].astype(np.int64), 0)
    return keys


def tag_depth(html: bytes) -> int:
    """An upper estimate of the page's element nesting depth, from its tags alone (numpy, ~1 ms for a news
    page): opening tags minus closing tags, void and implicitly closed elements and ``<x/>`` not counted.
    The HTML parser's time grows with the square of the depth (100k nested divs: 9 s; 1.5M: hours), so a
    page is refused before parsing when this is too deep."""
    import numpy as np

    arr = np.frombuffer(html, dtype=np.uint8)
    lt = np.flatnonzero(arr[:-1] == 60)  # '<' with a byte after it
    if lt.size == 0:
        return 0
    nxt = arr[lt + 1] | 32
    closing = arr[lt + 1] == 47  # '</'
    opening = (nxt >= 97) & (nxt <= 122)
    start = np.where(closing, lt + 2, lt + 1)
    names = arr[np.minimum(start[:, None] + np.arange(_NAME_BYTES)[None, :], arr.size - 1)] | 32
    alnum = ((names >= 97) & (names <= 122)) | ((names >= 48) & (names <= 57))
    lengths = np.where(alnum.all(axis=1), _NAME_BYTES, alnum.argmin(axis=1))
    flat_names = np.array([[c | 32 for c in t.ljust(_NAME_BYTES, b"\0")] for t in _FLAT_TAGS], dtype=np.uint8)
    flat = np.isin(_name_key(names, lengths), _name_key(flat_names, np.array([len(t) for t in _FLAT_TAGS])))
    gt = np.flatnonzero(arr == 62)  # '>'
    after = np.searchsorted(gt, lt)
    self_closing = np.zeros(lt.size, dtype=bool)
    found = after < gt.size
    self_closing[found] = arr[gt[after[found]] - 1] == 47
    delta = np.where(closing, -1, np.where(opening & ~self_closing, 1, 0))
    delta[flat] = 0
    return int(np.maximum(np.cumsum(delta), 0).max())
