"""A content cache for model outputs: key = hash of everything that determines the output (input text or
image hash, backend, model, parameters, prompt version). Append-only JSONL, loaded once; a rerun or a
threshold change never recomputes a finished caption, translation or evaluation answer."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("MELLA_CACHE_DIR", Path.home() / ".cache" / "mella"))


def content_key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ContentCache:
    """``get(key)`` / ``put(key, value)`` over ``$MELLA_CACHE_DIR/<name>.jsonl``."""

    def __init__(self, name: str, folder: Path | None = None):
        self.path = (folder or cache_dir()) / f"{name}.jsonl"
        self.entries: dict[str, str] = {}
        if self.path.is_file():
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                        self.entries[row["key"]] = row["output"]
                    except (json.JSONDecodeError, KeyError):
                        continue  # a line cut by a crash
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def put(self, key: str, output: str) -> None:
        self.entries[key] = output
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "output": output}, ensure_ascii=False) + "\n")

    def __getstate__(self):  # processes re-read the file rather than receive a copy
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"].stem, state["path"].parent)
