"""Images stored once, by content: ``<root>/<sha256[:2]>/<sha256>.<ext>``.

The name is the SHA-256 of the file's own bytes, so a file can be checked against its name and the
same image fetched twice (or by two workers at once) is one file. Writes go to a temporary name and
are renamed into place: a killed run leaves no half file under a final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class ImageStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    @staticmethod
    def relpath(sha256: str, ext: str) -> str:
        return f"{sha256[:2]}/{sha256}.{ext}"

    def path(self, sha256: str, ext: str) -> Path:
        return self.root / self.relpath(sha256, ext)

    def put(self, data: bytes, ext: str) -> str:
        """Stores ``data`` (if not there yet); returns its SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha, ext)
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".", suffix=".tmp")
            os.fchmod(fd, 0o644)  # mkstemp makes 0600: store files are as readable as any other output
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, final)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return sha

    def get(self, sha256: str, ext: str) -> bytes:
        return self.path(sha256, ext).read_bytes()

    def has(self, sha256: str, ext: str) -> bool:
        return self.path(sha256, ext).is_file()
