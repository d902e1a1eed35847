"""Columnar, batched, atomic Parquet writer (also used as the shared exclusion sink).

datatrove's ParquetWriter builds one dict per document (~150 us each, measured); this one appends to
column lists and converts a batch at a time. Files are written under a hidden temporary name and renamed
when complete, so a killed run never leaves a half file under a name that a reader would pick up.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from mella.schema import EXCLUDED_TEXT_CAP, Column
from mella.steps.base import record_lang

_NUMPY_TYPES = {"float32": "float32", "int32": "int32", "int64": "int64"}


def to_arrow(values: list, typ: str, arrow_type=None):
    """A column from Python values (None = null) via Arrow buffers. ``pa.array`` would do, but it imports
    pandas on first use when pandas is installed (+0.4 s start-up, measured); it is used only for
    carried columns of other types (``typ == "arrow"``)."""
    import numpy as np
    import pyarrow as pa

    if typ == "arrow":
        return pa.array(values, type=arrow_type)
    n = len(values)
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    null_count = n - int(valid.sum())
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if null_count else None
    if typ in ("string", "binary"):
        if typ == "string":
            encoded = [v.encode("utf-8", "replace") if isinstance(v, str) else (b"" if v is None else str(v).encode())
                       for v in values]
        else:
            encoded = [b"" if v is None else bytes(v) for v in values]
        sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
        large = int(sizes.sum()) >= 2**31 - 1  # int32 offsets overflow past 2 GiB in one batch
        offsets = np.zeros(n + 1, dtype=np.int64 if large else np.int32)
        np.cumsum(sizes, out=offsets[1:], dtype=offsets.dtype)
        arrow_type = {("string", False): pa.string(), ("string", True): pa.large_string(),
                      ("binary", False): pa.binary(), ("binary", True): pa.large_binary()}[(typ, large)]
        return pa.Array.from_buffers(arrow_type, n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                     null_count=null_count)
    if typ == "bool":
        data = np.fromiter((bool(v) for v in values), dtype=bool, count=n)
        return pa.Array.from_buffers(pa.bool_(), n, [bitmap, pa.py_buffer(np.packbits(data, bitorder="little"))],
                                     null_count=null_count)
    dtype = _NUMPY_TYPES[typ]
    data = np.fromiter((0 if v is None else v for v in values), dtype=dtype, count=n)
    return pa.Array.from_buffers(getattr(pa, typ)(), n, [bitmap, pa.py_buffer(data)], null_count=null_count)


def arrow_type(column: Column):
    import pyarrow as pa

    if column.type == "arrow":
        return column.arrow
    return pa.bool_() if column.type == "bool" else getattr(pa, column.type)()


class ParquetShardWriter(PipelineStep):
    """Writes Documents to ``{folder}/{prefix}-{rank:05d}-{part:04d}.parquet``.

    As a pipeline step it consumes the stream (terminal). As an exclusion sink it is shared by every
    step that drops records: each enters it as a context manager; the file closes when the last exits.
    """

    type = "💽 - WRITER"
    name = "🧱 Parquet (columnar)"

    def __init__(self, folder: str | Path, columns: list[Column], prefix: str = "data",
                 rows_per_file: int = 200_000, batch_rows: int = 8192, compression: str = "zstd",
                 excluded: bool = False):
        super().__init__()
        self.folder = Path(folder)
        self.columns = columns
        self.prefix = prefix
        self.rows_per_file = rows_per_file
        self.batch_rows = batch_rows
        self.compression = compression
        self.excluded = excluded  # exclusion sink: caps long texts (counting is done by the dropping steps)
        # a row = (id, text, image url, *metadata values); flush reorders it into the schema
        self._meta_keys = [c.key for c in columns if c.key is not None]
        fields = {"id": 0, "text": 1, "image_url": 2}
        meta_pos = {key: 3 + i for i, key in enumerate(self._meta_keys)}
        unknown = [c.name for c in columns if c.key is None and c.name not in fields]
        if unknown:
            raise ValueError(f"columns {unknown} need a metadata key")
        self._order = [fields[c.name] if c.key is None else meta_pos[c.key] for c in columns]
        self._kept: Counter = Counter()
        self._users = 0
        self._reset()

    def _reset(self) -> None:
        self._rows: list[tuple] = []
        self._writer = None
        self._tmp: Path | None = None
        self._final: Path | None = None
        self._part = 0
        self._rows_in_file = 0
        self._rank: int | None = None

    # -- sink protocol -------------------------------------------------------------------------------
    def __enter__(self) -> ParquetShardWriter:
        self._users += 1
        return self

    def __exit__(self, *exc) -> None:
        self._users -= 1
        if self._users <= 0:
            self._users = 0
            self.close()

    def write(self, doc: Document, rank: int = 0, **_) -> None:
        if self._rank is None:
            self._start_rank(rank)
        meta = doc.metadata
        media = doc.media[0] if doc.media else None
        self._rows.append((doc.id, doc.text, media.url if media else None, *map(meta.get, self._meta_keys)))
        if not self.excluded:
            self._kept[record_lang(meta)] += 1
        if len(self._rows) >= self.batch_rows:
            self._flush()

    # -- pipeline step -------------------------------------------------------------------------------
    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self:
            self._start_rank(rank)
            for doc in data:
                self.write(doc, rank)
        return
        yield  # a generator that yields nothing: the writer ends the pipeline

    # -- files ---------------------------------------------------------------------------------------
    def _start_rank(self, rank: int) -> None:
        if self._rank == rank:
            return
        self._rank = rank
        self.folder.mkdir(parents=True, exist_ok=True)
        # a rerun of this rank replaces whatever an interrupted run left
        for stale in self.folder.glob(f"{self.prefix}-{rank:05d}-*.parquet"):
            stale.unlink()
        for stale in self.folder.glob(f".{self.prefix}-{rank:05d}-*.tmp"):
            stale.unlink()

    def _schema(self):
        import pyarrow as pa

        return pa.schema([(c.name, arrow_type(c)) for c in self.columns])

    def _open(self) -> None:
        import pyarrow.parquet as pq

        name = f"{self.prefix}-{self._rank:05d}-{self._part:04d}"
        self._final = self.folder / f"{name}.parquet"
        self._tmp = self.folder / f".{name}.tmp"
        self._writer = pq.ParquetWriter(self._tmp, self._schema(), compression=self.compression)
        self._rows_in_file = 0

    def _flush(self) -> None:
        import pyarrow as pa

        n = len(self._rows)
        if n == 0:
            return
        if self._writer is None:
            self._open()
        by_position = list(zip(*self._rows))
        arrays = []
        for position, column in zip(self._order, self.columns):
            values = list(by_position[position])
            if self.excluded and column.type == "string":
                values = [v[:EXCLUDED_TEXT_CAP] if isinstance(v, str) and len(v) > EXCLUDED_TEXT_CAP else v
                          for v in values]
            arrays.append(to_arrow(values, column.type, column.arrow))
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema()))
        self._rows = []
        self._rows_in_file += n
        if self._rows_in_file >= self.rows_per_file:
            self._finish_file()

    def _finish_file(self) -> None:
        self._writer.close()
        os.replace(self._tmp, self._final)
        self._writer = None
        self._part += 1

    def close(self) -> None:
        for lang, n in self._kept.items():
            self.stat_update(f"kept:{lang}", value=n)
        self._kept.clear()
        if self._rank is None:
            return
        self._flush()
        if self._writer is not None:
            self._finish_file()
        self._reset()



def write_rows(folder: str | Path, prefix: str, columns: list[Column], rows: list[dict],
               rows_per_file: int = 200_000, compression: str = "zstd", metadata: dict | None = None) -> list[Path]:
    """Rows (dicts by column name) to ``{folder}/{prefix}-{part:05d}.parquet``, each file written under a
    hidden name and renamed when complete; stale parts of an earlier run with the same prefix are removed.
    No rows, no file (``datasets`` cannot load a Parquet file of zero rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{prefix}-*.parquet"):
        stale.unlink()
    schema = pa.schema([(c.name, arrow_type(c)) for c in columns], metadata=metadata)
    written = []
    for part, start in enumerate(range(0, len(rows), rows_per_file)):
        chunk = rows[start:start + rows_per_file]
        arrays = [to_arrow([r.get(c.name) for r in chunk], c.type, c.arrow) for c in columns]
        final = folder / f"{prefix}-{part:05d}.parquet"
        tmp = folder / f".{prefix}-{part:05d}.tmp"
        pq.write_table(pa.Table.from_arrays(arrays, schema=schema), tmp, compression=compression)
        os.replace(tmp, final)
        written.append(final)
    return written
