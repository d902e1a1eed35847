"""A content cache for model outputs: key = hash of everything that determines the output (input text or
image hash, backend, model, parameters, prompt version) and nothing else (not the server's address: a
vLLM server that moves keeps its cache). A rerun or a threshold change never recomputes a finished
caption, translation, alignment score or evaluation answer.

Storage: one SQLite file per kind (``$MELLA_CACHE_DIR/<name>.sqlite``) in WAL mode, so many processes of
one machine read and write it at once; opening it costs the same at 200 entries or 200 million (no
file is loaded whole), and a lookup is one indexed query. SQLite's WAL needs the processes on one host:
on a cluster each node keeps its own cache (``MELLA_CACHE_DIR`` on local disk) and ``mella cache merge``
joins them (docs/scale.md). A JSON Lines cache of an earlier mella version is imported once.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

# parameters of a backend that say where it runs, not what it computes: left out of cache keys
PLACEMENT_PARAMS = ("base_url",)


def cache_dir() -> Path:
    return Path(os.environ.get("MELLA_CACHE_DIR", Path.home() / ".cache" / "mella"))


def content_key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def output_params(params: dict) -> dict:
    """A backend's parameters less those that only say where it runs (the server's URL)."""
    return {k: v for k, v in params.items() if k not in PLACEMENT_PARAMS}


_SCHEMA = "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, output TEXT NOT NULL) WITHOUT ROWID"


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=120, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(_SCHEMA)
    return db


class ContentCache:
    """``get(key)`` / ``put(key, value)`` (and ``get_many`` / ``put_many``) over ``<folder>/<name>.sqlite``.
    The connection opens on first use in each process (a cache handed to a worker process reopens it)."""

    def __init__(self, name: str, folder: Path | None = None):
        self.path = (folder or cache_dir()) / f"{name}.sqlite"
        self._db: sqlite3.Connection | None = None
        self._pid = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db, self._pid = connect(self.path), os.getpid()
            self._import_jsonl()
        return self._db

    def get(self, key: str) -> str | None:
        row = self._conn().execute("SELECT output FROM cache WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def get_many(self, keys: list[str]) -> dict[str, str]:
        db, found = self._conn(), {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):  # SQLite's bound-parameter limit
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(db.execute(f"SELECT key, output FROM cache WHERE key IN ({marks})", chunk).fetchall())
        return found

    def put(self, key: str, output: str) -> None:
        self._conn().execute("INSERT OR REPLACE INTO cache (key, output) VALUES (?, ?)", (key, output))

    def put_many(self, items: list[tuple[str, str]]) -> None:
        db = self._conn()
        with _transaction(db):
            db.executemany("INSERT OR REPLACE INTO cache (key, output) VALUES (?, ?)", items)

    def count(self) -> int:  # not __len__: an empty cache must stay truthy
        return self._conn().execute("SELECT COUNT(*) FROM cache").fetchone()[0]

    def _import_jsonl(self) -> None:
        """Imports (once) the JSON Lines file an earlier mella kept beside it, then renames that file."""
        old = self.path.with_suffix(".jsonl")
        if not old.is_file():
            return
        items = []
        with open(old, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                    items.append((str(row["key"]), str(row["output"])))
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut by a crash
        with _transaction(self._db):
            self._db.executemany("INSERT OR IGNORE INTO cache (key, output) VALUES (?, ?)", items)
        try:
            old.rename(old.with_name(old.name + ".imported"))
        except FileNotFoundError:
            pass  # another process imported it at the same time

    def __getstate__(self):  # a worker process opens its own connection
        return {"path": self.path}

    def __setstate__(self, state):
        self.path, self._db, self._pid = state["path"], None, None


class _transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def merge(sources: list[Path], into: Path) -> dict[str, int]:
    """Entries of the cache files ``sources`` (a folder: its ``*.sqlite`` files) added to ``into`` (a file,
    created if missing; or a folder: each source goes to the file of its own name there, so kinds never
    mix). An entry already there is kept. Returns the entries read per source and the total after.
    Every source is checked before anything is written."""
    files: list[Path] = []
    for src in map(Path, sources):
        if src.is_dir():
            found = sorted(src.glob("*.sqlite"))
            if not found:
                raise FileNotFoundError(f"no cache file (*.sqlite) in {src}")
            files += found
        elif src.is_file():
            files.append(src)
        else:
            raise FileNotFoundError(f"no cache file {src}")
    loaded = []
    for src in files:
        try:
            other = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
            rows = other.execute("SELECT key, output FROM cache").fetchall()
            other.close()
        except sqlite3.DatabaseError as e:
            raise ValueError(f"{src} is not a mella cache file: {e}") from None
        loaded.append((src, rows))
    into = Path(into)
    to_folder = into.is_dir() or len({src.name for src in files}) > 1 or str(into).endswith("/")
    if not to_folder and files and into.suffix == ".sqlite" and into.name != files[0].name:
        raise ValueError(f"{files[0]} holds {files[0].stem} entries; merge it into a file of the same name "
                         f"({into.parent / files[0].name}) or into a folder (--into {into.parent}/)")
    read, totals = {}, {}
    for src, rows in loaded:
        target = into / src.name if to_folder else into
        target.parent.mkdir(parents=True, exist_ok=True)
        db = connect(target)
        with _transaction(db):
            db.executemany("INSERT OR IGNORE INTO cache (key, output) VALUES (?, ?)", rows)
        read[str(src)] = len(rows)
        totals[str(target)] = db.execute("SELECT COUNT(*) FROM cache").fetchone()[0]
        db.close()
    total = sum(totals.values())
    return {"read": read, "total": total, "files": totals}
