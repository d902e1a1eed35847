"""Crawl files that are not on this machine: ``https://`` (read by HTTP range requests, no download of the
whole file first) and any fsspec URL (``s3://``, ``gs://``... with that filesystem's package installed).

``open_input`` returns a seekable binary file for a local path or a URL; the WARC reader iterates it as it
would a local file (a resynchronisation after broken framing re-reads from an earlier offset).
"""

from __future__ import annotations

import io
import time


def is_remote(path) -> bool:
    return "://" in str(path) and not str(path).startswith("file://")


def name_of(path) -> str:
    """The file name of a local path or a URL (query and fragment left out)."""
    text = str(path).split("?", 1)[0].split("#", 1)[0]
    return text.rstrip("/").rsplit("/", 1)[-1]


class HTTPRangeFile(io.RawIOBase):
    """A read-only, seekable file over HTTP range requests (the server must answer 206). Transient failures
    (timeouts, connection errors, 429, 5xx) are retried with backoff; others raise OSError."""

    def __init__(self, url: str, timeout: float = 60.0, retries: int = 3, backoff: float = 1.0):
        super().__init__()
        self.url, self.timeout, self.retries, self.backoff = url, timeout, retries, backoff
        self.pos = 0
        self.size = self._size()

    def _request(self, start: int, end: int) -> tuple[int, dict, bytes]:
        import urllib.error
        import urllib.request

        from mella import __version__

        last = None
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url, headers={"Range": f"bytes={start}-{end}",
                                                            "User-Agent": f"mella/{__version__}"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    if resp.status != 206:
                        raise OSError(f"{self.url}: HTTP {resp.status} to a range request (the server must "
                                      "support ranges: answer 206)")
                    return resp.status, dict(resp.headers), resp.read(end - start + 1)
            except urllib.error.HTTPError as e:
                if e.code == 416:
                    return 416, dict(e.headers or {}), b""
                if e.code not in (408, 429) and e.code < 500:
                    raise OSError(f"{self.url}: HTTP {e.code}") from None
                last = OSError(f"{self.url}: HTTP {e.code}")
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = OSError(f"{self.url}: {getattr(e, 'reason', None) or e}")
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise last

    def _size(self) -> int:
        status, headers, _ = self._request(0, 0)
        total = (headers.get("Content-Range") or headers.get("content-range") or "").rpartition("/")[2]
        if status == 416 and total.isdigit():
            return int(total)  # an empty file
        if not total.isdigit():
            raise OSError(f"{self.url}: no file size in Content-Range")
        return int(total)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        if self.pos >= self.size or not len(buffer):
            return 0
        end = min(self.size, self.pos + len(buffer)) - 1
        _, _, data = self._request(self.pos, end)
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n


def open_input(path, buffer_size: int = 8 << 20, timeout: float = 60.0, retries: int = 3):
    """A seekable binary file: a local path, ``http(s)://`` (range requests, read ``buffer_size`` bytes at
    a time) or any fsspec URL."""
    text = str(path)
    if not is_remote(text):
        return open(text.removeprefix("file://"), "rb")
    if text.startswith(("http://", "https://")):
        return io.BufferedReader(HTTPRangeFile(text, timeout, retries), buffer_size=buffer_size)
    import fsspec

    try:
        fs, inner = fsspec.core.url_to_fs(text)
        return fs.open(inner, "rb", block_size=buffer_size)
    except ImportError as e:
        raise OSError(f"{text}: reading this kind of URL needs its fsspec package ({e})") from None


def expand_remote(url: str) -> list[str]:
    """The files a URL names: itself, or the matches of a glob in an fsspec filesystem (s3://bucket/*.warc.gz)."""
    if not any(c in url for c in "*?["):
        return [url]
    if url.startswith(("http://", "https://")):
        raise ValueError(f"{url}: a glob needs a listable filesystem (s3://, gs://...), not HTTP; list the files")
    import fsspec

    try:
        fs, pattern = fsspec.core.url_to_fs(url)
    except ImportError as e:
        raise ValueError(f"{url}: reading this kind of URL needs its fsspec package ({e})") from None
    protocol = url.split("://", 1)[0]
    return sorted(f"{protocol}://{p}" for p in fs.glob(pattern))

