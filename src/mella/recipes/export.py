"""`mella export`: a composed dataset -> a training format (mella.export.FORMATS)."""

from __future__ import annotations

from pathlib import Path

from mella.dataset.folder import SPLITS, open_dataset


def run_export(dataset: str | Path, out: str | Path, fmt: str, splits: tuple[str, ...] = SPLITS,
               sources: tuple[str, ...] = ("d_know", "d_ling")) -> dict:
    from mella.export import get_exporter
    from mella.recipes.common import atomic_json, open_output

    exporter = get_exporter(fmt)  # an unknown format fails before any work
    bad = set(splits) - set(SPLITS)
    if bad:
        raise ValueError(f"unknown split(s) {sorted(bad)}; known: {', '.join(SPLITS)}")
    ds = open_dataset(dataset, "export")
    samples = ds.samples(splits, sources)
    if not samples:
        raise ValueError(f"{ds.path}: no samples in split(s) {', '.join(splits)} for source(s) {', '.join(sources)}")
    out = Path(out)
    with open_output(out):
        result = exporter(ds, samples, out)
        result |= {"format": fmt, "dataset": str(ds.path.resolve()), "splits": list(splits), "sources": list(sources)}
        atomic_json(out / "export.json", result)
    return result
