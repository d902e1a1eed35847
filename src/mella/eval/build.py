"""Build benchmark tasks from mella records and from existing caption sets (WIT, Multi30K).

Every builder applies the same hygiene (docs/eval.md, "1. Tasks"): an item is left out when its image is
in a format the generation backends cannot read (by the URL's or file's extension) or when its reference
is not in the task's language and script (``mella.eval.metrics.in_language``, the identifier used for
language fidelity). What is left out is counted per reason in the task YAML (``dropped``).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mella.eval.keywords import keywords
from mella.eval.tasks import write_task

# what Pillow and the model processors read; an image with one of these extensions, or with none we can see
# (``image.php?id=3``), is kept
READABLE_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp"})
# formats that are left out: vector, TIFF, icons, documents, camera raw, HEIF/AVIF/JPEG 2000 (not decoded by
# every Pillow build), audio and video that Wikimedia file pages carry
UNREADABLE_IMAGE_EXTENSIONS = frozenset({
    "tif", "tiff", "svg", "svgz", "ico", "cur", "pdf", "eps", "ps", "ai", "psd", "xcf", "djvu", "djv", "heic",
    "heif", "avif", "jp2", "j2k", "jpx", "jxl", "wmf", "emf", "cr2", "nef", "dng", "arw", "stl", "ogg", "oga",
    "ogv", "webm", "mp3", "mp4", "wav", "flac", "mid", "midi",
})


def image_extension(image: str) -> str:
    """Lower-case extension of an image URL's path, a file path or a ``data:`` URL's media type; ``''``
    when there is none."""
    if image.startswith("data:"):
        subtype = image[5:].split(",", 1)[0].split(";", 1)[0].rpartition("/")[2]
        return subtype.split("+", 1)[0].lower()  # image/svg+xml -> svg
    path = urlsplit(image).path if "://" in image else image
    name = unquote(path).rpartition("/")[2]
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def drop_reason(reference: str, lang: str, image: str) -> str | None:
    """Why an item cannot be in a task of language ``lang`` (``sr-Latn`` names a script), or None:
    ``image_format_<ext>``, ``wrong_script`` (the reference's script is not the task's) or
    ``not_in_language``."""
    from mella.eval.metrics import in_language

    ext = image_extension(image)
    if ext in UNREADABLE_IMAGE_EXTENSIONS:
        return f"image_format_{ext}"
    if not reference.strip():
        return "empty_reference"
    if not in_language(reference, lang):
        scripts = _scripts(lang)
        return "wrong_script" if scripts and _script(reference) not in scripts else "not_in_language"
    return None


def _scripts(lang: str) -> set[str]:
    """The task's scripts (``sr-Latn``: Latin only; ``sr``: either); empty for a language outside the table."""
    from mella.languages import default_table

    code, _, script = lang.partition("-")
    if script:
        return {script}
    known = default_table().get(code)
    return set(known.scripts) if known is not None else set()


def _script(text: str) -> str:
    from mella.scripts import dominant_script

    return dominant_script(text)[0]


def from_dataset(dataset: Path, out: Path, per_lang: int | None = None, min_keywords: int = 1) -> list[Path]:
    """Culture tasks (native text + keywords, from ``d_know`` samples) and language tasks (translated
    captions, from ``d_ling`` samples) of a composed dataset's **test split** only: no image, near-duplicate
    or site of the benchmark is in training. Items point at the local image files (relative to the task
    file) when the dataset has fetched images, else at the image URL."""
    import os

    from mella.dataset.folder import open_dataset

    ds = open_dataset(dataset, "eval build")
    by_task: dict[tuple[str, str], list[dict]] = {}
    dropped: dict[tuple[str, str], Counter] = {}
    for s in ds.samples(splits=("test",)):
        kind = "culture" if s["source"] == "d_know" else "language"
        lang = s.get("lang_tag") or s["lang"]
        bucket = by_task.setdefault((kind, lang), [])
        drops = dropped.setdefault((kind, lang), Counter())
        if per_lang is not None and len(bucket) >= per_lang:
            continue
        item = {"id": s["sample_id"], "lang": lang, "image_url": s["image_url"], "reference": s["response"],
                "source": s["page_url"], "record_id": s["record_id"], "split": "test"}
        local = ds.image_path(s)
        item["image"] = os.path.relpath(local, out.resolve()) if local is not None else s["image_url"]
        reason = drop_reason(s["response"], lang, str(local) if local is not None else s["image_url"])
        if reason is None and kind == "culture":
            item["keywords"] = keywords(s["response"], lang)
            if len(item["keywords"]) < min_keywords:
                reason = "no_keywords"
        if reason is not None:
            drops[reason] += 1
            continue
        bucket.append(item)
    if not by_task:
        raise ValueError(f"the test split of {dataset} has no samples (see {dataset}/splits.json): compose with a "
                         "larger split.test_size, or more sites and images per language")
    return [write_task(out, f"{kind}_{lang}", kind, lang, items,
                       f"{'Native text' if kind == 'culture' else 'Translated captions'} of the test split of {dataset}",
                       dropped[(kind, lang)])
            for (kind, lang), items in sorted(by_task.items()) if items]


