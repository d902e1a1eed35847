"""Reads record-table shards (``{prefix}-*.parquet``) back into Documents, every column included."""

from __future__ import annotations

from pathlib import Path

from datatrove.data import Document, DocumentsPipeline, Media, MediaType
from datatrove.pipeline.base import PipelineStep

from mella.schema import COLUMNS, Column, unknown_column


def table_columns(folder: str | Path, prefix: str = "train") -> list[Column]:
    """The columns of a folder's shards (from the first file's schema; unknown ones as carried columns)."""
    import pyarrow.parquet as pq

    files = sorted(Path(folder).glob(f"{prefix}-*.parquet"))
    if not files:
        return []
    return [COLUMNS[f.name] if f.name in COLUMNS else unknown_column(f.name, f.type) for f in pq.read_schema(files[0])]


class StagedParquetReader(PipelineStep):
    """Inverse of ParquetShardWriter (datatrove's ParquetReader would need an adapter per column and reads
    row by row). Every column becomes its Document field or metadata key, so that the next writer can
    write it back unchanged."""

    type = "📖 - READER"
    name = "📥 record table"

    def __init__(self, folder: str | Path, prefix: str, batch_rows: int = 8192, shard_rows: int | None = None,
                 columns: list[Column] | None = None):
        """``shard_rows``: task ``rank`` reads rows [rank*shard_rows, (rank+1)*shard_rows) of all files
        in order (instead of whole files by rank). ``columns``: columns whose metadata key is not the
        registry's (a pair table's carried columns, renamed ``input_<name>`` but keyed ``extra.<name>``)."""
        super().__init__()
        self.columns = {c.name: c for c in columns or []}
        self.folder = Path(folder)
        self.prefix = prefix
        self.batch_rows = batch_rows
        self.shard_rows = shard_rows

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import pyarrow.parquet as pq

        if data:
            yield from data
        files = sorted(self.folder.glob(f"{self.prefix}-*.parquet"))
        if self.shard_rows is None:
            files = files[rank::world_size]
            first, last = 0, None
        else:
            first, last = rank * self.shard_rows, (rank + 1) * self.shard_rows
        row = 0
        for path in files:
            pf = pq.ParquetFile(path)
            if last is not None and (row + pf.metadata.num_rows <= first or row >= last):
                row += pf.metadata.num_rows
                continue
            keyed = [(f.name, (self.columns.get(f.name) or COLUMNS.get(f.name)
                               or unknown_column(f.name, f.type)).key) for f in pf.schema_arrow]
            keyed = [(name, key) for name, key in keyed if key is not None]
            for batch in pf.iter_batches(batch_size=self.batch_rows):
                cols = batch.to_pydict()
                urls, texts = cols.get("image_url"), cols.get("text")
                for i in range(batch.num_rows):
                    row += 1
                    if row - 1 < first or (last is not None and row - 1 >= last):
                        continue
                    meta = {key: cols[name][i] for name, key in keyed}
                    url = urls[i] if urls else None
                    media = [Media(id="0", type=MediaType.IMAGE, url=url)] if url else []
                    yield Document(text=texts[i] if texts else "", id=cols["id"][i], metadata=meta, media=media)
