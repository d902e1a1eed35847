"""`mella export`: a composed dataset -> a training format (mella.export.FORMATS)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mella.dataset.folder import SPLITS, open_dataset

SOURCES = ("d_know", "d_ling")
OWN_FILES = ("images", "data", "dataset_info.json", "README.md", "export.json")


def run_export(dataset: str | Path, out: str | Path, fmt: str, splits: tuple[str, ...] = SPLITS,
               sources: tuple[str, ...] = SOURCES) -> dict:
    from mella.export import get_exporter
    from mella.recipes.common import LOCK_NAME, atomic_json, open_output

    exporter = get_exporter(fmt)  # an unknown format fails before any work
    splits, sources = tuple(dict.fromkeys(splits)), tuple(dict.fromkeys(sources))  # "train,train" is train once
    for given, known, what in ((splits, SPLITS, "split"), (sources, SOURCES, "source")):
        bad = sorted(set(given) - set(known))
        if bad:
            raise ValueError(f"unknown {what}(s) {bad}; known: {', '.join(known)}")
    ds = open_dataset(dataset, "export")
    samples = ds.samples(splits, sources)
    if not samples:
        raise ValueError(f"{ds.path}: no samples in split(s) {', '.join(splits)} for source(s) {', '.join(sources)}")
    out = Path(out)
    _check_target(out, fmt, ds.path, LOCK_NAME)
    with open_output(out, [str(ds.path)], kind="export"):
        _clear_previous(out)
        result = exporter(ds, samples, out)
        result |= {"format": fmt, "dataset": str(ds.path.resolve()), "splits": list(splits), "sources": list(sources)}
        atomic_json(out / "export.json", result)
    return result


def _check_target(out: Path, fmt: str, dataset: Path, lock_name: str) -> None:
    """An export goes into a new or empty folder, or replaces an earlier export of the same format."""
    if not out.is_dir():
        return
    if out.resolve() == dataset.resolve() or dataset.resolve() in out.resolve().parents:
        raise ValueError(f"--out {out} is inside the dataset {dataset}; export to a folder of its own")
    previous = out / "export.json"
    if previous.is_file():
        before = json.loads(previous.read_text(encoding="utf-8"))
        if before.get("format") != fmt:
            raise ValueError(f"{out} holds a {before.get('format')} export; export {fmt} to another folder")
        if before.get("dataset") and Path(before["dataset"]).resolve() != dataset.resolve():
            raise ValueError(f"{out} holds an export of another dataset ({before['dataset']}); export to another "
                             "folder, or delete this one first")
        return
    if any(p.name != lock_name for p in out.iterdir()):
        raise ValueError(f"--out {out} is not empty and holds no mella export; give a new or empty folder")


def _clear_previous(out: Path) -> None:
    """Removes what an earlier export of the same format wrote (its files and images), so no stale
    sample or image survives a re-export with other splits or sources."""
    previous = out / "export.json"
    if not previous.is_file():
        return
    files = json.loads(previous.read_text(encoding="utf-8")).get("files", {})
    names = [f for value in files.values() for f in (value if isinstance(value, list) else [value])]
    for name in [*names, *OWN_FILES]:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
