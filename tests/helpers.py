"""Small builders shared by tests: run steps over inline records, write WARC files."""

from __future__ import annotations

from datatrove.data import Document, Media, MediaType


class ListSink:
    """Exclusion sink that keeps dropped documents in memory."""

    def __init__(self):
        self.docs: list[Document] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def write(self, doc, rank=0, **_):
        self.docs.append(doc)

    def reasons(self) -> list[str]:
        return [d.metadata["filter_reason"] for d in self.docs]


def record(alt: str, url: str = "https://example.cz/img/photo.jpg", **meta) -> Document:
    meta = {key.replace("__", "."): value for key, value in meta.items()}
    return Document(text=alt, id=alt[:20], media=[Media(id="0", type=MediaType.IMAGE, url=url)], metadata=meta)


def run_steps(steps, docs):
    data = iter(docs)
    for step in steps:
        data = step.run(data, 0, 1)
    return list(data)


def png(n: int, size=(80, 64)) -> bytes:
    """A small distinct PNG (width 80 + n)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size[0] + n, size[1]), (30 * n % 255, 90, 160)).save(buf, format="PNG")
    return buf.getvalue()


def make_table(folder, metas: list[dict], steps=("mine", "fetch"), images: bool = True, texts=None):
    """A record table as a stage would leave it: ``train-*.parquet`` with the columns of ``steps``, an
    image store (``folder/images``) holding one PNG per record, and ``table.json``."""
    import hashlib

    from mella.images.store import ImageStore
    from mella.schema import REGISTRY
    from mella.recipes.common import atomic_json
    from mella.steps.write import ParquetShardWriter
    from mella.table import FORMAT, MANIFEST

    columns = [c for c in REGISTRY if c.step in steps]
    store = ImageStore(folder / "images")
    docs = []
    for n, meta in enumerate(metas):
        base = {"lid.lang": "cs", "lid.script": "Latn", "text.kind": "alt", "page.url": f"https://site{n}.cz/a",
                "page.domain": f"site{n}.cz"}
        if images:
            data = png(n)
            sha = store.put(data, "png")
            base |= {"img.status": "ok", "img.ext": "png", "img.sha256": sha,
                     "img.orig_sha256": hashlib.sha256(data).hexdigest(), "img.phash": f"{n:016x}"}
        text = texts[n] if texts else f"alt {n}"
        docs.append(Document(text=text, id=f"r{n:03d}", metadata=base | meta,
                             media=[Media(id="0", type=MediaType.IMAGE, url=f"https://site{n}.cz/{n}.png")]))
    list(ParquetShardWriter(folder, columns, prefix="train").run(iter(docs), 0, 1))
    atomic_json(folder / MANIFEST, {"format": FORMAT, "stages": list(steps), "rows": len(docs),
                                    "image_store": "images" if images else None, "previous": None})
    return folder


def rows(folder, prefix: str = "train") -> list[dict]:
    import pyarrow.parquet as pq

    out = []
    for f in sorted(folder.glob(f"{prefix}-*.parquet")):
        out += pq.read_table(f).to_pylist()
    return out
