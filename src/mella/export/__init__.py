"""Training exports of a composed dataset, one module per format, chosen by name (lazy).

Every format references images by paths relative to the export folder (``images/<sha256[:2]>/...``,
hard links into the image store where the file system allows, else copies) or embeds them (parquet).
"""

from __future__ import annotations

import importlib

FORMATS = {
    "parquet": "mella.export.hf_parquet:export",  # Hugging Face datasets (Image feature)
    "webdataset": "mella.export.wds:export",
    "llava": "mella.export.chat:export_llava",  # LLaVA JSON (id, image, conversations)
    "sharegpt": "mella.export.chat:export_sharegpt",  # LLaMA-Factory (sharegpt + dataset_info.json)
    "swift": "mella.export.chat:export_swift",  # ms-swift JSONL (messages, images)
}


def get_exporter(name: str):
    if name not in FORMATS:
        raise ValueError(f"unknown export format {name!r}; known: {', '.join(FORMATS)}")
    module, _, func = FORMATS[name].partition(":")
    return getattr(importlib.import_module(module), func)
