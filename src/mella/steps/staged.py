"""Reads the stage-1 Parquet shards of a multi-task job back into Documents, in rank order."""

from __future__ import annotations

from pathlib import Path

from datatrove.data import Document, DocumentsPipeline, Media, MediaType
from datatrove.pipeline.base import PipelineStep

from mella.schema import MINED_COLUMNS


class StagedParquetReader(PipelineStep):
    """Inverse of ParquetShardWriter for MINED_COLUMNS (datatrove's ParquetReader would need an adapter
    per column and reads row by row)."""

    type = "📖 - READER"
    name = "📥 staged shards"

    def __init__(self, folder: str | Path, prefix: str, batch_rows: int = 8192, columns=None,
                 shard_rows: int | None = None):
        """``shard_rows``: task ``rank`` reads rows [rank*shard_rows, (rank+1)*shard_rows) of all files
        in order (instead of whole files by rank)."""
        super().__init__()
        self.folder = Path(folder)
        self.prefix = prefix
        self.batch_rows = batch_rows
        self.columns = columns or MINED_COLUMNS
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
        keyed = [(col, key) for col, _, key in self.columns if key is not None]
        row = 0
        for path in files:
            pf = pq.ParquetFile(path)
            if last is not None and (row + pf.metadata.num_rows <= first or row >= last):
                row += pf.metadata.num_rows
                continue
            for batch in pf.iter_batches(batch_size=self.batch_rows):
                cols = batch.to_pydict()
                images = cols.get("image")
                for i in range(batch.num_rows):
                    row += 1
                    if row - 1 < first or (last is not None and row - 1 >= last):
                        continue
                    meta = {key: cols[col][i] for col, key in keyed if col in cols}
                    url = cols["image_url"][i]
                    media = Media(id="0", type=MediaType.IMAGE, url=url, media_bytes=images[i] if images else None)
                    yield Document(text=cols["alt_text"][i], id=cols["id"][i], metadata=meta,
                                   media=[media] if url else [])
