"""webdataset shards: ``<split>-<n:06d>.tar`` holding ``<key>.<ext>`` (the image) and ``<key>.json`` (the
sample: instruction, response, messages, source, lang...) per sample, written atomically."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path

from mella.export.common import user_turn, with_images

_KEY = re.compile(r"[^A-Za-z0-9_\-]")


def export(ds, samples: list[dict], out: Path, per_shard: int = 5000) -> dict:
    usable, skipped = with_images(ds, samples)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str]] = {}
    by_split: dict[str, list[dict]] = {}
    for s in usable:
        by_split.setdefault(s["split"], []).append(s)
    for split, rows in by_split.items():
        for stale in out.glob(f"{split}-*.tar"):
            stale.unlink()
        used: set[str] = set()
        for part, start in enumerate(range(0, len(rows), per_shard)):
            name = f"{split}-{part:06d}.tar"
            tmp = out / f".{name}.tmp"
            with tarfile.open(tmp, "w") as tar:
                for s in rows[start:start + per_shard]:
                    key = _unique(_KEY.sub("_", s["sample_id"]), used)
                    meta = {k: s.get(k) for k in ("sample_id", "record_id", "source", "lang", "script", "template_id",
                                                  "instruction", "response", "image_url", "page_url")}
                    meta["messages"] = [{"role": "user", "content": user_turn(s)},
                                        {"role": "assistant", "content": s["response"]}]
                    ext = s.get("image_ext") or "jpg"
                    for member, payload in ((f"{key}.{ext}", ds.image_path(s).read_bytes()),
                                            (f"{key}.json", json.dumps(meta, ensure_ascii=False).encode())):
                        info = tarfile.TarInfo(member)
                        info.size, info.mtime = len(payload), 0
                        tar.addfile(info, io.BytesIO(payload))
            os.replace(tmp, out / name)
            files.setdefault(split, []).append(name)
    return {"files": files, "samples": len(usable), "skipped_no_image": skipped}


def _unique(key: str, used: set[str]) -> str:
    candidate, n = key, 1
    while candidate in used:
        candidate, n = f"{key}_{n}", n + 1
    used.add(candidate)
    return candidate
