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


def check_exists(url: str, timeout: float = 20.0) -> None:
    """FileNotFoundError naming the URL when it names no file (an HTTP 404, a missing key), ValueError when
    the server or store cannot be reached: before any work, as for a missing local file."""
    if url.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(url, headers={"Range": "bytes=0-0", "User-Agent": "mella"})
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                return
        except urllib.error.HTTPError as e:
            if e.code in (404, 410):
                raise FileNotFoundError(f"input not found: {url} (HTTP {e.code})") from None
            return  # the server answered: the reader reports other statuses per record
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            raise ValueError(f"cannot reach {url} ({getattr(e, 'reason', e)})") from None
    try:
        fs, path = _fs(url)
        found = fs.exists(path)
    except ValueError:
        raise
    except Exception as e:  # noqa: BLE001 - botocore and fsspec raise many kinds; one message each
        raise _remote_error(url, e) from None
    if not found:
        raise FileNotFoundError(f"input not found: {url}")


def expand_remote(url: str) -> list[str]:
    """The files a URL names: itself, or the matches of a glob in an fsspec filesystem (s3://bucket/*.warc.gz)."""
    if not any(c in url for c in "*?["):
        check_exists(url)
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



# -- record tables in object storage ----------------------------------------------------------------
# A stage's output folder can be a URL (``--out s3://bucket/run/mined``): the job writes a local mirror of it
# (``$MELLA_CACHE_DIR/remote/<protocol>/<bucket>/<path>``), resumable as any local folder, and uploads the
# files when it ends. A URL given as a stage's input is downloaded into the same mirror first, with the
# image store its manifest names (relative paths between stage folders hold in the mirror as in the bucket).

_UPLOAD_LAST = ("table.json", "stats.json", "README.md")  # a reader sees the manifest once the shards are there


def url_of(value) -> str | None:
    """The URL in a command-line value (typer's Path turns ``s3://b/x`` into ``s3:/b/x``), or None."""
    import re

    text = str(value)
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):/+(.*)$", text)
    if not m or m.group(1).lower() == "file" or len(m.group(1)) < 2:
        return None
    return f"{m.group(1).lower()}://{m.group(2)}"


def mirror_of(url: str):
    """The local folder that mirrors ``url``."""
    from pathlib import Path

    from mella.cache import cache_dir

    protocol, _, rest = url.partition("://")
    parts = [p for p in rest.split("/") if p not in ("", ".", "..")]
    return Path(cache_dir()) / "remote" / protocol / Path(*parts)


def _fs(url: str):
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as e:
        raise ValueError(f"{url}: this kind of URL needs its fsspec package ({e}; for s3://: pip install "
                         "'mella[s3]')") from None


def download_folder(url: str):
    """Copies the files under ``url`` into its mirror (files already there with the same size are kept) and
    returns the mirror; the image store its ``table.json`` names is downloaded too. ValueError when the URL
    holds no files."""
    import json
    import posixpath

    fs, root = _fs(url)
    local = mirror_of(url)
    try:
        files = [f for f in fs.find(root) if not f.endswith("/")]
    except Exception as e:  # noqa: BLE001 - botocore and fsspec raise many kinds; one message each
        raise _remote_error(url, e) from None
    if not files:
        raise ValueError(f"{url} holds no files (a mella output folder was expected)")
    for remote in files:
        target = local / posixpath.relpath(remote, root)
        size = fs.size(remote)
        if target.is_file() and target.stat().st_size == size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        fs.get_file(remote, str(tmp))
        tmp.replace(target)
    manifest = local / "table.json"
    if manifest.is_file():
        store = json.loads(manifest.read_text(encoding="utf-8")).get("image_store")
        if store and store not in (".", "images") and not store.startswith("images/"):
            protocol = url.partition("://")[0]
            store_url = f"{protocol}://{posixpath.normpath(posixpath.join(root, store))}"
            download_folder(store_url)
    return local


def upload_folder(local, url: str) -> int:
    """Uploads every file under ``local`` to ``url`` (lock and temporary files aside), the manifest, stats
    and card last; returns the number of files."""
    from pathlib import Path

    fs, root = _fs(url)
    local = Path(local)
    files = [p for p in sorted(local.rglob("*")) if p.is_file() and not p.name.startswith(".")
             and not p.name.endswith((".lock", ".tmp", ".part"))]
    files.sort(key=lambda p: p.relative_to(local).as_posix() in _UPLOAD_LAST)
    there = {}
    try:
        there = {f: info.get("size") for f, info in fs.find(root, detail=True).items()}
    except Exception:  # noqa: BLE001 - nothing listed: upload everything
        pass
    sent = 0
    for path in files:
        target = f"{root.rstrip('/')}/{path.relative_to(local).as_posix()}"
        # a file already there with the same size is the same file (shards are never rewritten in place;
        # the manifest, stats and card are always sent)
        if there.get(target) == path.stat().st_size and path.name not in _UPLOAD_LAST and path.name != "job.json":
            continue
        fs.put_file(str(path), target)
        sent += 1
    return sent


def _remote_error(url: str, e: Exception) -> ValueError:
    name = type(e).__name__
    text = str(e).splitlines()[0] if str(e) else name
    if "NoSuchBucket" in name or "bucket does not exist" in text.lower() or isinstance(e, FileNotFoundError):
        bucket = url.partition("://")[2].split("/", 1)[0]
        return ValueError(f"{url}: bucket {bucket!r} does not exist (create it first, or fix the URL)")
    if "Credentials" in name or "credentials" in text.lower():
        return ValueError(f"{url}: no credentials for this store (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a "
                          f"profile; for another endpoint AWS_ENDPOINT_URL)")
    if "Endpoint" in name or "connect" in text.lower():
        return ValueError(f"{url}: the store does not answer ({text}); check AWS_ENDPOINT_URL and the network")
    return ValueError(f"{url}: {text} ({name})")


def prepare_output(url: str):
    """The local mirror for an output URL, checked before any work: the store answers, the bucket exists;
    a prefix that already holds a mella output is downloaded into the mirror first (the run then resumes
    it, or is refused as a different job, as in a local folder); one holding other files is refused."""
    try:
        fs, root = _fs(url)
        bucket = root.split("/", 1)[0]
        fs.ls(bucket)  # the bucket exists and the credentials work
        files = [f for f in fs.find(root) if not f.endswith("/")] if fs.exists(root) else []
    except ValueError:
        raise
    except Exception as e:  # noqa: BLE001 - botocore and fsspec raise many kinds; one message each
        raise _remote_error(url, e) from None
    if files:
        names = {f.rsplit("/", 1)[-1] for f in files}
        if "job.json" not in names:
            raise ValueError(f"--out {url} holds {len(files)} files that are not a mella output "
                             f"(e.g. {files[0].rsplit('/', 1)[-1]}); give an empty prefix")
        return download_folder(url)
    return mirror_of(url)
