"""A composed dataset folder (``mella compose`` output): records, samples per split, the image store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mella.images.store import ImageStore
from mella.table import MANIFEST, WrongInput

SPLITS = ("train", "validation", "test")


@dataclass
class Dataset:
    path: Path
    manifest: dict

    @property
    def records(self) -> Path:
        return self.path / "records"

    @property
    def store(self) -> ImageStore | None:
        rel = self.manifest.get("image_store")
        return ImageStore((self.path / rel).resolve()) if rel else None

    def samples(self, splits=SPLITS, sources=("d_know", "d_ling")) -> list[dict]:
        from mella.shards import iter_rows

        out = []
        for split in splits:
            out += [s for s in iter_rows(self.path / "samples", prefix=split) if s["source"] in sources]
        return out

    def image_path(self, sample: dict) -> Path | None:
        """The stored image file of a sample, if the dataset has images and the file is there."""
        store = self.store
        if store is None or not sample.get("sha256"):
            return None
        path = store.path(sample["sha256"], sample.get("image_ext") or "jpg")
        return path if path.is_file() else None


def open_dataset(path: str | Path, command: str) -> Dataset:
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"dataset not found: {path}")
    manifest_path = path / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    if manifest.get("kind") != "dataset" or not (path / "samples").is_dir():
        from mella.table import other_output

        hint = other_output(path, command)
        if hint:
            raise WrongInput(hint)
        stages = ", ".join(manifest.get("stages", [])) or "unknown"
        raise WrongInput(f"`mella {command}` expects a composed dataset (samples/ and records/ inside, made by "
                         f"`mella compose` or `mella build`), but {path} is not one (stages: {stages}). "
                         f"Run `mella compose {path} --out DATASET` first.")
    return Dataset(path, manifest)
