"""D_know quality on the hand-labelled development set (tests/data/devset): per language, the recall of
content (labelled descriptions that mella keeps) and the junk share of what it keeps.

The pages the labels come from are mined with mella's default configuration for all eight target
languages; each labelled item is matched to mella's records by its page, image URL and text.

Usage: python bench/devset.py [--json] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "tests" / "data" / "devset"
TARGETS = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")
EXTRA_SOURCES = {"warc-wacloud-idnes/example-20200623-crawler0.warc.gz": ROOT / "examples" / "idnes-20200623.warc.gz"}


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def stage(tmp: Path) -> list[Path]:
    """The labelled pages as mella inputs: HTML files with a urls.tsv (fundus meta.info), WARCs, WIT rows."""
    inputs = []
    pages = DEVSET / "pages"
    for folder in sorted({p.parent for p in pages.rglob("*.html*")}):
        target = tmp / folder.relative_to(pages)
        target.mkdir(parents=True, exist_ok=True)
        urls = {}
        if (folder / "meta.info").is_file():
            urls = {name: v["url"] for name, v in json.loads((folder / "meta.info").read_text()).items()}
        for page in folder.glob("*.htm*"):
            shutil.copy(page, target / page.name)
        if urls:
            (target / "urls.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in urls.items()), encoding="utf-8")
        inputs.append(target)
    inputs += sorted(pages.rglob("*.warc.gz")) + sorted(pages.rglob("*.jsonl"))
    inputs += [p for p in EXTRA_SOURCES.values() if p.is_file()]
    return inputs


def evaluate(show_misses: bool = False, config: dict | None = None, keep: Path | None = None) -> dict:
    from loguru import logger

    from mella.config import MineConfig
    from mella.recipes.mine import run_mine
    from mella.shards import iter_rows

    logger.disable("datatrove")
    labels = [json.loads(line) for line in (DEVSET / "alts.jsonl").read_text(encoding="utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = stage(tmp / "pages")
        run_mine(inputs, tmp / "out", MineConfig.model_validate({"langs": list(TARGETS)} | (config or {})))
        kept = list(iter_rows(tmp / "out"))
        dropped = list(iter_rows(tmp / "out" / "excluded", prefix="excluded"))
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(tmp / "out", keep)
    # a labelled item is matched to a record of the same page and image whose text is the item's text, or
    # a part of its alt (mella split a credit off), or its figcaption
    by_image: dict = defaultdict(list)
    for row in kept:
        by_image[(row["page_url"], row["image_url"])].append(("kept", row))
    for row in dropped:
        by_image[(row.get("page_url"), row.get("image_url"))].append((row["reason"], row))

    def find(item: dict) -> tuple[str, dict] | None:
        texts = {_norm(item["text"]), _norm(item.get("alt_raw")), _norm(item.get("figcaption"))} - {""}
        best = None
        for status, row in by_image.get((item["page_url"], item["image_url"]), []):
            text = _norm(row.get("text"))
            if text in texts or (text and any(text in t for t in texts)):
                if best is None or (status == "kept" and best[0] != "kept"):
                    best = (status, row)
        return best

    stats: dict = defaultdict(lambda: {"content": 0, "content_kept": 0, "kept": 0, "junk_kept": 0, "headlines_kept": 0})
    misses: dict = defaultdict(list)
    for item in labels:
        lang = item["lang"]
        if lang not in TARGETS:
            lang = "other"
        found = find(item)
        hit = found is not None and found[0] == "kept"
        s = stats[lang]
        if item["label"] == "content":
            s["content"] += 1
            if hit:
                s["content_kept"] += 1
            else:
                misses[lang].append(("missed", item["text"][:80], found[0] if found else "not extracted"))
        if hit:
            s["kept"] += 1
            if item["label"] == "junk":
                s["junk_kept"] += 1
                s["headlines_kept"] += item["kind"] == "headline" and bool(found[1].get("alt_headline"))
                misses[lang].append(("junk kept", item["text"][:80], item["kind"]))
    result = {}
    for lang, s in sorted(stats.items()):
        result[lang] = {"labels": sum(1 for i in labels if (i["lang"] if i["lang"] in TARGETS else "other") == lang),
                        **s, "recall": round(s["content_kept"] / s["content"], 3) if s["content"] else None,
                        "junk_share": round(s["junk_kept"] / s["kept"], 3) if s["kept"] else 0.0,
                        # junk share when the flagged teaser headlines are set aside (the default keeps them
                        # flagged; quality.drop_headlines drops them)
                        "junk_share_unflagged": round((s["junk_kept"] - s["headlines_kept"]) /
                                                      max(1, s["kept"] - s["headlines_kept"]), 3)}
        if show_misses:
            result[lang]["misses"] = misses[lang]
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--keep", type=Path, help="copy the mined folder here (to inspect the records)")
    ap.add_argument("--drop-headlines", action="store_true", help="mine with quality.drop_headlines")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    config = {"quality": {"drop_headlines": True}} if args.drop_headlines else None
    result = evaluate(args.show_misses, config=config, keep=args.keep)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    print(f"{'lang':6s} {'labels':>6s} {'content':>7s} {'recall':>7s} {'kept':>5s} {'junk kept':>9s} {'junk share':>10s}"
          f" {'unflagged':>9s}")
    for lang, r in result.items():
        recall = f"{r['recall']:.3f}" if r["recall"] is not None else "-"
        print(f"{lang:6s} {r['labels']:6d} {r['content']:7d} {recall:>7s} {r['kept']:5d} {r['junk_kept']:9d} "
              f"{r['junk_share']:10.3f} {r['junk_share_unflagged']:9.3f}")
        for kind, text, why in r.get("misses", []):
            print(f"    {kind:9s} {why:22s} {text}")


if __name__ == "__main__":
    main()
