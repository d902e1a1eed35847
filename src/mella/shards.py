"""Reading a dataset directory's output shards (``train-*.parquet``) without pandas.

``ParquetFile`` batches, not ``pq.read_table``: the latter imports pandas when it is installed (+0.4 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def shard_files(folder: Path, prefix: str = "train") -> list[Path]:
    return sorted(Path(folder).glob(f"{prefix}-*.parquet"))


def count_rows(folder: Path, prefix: str = "train") -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in shard_files(folder, prefix))


def iter_rows(folder: Path, columns: list[str] | None = None, prefix: str = "train",
              batch_size: int = 4096) -> Iterator[dict]:
    """Rows as dicts, in file order."""
    import pyarrow.parquet as pq

    for shard in shard_files(folder, prefix):
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=batch_size, columns=columns):
            cols = batch.to_pydict()
            for i in range(batch.num_rows):
                yield {k: v[i] for k, v in cols.items()}
