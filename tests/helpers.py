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
