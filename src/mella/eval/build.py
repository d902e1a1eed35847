"""Build benchmark tasks from mella records and from existing caption sets (WIT, Multi30K)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from mella.eval.keywords import keywords
from mella.eval.tasks import write_task


def from_dataset(dataset: Path, out: Path, per_lang: int | None = None, min_keywords: int = 1) -> list[Path]:
    """Culture tasks (native text + keywords, from ``d_know`` samples) and language tasks (translated
    captions, from ``d_ling`` samples) of a composed dataset's **test split** only: no image, near-duplicate
    or site of the benchmark is in training. Items point at the local image files (relative to the task
    file) when the dataset has fetched images, else at the image URL."""
    import os

    from mella.dataset.folder import open_dataset

    ds = open_dataset(dataset, "eval build")
    by_task: dict[tuple[str, str], list[dict]] = {}
    for s in ds.samples(splits=("test",)):
        kind = "culture" if s["source"] == "d_know" else "language"
        lang = s.get("lang_tag") or s["lang"]
        bucket = by_task.setdefault((kind, lang), [])
        if per_lang is not None and len(bucket) >= per_lang:
            continue
        item = {"id": s["sample_id"], "lang": lang, "image_url": s["image_url"], "reference": s["response"],
                "source": s["page_url"], "record_id": s["record_id"], "split": "test"}
        if kind == "culture":
            item["keywords"] = keywords(s["response"], lang)
            if len(item["keywords"]) < min_keywords:
                continue
        local = ds.image_path(s)
        item["image"] = os.path.relpath(local, out.resolve()) if local is not None else s["image_url"]
        bucket.append(item)
    if not by_task:
        raise ValueError(f"the test split of {dataset} has no samples (see {dataset}/splits.json): compose with a "
                         "larger split.test_size, or more sites and images per language")
    return [write_task(out, f"{kind}_{lang}", kind, lang, items,
                       f"{'Native text' if kind == 'culture' else 'Translated captions'} of the test split of {dataset}")
            for (kind, lang), items in sorted(by_task.items()) if items]


def from_wit(jsonl: Path, out: Path, limit: int | None = None, kind: str = "culture") -> list[Path]:
    """Tasks from WIT-style JSONL (image_url, caption_reference_description, language, page_url)."""
    by_lang: dict[str, list[dict]] = {}
    with open(jsonl, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            row = json.loads(line)
            lang, text = row.get("language"), row.get("caption_reference_description")
            if not lang or not text:
                continue
            bucket = by_lang.setdefault(lang, [])
            if limit is not None and len(bucket) >= limit:
                continue
            item = {"id": row.get("wit_ix") or f"{jsonl.name}#{n}", "lang": lang, "image": row["image_url"],
                    "image_url": row["image_url"], "reference": text, "source": row.get("page_url")}
            if kind == "culture":
                item["keywords"] = keywords(text, lang)
            bucket.append(item)
    return [write_task(out, f"wit_{kind}_{lang}", kind, lang, items, f"WIT captions from {jsonl.name}")
            for lang, items in sorted(by_lang.items()) if items]


def from_multi30k(captions: Path, image_list: Path, lang: str, out: Path, image_dir: str = "flickr30k-images",
                  limit: int | None = None) -> Path:
    """A language task from Multi30K: line-aligned captions and image file names (images not shipped:
    items point at ``image_dir/<name>``)."""
    opener = gzip.open if captions.name.endswith(".gz") else open
    with opener(captions, "rt", encoding="utf-8") as fh:
        texts = [line.rstrip("\n") for line in fh]
    names = image_list.read_text(encoding="utf-8").split()
    if len(texts) != len(names):
        raise ValueError(f"{captions}: {len(texts)} captions but {image_list}: {len(names)} images")
    items = [{"id": name, "lang": lang, "image": f"{image_dir}/{name}", "reference": text, "source": "multi30k"}
             for name, text in zip(names, texts)][:limit]
    return write_task(out, f"multi30k_{lang}", "language", lang, items, f"Multi30K {captions.name}")
