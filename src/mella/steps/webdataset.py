"""webdataset tar shards: ``{key}.{jpg|webp|png}`` + ``{key}.json`` per record, written atomically."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

_KEY = re.compile(r"[^A-Za-z0-9_\-]")


class WebDatasetWriter(PipelineStep):
    """Writes each record's image and metadata to ``{folder}/{prefix}-{rank:05d}-{part:04d}.tar`` and passes
    the record on (so a Parquet writer can follow it)."""

    type = "💽 - WRITER"
    name = "📦 webdataset"

    def __init__(self, folder: str | Path, prefix: str = "images", records_per_shard: int = 10_000,
                 json_keys: tuple[str, ...] = ()):
        super().__init__()
        self.folder, self.prefix, self.records_per_shard = Path(folder), prefix, records_per_shard
        self.json_keys = json_keys

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in list(self.folder.glob(f"{self.prefix}-{rank:05d}-*.tar")) + list(
                self.folder.glob(f".{self.prefix}-{rank:05d}-*.tmp")):
            stale.unlink()
        part, count, tar, tmp = 0, 0, None, None
        completed = False
        try:
            for doc in data:
                if tar is None:
                    name = f"{self.prefix}-{rank:05d}-{part:04d}"
                    tmp = self.folder / f".{name}.tmp"
                    tar = tarfile.open(tmp, "w")
                key = _KEY.sub("_", doc.id)
                meta = {"id": doc.id, "text": doc.text, "image_url": doc.media[0].url}
                meta |= {k: doc.metadata.get(k) for k in self.json_keys}
                ext = doc.metadata.get("img.ext", "jpg")
                for member, payload in ((f"{key}.{ext}", doc.media[0].media_bytes),
                                        (f"{key}.json", json.dumps(meta, ensure_ascii=False).encode())):
                    info = tarfile.TarInfo(member)
                    info.size = len(payload)
                    info.mtime = 0
                    tar.addfile(info, io.BytesIO(payload))
                count += 1
                self.stat_update("images_written")
                yield doc
                if count >= self.records_per_shard:
                    tar.close()
                    os.replace(tmp, self.folder / f"{self.prefix}-{rank:05d}-{part:04d}.tar")
                    tar, part, count = None, part + 1, 0
            completed = True
        finally:
            if tar is not None:
                tar.close()
                if completed:
                    os.replace(tmp, self.folder / f"{self.prefix}-{rank:05d}-{part:04d}.tar")
                else:  # an interrupted task leaves no half shard under a final name
                    tmp.unlink(missing_ok=True)
