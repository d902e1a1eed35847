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

    def __init__(self, folder: str | Path, prefix: str, batch_rows: int = 8192):
        super().__init__()
        self.folder = Path(folder)
        self.prefix = prefix
        self.batch_rows = batch_rows

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import pyarrow.parquet as pq

        if data:
            yield from data
        files = sorted(self.folder.glob(f"{self.prefix}-*.parquet"))[rank::world_size]
        keyed = [(col, key) for col, _, key in MINED_COLUMNS if key is not None]
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=self.batch_rows):
                cols = batch.to_pydict()
                for i in range(batch.num_rows):
                    meta = {key: cols[col][i] for col, key in keyed}
                    url = cols["image_url"][i]
                    yield Document(text=cols["alt_text"][i], id=cols["id"][i], metadata=meta,
                                   media=[Media(id="0", type=MediaType.IMAGE, url=url)] if url else [])