def from_wit(jsonl: Path, out: Path, limit: int | None = None, kind: str = "culture") -> list[Path]:
    """Tasks from WIT-style JSONL (image_url, caption_reference_description, language, page_url)."""
    from mella.steps.read import iter_table

    by_lang: dict[str, list[dict]] = {}
    dropped: dict[str, Counter] = {}
    unreadable: Counter = Counter()
    for n, row in iter_table(Path(jsonl), 1 << 20):
        if isinstance(row, tuple):  # (reason, detail): a line that is not a JSON object
            unreadable[row[0]] += 1
            continue
        lang, text = row.get("language"), str(row.get("caption_reference_description") or "")
        if not lang or not row.get("image_url"):
            unreadable["no_language_or_image"] += 1
            continue
        bucket = by_lang.setdefault(lang, [])
        if limit is not None and len(bucket) >= limit:
            continue
        reason = drop_reason(text, lang, str(row["image_url"]))
        if reason is not None:
            dropped.setdefault(lang, Counter())[reason] += 1
            continue
        item = {"id": row.get("wit_ix") or f"{Path(jsonl).name}#{n}", "lang": lang, "image": row["image_url"],
                "image_url": row["image_url"], "reference": text, "source": row.get("page_url")}
        if kind == "culture":
            item["keywords"] = keywords(text, lang)
        bucket.append(item)
    if not by_lang:
        problems = ", ".join(f"{k} {v}" for k, v in unreadable.items())
        raise ValueError(f"{jsonl}: no usable row (WIT JSON Lines: language, image_url, "
                         f"caption_reference_description){'; ' + problems if problems else ''}")
    for lang in by_lang:  # rows that could not be read are reported with every task of the file
        dropped.setdefault(lang, Counter()).update(unreadable)
    return [write_task(out, f"wit_{kind}_{lang}", kind, lang, items, f"WIT captions from {Path(jsonl).name}",
                       dropped.get(lang))
            for lang, items in sorted(by_lang.items()) if items]


def from_multi30k(captions: Path, image_list: Path, lang: str, out: Path, image_dir: str = "flickr30k-images",
                  limit: int | None = None) -> Path:
    """A language task from Multi30K: line-aligned captions and image file names (images not shipped:
    items point at ``image_dir/<name>``)."""
    try:
        with open(captions, "rb") as probe:
            opener = gzip.open if probe.read(2) == b"\x1f\x8b" else open
        with opener(captions, "rt", encoding="utf-8-sig") as fh:
            texts = [line.rstrip("\r\n") for line in fh]
        names = image_list.read_text(encoding="utf-8-sig").split()
    except UnicodeDecodeError as e:
        raise ValueError(f"{captions} / {image_list}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if len(texts) != len(names):
        raise ValueError(f"{captions}: {len(texts)} captions but {image_list}: {len(names)} images")
    items, dropped = [], Counter()
    for name, text in zip(names, texts):
        if limit is not None and len(items) >= limit:
            break
        reason = drop_reason(text, lang, name)
        if reason is not None:
            dropped[reason] += 1
            continue
        items.append({"id": name, "lang": lang, "image": f"{image_dir}/{name}", "reference": text, "source": "multi30k"})
    return write_task(out, f"multi30k_{lang}", "language", lang, items, f"Multi30K {captions.name}", dropped)
