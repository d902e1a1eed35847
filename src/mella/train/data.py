"""Training examples from a mella export (parquet, llava, sharegpt, swift) or a composed dataset folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from mella.table import WrongInput


@dataclass
class Example:
    sample_id: str
    source: str  # d_know | d_ling
    lang: str
    split: str
    instruction: str  # without the image placeholder
    response: str
    image: str | bytes  # a file path or the image's bytes

    def digest(self) -> str:
        """A hash of what the model sees: the instruction, the response and the image bytes."""
        h = hashlib.sha256()
        h.update(self.instruction.encode())
        h.update(b"\0")
        h.update(self.response.encode())
        h.update(b"\0")
        h.update(self.image if isinstance(self.image, bytes) else Path(self.image).read_bytes())
        return h.hexdigest()


def strip_image_token(text: str) -> str:
    return text.replace("<image>", "", 1).lstrip("\n")


def load_examples(data: str | Path, splits=("train",), sources=("d_know", "d_ling")) -> list[Example]:
    """Examples of ``splits`` and ``sources`` from ``data``: an export folder (``export.json`` says its
    format) or a composed dataset (``samples/`` + the image store)."""
    data = Path(data)
    if not data.is_dir():
        raise FileNotFoundError(f"training data not found: {data}")
    if (data / "samples").is_dir():
        return _from_dataset(data, splits, sources)
    meta = data / "export.json"
    if not meta.is_file():
        raise WrongInput(f"{data} is neither a mella export (export.json) nor a composed dataset (samples/): "
                         "give `mella train --data` the output of `mella export` or `mella compose`")
    fmt = json.loads(meta.read_text(encoding="utf-8"))["format"]
    readers = {"parquet": _from_parquet, "llava": _from_llava, "sharegpt": _from_chat, "swift": _from_chat}
    if fmt not in readers:
        raise WrongInput(f"{data} is a {fmt} export; `mella train` reads parquet, llava, sharegpt or swift exports "
                         "(or the composed dataset itself)")
    examples = readers[fmt](data, splits)
    return [e for e in examples if e.source in sources]


def _from_dataset(path: Path, splits, sources) -> list[Example]:
    from mella.dataset.folder import open_dataset

    ds = open_dataset(path, "train")
    out = []
    for s in ds.samples(tuple(splits), tuple(sources)):
        image = ds.image_path(s)
        if image is not None:
            out.append(Example(s["sample_id"], s["source"], s["lang"], s["split"], s["instruction"], s["response"],
                               str(image)))
    return out


def _from_parquet(path: Path, splits) -> list[Example]:
    from mella.shards import iter_rows

    out = []
    for split in splits:
        for row in iter_rows(path / "data", prefix=split):
            out.append(Example(row["sample_id"], row["source"], row["lang"], split, row["instruction"],
                               row["response"], row["image"]["bytes"]))
    return out


def _from_llava(path: Path, splits) -> list[Example]:
    out = []
    for split in splits:
        file = path / f"{split}.json"
        for item in json.loads(file.read_text(encoding="utf-8")) if file.is_file() else []:
            human, gpt = item["conversations"][:2]
            out.append(Example(item["id"], item.get("source", ""), item.get("lang", ""), split,
                               strip_image_token(human["value"]), gpt["value"], str(path / item["image"])))
    return out


def _from_chat(path: Path, splits) -> list[Example]:
    out = []
    for split in splits:
        for file in (path / f"mella_{split}.json", path / f"{split}.jsonl"):
            if not file.is_file():
                continue
            text = file.read_text(encoding="utf-8")
            items = json.loads(text) if file.suffix == ".json" else [json.loads(line) for line in text.splitlines() if line]
            for item in items:
                user, assistant = item["messages"][:2]
                out.append(Example(item["id"], item.get("source", ""), item.get("lang", ""), split,
                                   strip_image_token(user["content"]), assistant["content"],
                                   str(path / item["images"][0])))
    return out


def manifest(examples: list[Example], data: str) -> dict:
    """What a run was trained on: every sample id with its content hash, and counts per language x source."""
    counts: dict = {}
    for e in examples:
        counts.setdefault(e.lang, {}).setdefault(e.source, 0)
        counts[e.lang][e.source] += 1
    return {"data": str(data), "samples": len(examples), "counts": counts,
            "ids": [{"id": e.sample_id, "sha256": e.digest()} for e in examples]}
