"""Build benchmark tasks from mella records and from existing caption sets (WIT, Multi30K)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from mella.eval.keywords import keywords
from mella.eval.tasks import held_out, write_task
from mella.shards import iter_rows


def culture_from_mined(mined: Path, out: Path, share: float = 0.05, per_lang: int | None = None,
                       images: dict[str, str] | None = None, min_keywords: int = 1) -> list[Path]:
    """Culture tasks (one per language) from held-out records of a ``mella mine`` output.

    Held out by a hash of the record id (``share`` of records); ``images`` maps image URLs to local
    files once images are fetched, else items point at the URL.
    """
    by_lang: dict[str, list[dict]] = {}
    for row in iter_rows(mined):
        if not held_out(row["id"], share):
            continue
        lang = row["lang"] if row["lang"] != "sr" or row["script"] != "Latn" else "sr-Latn"
        bucket = by_lang.setdefault(lang, [])
        if per_lang is not None and len(bucket) >= per_lang:
            continue
        kws = keywords(row["alt_text"], lang)
        if len(kws) < min_keywords:
            continue
        image = (images or {}).get(row["image_url"], row["image_url"])
        bucket.append({"id": row["id"], "lang": lang, "image": image, "image_url": row["image_url"],
                       "reference": row["alt_text"], "keywords": kws, "source": row["page_url"]})
    return [write_task(out, f"culture_{lang}", "culture", lang, items,
                       f"Native alt-text of held-out mella records ({mined})")
            for lang, items in sorted(by_lang.items()) if items]


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
