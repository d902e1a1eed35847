"""Parquet for Hugging Face ``datasets``: ``data/<split>-00000-of-0000N.parquet`` with the image bytes in
an ``image`` column that ``datasets`` decodes as an ``Image`` feature (the features are declared in the
schema metadata, as ``datasets`` itself writes them), and a README.md whose ``configs`` name the splits.

    datasets.load_dataset("parquet", data_dir=OUT)   # or load_dataset(OUT)
"""

from __future__ import annotations

import json
from pathlib import Path

from mella.export.common import with_images

FIELDS = ("sample_id", "source", "lang", "script", "template_id", "instruction", "response", "image_url", "page_url")


def export(ds, samples: list[dict], out: Path, rows_per_file: int = 2000) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    usable, skipped = with_images(ds, samples)
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    features = {"image": {"_type": "Image"}} | {f: {"dtype": "string", "_type": "Value"} for f in FIELDS}
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema([("image", image_type)] + [(f, pa.string()) for f in FIELDS],
                       metadata={"huggingface": json.dumps({"info": {"features": features}})})
    by_split: dict[str, list[dict]] = {}
    for s in usable:
        by_split.setdefault(s["split"], []).append(s)
    files = {}
    for split, rows in by_split.items():
        for stale in data_dir.glob(f"{split}-*.parquet"):
            stale.unlink()
        parts = max(1, -(-len(rows) // rows_per_file))
        files[split] = []
        for part in range(parts):
            chunk = rows[part * rows_per_file:(part + 1) * rows_per_file]
            images = [{"bytes": ds.image_path(s).read_bytes(), "path": f"{s['sha256']}.{s.get('image_ext') or 'jpg'}"}
                      for s in chunk]
            arrays = [pa.array(images, type=image_type)] + [pa.array([s.get(f) for s in chunk], pa.string())
                                                           for f in FIELDS]
            name = f"{split}-{part:05d}-of-{parts:05d}.parquet"
            tmp = data_dir / f".{name}.tmp"
            pq.write_table(pa.Table.from_arrays(arrays, schema=schema), tmp)
            tmp.replace(data_dir / name)
            files[split].append(f"data/{name}")
    _readme(out, files)
    return {"files": files, "samples": len(usable), "skipped_no_image": skipped}


def _readme(out: Path, files: dict[str, list[str]]) -> None:
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in files:
        lines += [f"  - split: {split}", f"    path: data/{split}-*"]
    lines += ["---", "", "# MELLA instruction samples (exported by mella)", "",
              "`datasets.load_dataset(\"parquet\", data_dir=\".\")` gives the splits with the image decoded "
              "(`Image` feature). `source` says which half of MELLA a sample comes from: `d_know` (native "
              "alt-text: culture) or `d_ling` (translated detailed caption: language).", ""]
    tmp = out / ".README.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(out / "README.md")
