"""A stage's output folder: the record table (``train-*.parquet``), its manifest (``table.json``) and a
reference to the image store. Every command opens its input through ``open_table``, which says in one
message what is wrong with a folder of the wrong kind and which command makes the right one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from mella.schema import COLUMNS, Column, unknown_column
from mella.shards import shard_files

MANIFEST = "table.json"
FORMAT = "mella-table/1"

# what each stage's output newly holds, and the command that makes it (for error messages)
MADE_BY = {
    "text": "mella mine", "image_url": "mella mine", "sha256": "mella fetch", "caption_en": "mella caption",
    "translation": "mella translate", "align_score": "mella align", "split": "mella compose",
}
NEEDS_WORDS = {"sha256": "fetched images", "caption_en": "English captions", "translation": "translations",
               "text": "image-text records", "image_url": "image URLs", "split": "splits"}


class WrongInput(ValueError):
    """A folder that is not what a command expects (the message names the command that makes it)."""


@dataclass
class Table:
    path: Path  # the folder holding train-*.parquet
    columns: list[Column]
    manifest: dict = field(default_factory=dict)

    @property
    def names(self) -> set[str]:
        return {c.name for c in self.columns}

    @property
    def stages(self) -> list[str]:
        return list(self.manifest.get("stages", []))

    @property
    def image_store(self) -> Path | None:
        rel = self.manifest.get("image_store")
        return (self.path / rel).resolve() if rel else None

    def store_relative_to(self, folder: Path) -> str | None:
        """The image store's path as seen from another folder (what that folder's manifest records)."""
        store = self.image_store
        return os.path.relpath(store, Path(folder).resolve()) if store else None

    def rows(self) -> int:
        from mella.shards import count_rows

        return count_rows(self.path)


def describe(table: Table) -> str:
    stages = table.stages
    return f"the output of `mella {stages[-1]}` (stages: {', '.join(stages)})" if stages else "a record table"


def records_folder(path: Path) -> Path:
    """A composed dataset keeps its record table in ``records/``; every other stage at its top."""
    return path / "records" if not shard_files(path) and shard_files(path / "records") else path


def other_output(path: Path, command: str) -> str | None:
    """When ``path`` is a mella folder that is not a record table or dataset (an export, a part of a
    dataset, a training or evaluation run), one message saying what it is and what to give instead."""
    path = Path(path)
    if (path / "export.json").is_file():
        try:
            source = json.loads((path / "export.json").read_text(encoding="utf-8")).get("dataset")
        except (OSError, json.JSONDecodeError):
            source = None
        return (f"{path} is an export (`mella export`): training tools read it; `mella {command}` reads the dataset "
                f"it was exported from" + (f" ({source})" if source else ""))
    parent = path.resolve().parent
    if path.name in ("samples", "records") and (parent / "samples").is_dir() and (parent / MANIFEST).is_file():
        return f"{path} is a part of the dataset {parent}: give `mella {command}` the dataset folder {parent} itself"
    if (path / "run.json").is_file() or (path / "ablation.json").is_file():
        return (f"{path} is a training or evaluation run, not data: `mella {command}` reads a record table or a "
                "dataset (`mella mine`, `fetch`, ..., `compose`)")
    return None


def open_table(path: str | Path, command: str, needs: tuple[str, ...] = (), needs_store: bool = False) -> Table:
    """The record table in ``path`` for ``mella <command>``, or WrongInput naming what is missing."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    crawl_hint = f" It looks like crawl input: run `mella mine {path} --out MINED` first."
    if not path.is_dir():
        from mella.steps.read import input_kind

        raise WrongInput(f"`mella {command}` expects a folder made by mella (train-*.parquet inside), "
                         f"but {path} is a file." + (crawl_hint if input_kind(path) else ""))
    if path.name != "records" and (hint := other_output(path, command)):
        raise WrongInput(hint)
    path = records_folder(path)
    shards = shard_files(path)
    manifest = {}
    if (path / MANIFEST).is_file():
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    if not shards:
        if manifest:
            raise WrongInput(f"{path} holds no records: `mella {(manifest.get('stages') or ['?'])[-1]}` kept none "
                             f"(the reasons are in {path}/excluded/ and {path}/stats.json)")
        from mella.steps.read import input_kind

        crawl = any(input_kind(p) for p in path.iterdir() if p.is_file())
        raise WrongInput(f"{path} is not a mella record table (no train-*.parquet inside); `mella {command}` "
                         f"expects the output of {_maker(needs)}." + (crawl_hint if crawl else ""))
    schema = pq.read_schema(shards[0])
    columns = [COLUMNS[f.name] if f.name in COLUMNS else unknown_column(f.name, f.type) for f in schema]
    table = Table(path, columns, manifest)
    missing = [n for n in needs if n not in table.names]
    if missing:
        words = ", ".join(NEEDS_WORDS.get(n, f"`{n}`") for n in missing)
        raise WrongInput(f"`mella {command}` needs {words} (column {', '.join(f'`{n}`' for n in missing)}), but "
                         f"{path} holds {describe(table)}. Run {_maker(missing)} on it first.")
    if needs_store:
        store = table.image_store
        if store is None or not store.is_dir():
            raise WrongInput(f"`mella {command}` reads the images of {path}, but its image store "
                             f"{store or '(none recorded in table.json)'} is missing; rerun `mella fetch` "
                             "or keep the stage folders together")
    return table


def _maker(names) -> str:
    makers = []
    for n in names:
        m = MADE_BY.get(n, "mella mine")
        if f"`{m}`" not in makers:
            makers.append(f"`{m}`")
    return " then ".join(makers) or "`mella mine`"


def write_manifest(out: Path, stage: str, previous: Table | None, rows: int, image_store: str | None = None,
                   **extra) -> None:
    """``out/table.json``: the stages so far, the image store (relative to ``out``), the row count."""
    from mella.recipes.common import atomic_json

    stages = (previous.stages if previous else []) + [stage]
    store = image_store if image_store is not None else (previous.store_relative_to(out) if previous else None)
    before = os.path.relpath(previous.path.resolve(), Path(out).resolve()) if previous else None
    atomic_json(out / MANIFEST, {"format": FORMAT, "stages": stages, "image_store": store, "rows": rows,
                                 "previous": before, **extra})


def stage_folders(folder: Path) -> list[tuple[str, Path]]:
    """(stage, folder) from the first stage to ``folder``'s, following each manifest's ``previous``."""
    chain: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    current: Path | None = Path(folder).resolve()
    while current is not None and current not in seen and (current / MANIFEST).is_file():
        seen.add(current)
        manifest = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
        chain.append(((manifest.get("stages") or ["?"])[-1], current))
        previous = manifest.get("previous")
        current = (current / previous).resolve() if previous else None
    return chain[::-1]
