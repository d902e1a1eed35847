"""What every export shares: the samples to write, their images beside them, the chat turns."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mella.dataset.folder import Dataset

IMAGE_TOKEN = "<image>"


def with_images(ds: Dataset, samples: list[dict]) -> tuple[list[dict], int]:
    """The samples whose image file is in the store, and how many had none (skipped)."""
    usable = [s for s in samples if ds.image_path(s) is not None]
    if samples and not usable:
        raise ValueError(f"{ds.path}: no sample has a fetched image (run `mella fetch` before `mella compose`, "
                         "or `mella build` with a fetch stage); training formats need the images")
    return usable, len(samples) - len(usable)


def image_relpath(sample: dict) -> str:
    sha = sample["sha256"]
    return f"images/{sha[:2]}/{sha}.{sample.get('image_ext') or 'jpg'}"


def place_images(ds: Dataset, samples: list[dict], out: Path) -> int:
    """Each sample's image at ``out/images/...``: a hard link into the store (no copy) where the file
    system allows, else a copy. Returns the number of files placed."""
    placed = 0
    for sample in samples:
        target = out / image_relpath(sample)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = ds.image_path(sample)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        placed += 1
    return placed


def user_turn(sample: dict, token: str = IMAGE_TOKEN, newline: bool = True) -> str:
    return f"{token}\n{sample['instruction']}" if newline else f"{token}{sample['instruction']}"


def write_json(path: Path, obj, lines: bool = False) -> None:
    import json

    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        if lines:
            for item in obj:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        else:
            json.dump(obj, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
