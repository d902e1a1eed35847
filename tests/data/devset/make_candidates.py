#!/usr/bin/env python
"""Regenerate the unlabelled candidates of the mella alt-text dev set.

Candidates are (1) every record mella's own AltTextExtractor makes from a page (one per <img> with a
non-empty alt), (2) every <img> whose alt is empty or missing but that sits in a <figure> with a
<figcaption> (or next to a Wikipedia-style thumbcaption / wp-caption-text element): "figcaption"
candidates, and (3) the first N WIT (Wikipedia caption) pairs per language that mella's pair check keeps.

Usage (from a checkout of mella, or with PYTHONPATH pointing at its src/):
    PYTHONPATH=/path/to/mella/src python make_candidates.py \
        --root /work/shared/real-data --out candidates.jsonl [--work /tmp/devset-work/stage]

--root is a folder laid out like /work/shared/real-data (tests/data/devset/pages works too, for the
page files it holds). HTML pages are staged into --work with a urls.tsv (fundus: from meta.info) so
that mella's InputReader gives them their page URL; the other HTML pages get it from their canonical link.
Output: one JSON line per candidate with the fields of alts.jsonl minus the labels, plus the page title
and the text around the image (for labelling).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

# page files used, relative to --root, in output order
PAGE_SOURCES = [
    "html-fundus/cz/SeznamZpravy_2025_04_08.html.gz",
    "html-fundus/cz/SeznamZpravy_2025_11_06.html.gz",
    "html-fundus/cz/SeznamZpravy_2025_12_10.html.gz",
    "html-fundus/kr/HankookIlbo_2025_05_15.html.gz",
    "html-fundus/kr/HankookIlbo_2026_01_29.html.gz",
    "html-fundus/kr/HankookIlbo_2026_07_12.html.gz",
    "html-fundus/kr/MBN_2025_06_03.html.gz",
    "html-fundus/lb/LBCGroup_2026_01_08.html.gz",
    "html-newspaper4k/arabic_article.html",
    "html-newspaper4k/thai_article.html",
    "html-trafilatura/assabah.com.tn.article.html",
    "html-trafilatura/football.ua.podolski.html",
    "html-trafilatura/mindmegette.hu.levagott.html",
    "warc-resiliparse/warcfile.warc.gz",
    "warc-resiliparse/clipped.warc.gz",
    "warc-resiliparse/clueweb-quirk.warc.gz",
    "warc-wacloud-idnes/example-20200623-crawler0.warc.gz",
    "warc-whirlwind/whirlwind.warc.gz",
    "warc-dolma/sample-0000.warc.gz",
    "warc-dolma/sample-0001.warc.gz",
]
WIT_SOURCES = ["iglue-wit/test_ar.jsonl", "iglue-wit/test_ko.jsonl", "iglue-wit/test_vi.jsonl"]
WIT_PER_LANG = 30
PAGE_CAP = 80  # at most this many candidates per page (none of the pages used reaches it)
# WARCs of many near-identical template pages: only their first N pages
MAX_PAGES = {"warc-resiliparse/clueweb-quirk.warc.gz": 1}
CAPTION_CLASSES = ("thumbcaption", "wp-caption-text", "gallerytext", "image-caption", "caption")


class ListSink:
    """Exclusion sink that keeps the extractor's dropped documents in memory."""

    def __init__(self):
        self.docs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def write(self, doc, rank=0, **_):
        self.docs.append(doc)


def _text(node) -> str:
    return " ".join((node.text(deep=True, separator=" ", strip=True) or "").split())


def _near_caption(img):
    """(caption text, how) for an image in a <figure> with <figcaption>, or next to a caption element."""
    current = img.parent
    for _ in range(4):
        if current is None:
            break
        if current.tag == "figure":
            cap = current.css_first("figcaption")
            if cap is not None and _text(cap):
                return _text(cap), "figcaption"
            break
        current = current.parent
    current = img.parent
    for _ in range(4):  # Wikipedia thumb / WordPress wp-caption: a caption element in a small container
        if current is None or current.tag in ("body", "html"):
            break
        for cls in CAPTION_CLASSES:
            cap = current.css_first(f".{cls}")
            if cap is not None and _text(cap) and len(current.css("img")) == 1:
                return _text(cap), cls
        current = current.parent
    return None, None


def _stage_html(root: Path, work: Path, rel: str) -> Path:
    src = root / rel
    dst = work / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    meta_info = src.parent / "meta.info"
    if meta_info.is_file():  # fundus: page URLs -> urls.tsv that mella's InputReader reads
        urls = json.loads(meta_info.read_text(encoding="utf-8"))
        (dst.parent / "urls.tsv").write_text(
            "".join(f"{name}\t{entry['url']}\n" for name, entry in sorted(urls.items())), encoding="utf-8")
    return dst


def page_candidates(root: Path, work: Path, rel: str) -> list[dict]:
    from selectolax.lexbor import LexborHTMLParser

    from mella.steps.alt_text import AltTextExtractor
    from mella.steps.read import InputReader
    from mella.urls import resolve

    path = root / rel
    if not path.is_file():
        print(f"skip (missing): {rel}", file=sys.stderr)
        return []
    if rel.startswith("html-"):
        path = _stage_html(root, work, rel)
    out = []
    reader = InputReader([path])
    for page_no, page in enumerate(reader.run(None, 0, 1)):
        if page_no >= MAX_PAGES.get(rel, 10**9):
            break
        sink = ListSink()
        extractor = AltTextExtractor(exclusion_writer=sink)
        records = extractor.extract(page, 0)
        page_url = page.metadata.get("page.url")
        tree = LexborHTMLParser(page.media[0].media_bytes)
        head = tree.head
        base = page_url
        base_node = head.css_first("base[href]") if head is not None else None
        if base_node is not None:
            base = resolve(page_url, base_node.attributes.get("href") or "") or page_url
        all_imgs = tree.css("img")
        alt_pos = [i for i, node in enumerate(all_imgs) if "alt" in node.attributes]  # == css("img[alt]")
        title = records[0].metadata.get("page.title") if records else None
        if title is None:
            t = head.css_first("title") if head is not None else None
            title = " ".join(t.text().split()) if t is not None else None
        dropped = {d.id: d.metadata.get("filter_reason") for d in sink.docs}
        for doc in records:
            index = int(doc.id.rsplit("-", 1)[1])
            node = all_imgs[alt_pos[index]]
            meta = doc.metadata
            out.append({
                "source": rel, "page_no": page_no, "page_url": meta.get("page.url"),
                "page_title": meta.get("page.title"), "page_lang": meta.get("page.lang"),
                "img_index": alt_pos[index], "record_id": doc.id,
                "image_url": doc.media[0].url if doc.media else None, "text": doc.text, "text_kind": "alt",
                "alt_raw": node.attributes.get("alt"),
                "figcaption": meta.get("img.figcaption") or _near_caption(node)[0],
                "img_title": meta.get("img.title"), "context": meta.get("page.context"),
                "alt_page_count": meta.get("alt.page_count"), "origin": "page"})
        extractor_ = AltTextExtractor()
        for i, node in enumerate(all_imgs):
            alt = node.attributes.get("alt")
            if alt and alt.strip():
                continue
            caption, how = _near_caption(node)
            if not caption:
                continue
            url, reason = extractor_._image_url(node, node.attributes, base)
            out.append({
                "source": rel, "page_no": page_no, "page_url": page_url, "page_title": title,
                "page_lang": None, "img_index": i, "record_id": None, "image_url": url,
                "text": caption, "text_kind": "figcaption", "alt_raw": alt, "figcaption": caption,
                "caption_via": how, "url_problem": reason, "img_title": node.attributes.get("title"),
                "context": None, "alt_page_count": None, "origin": "page"})
        page_out = [c for c in out if c["source"] == rel and c["page_no"] == page_no]
        if len(page_out) > PAGE_CAP:
            print(f"{rel} page {page_no}: {len(page_out)} candidates, capped at {PAGE_CAP}", file=sys.stderr)
        n_alt = sum(c["text_kind"] == "alt" for c in page_out)
        print(f"{rel} page {page_no} {page_url}: {n_alt} alt records, "
              f"{sum(c['text_kind'] == 'figcaption' for c in page_out)} figcaption, "
              f"{len(dropped)} dropped by extractor {sorted(set(dropped.values()))}", file=sys.stderr)
    out.sort(key=lambda c: (c["page_no"], c["img_index"]))
    # the cap, page by page
    capped, seen = [], {}
    for c in out:
        seen[c["page_no"]] = seen.get(c["page_no"], 0) + 1
        if seen[c["page_no"]] <= PAGE_CAP:
            capped.append(c)
    return capped


def wit_candidates(root: Path, rel: str, per_lang: int = WIT_PER_LANG) -> list[dict]:
    from mella.steps.alt_text import AltTextExtractor
    from mella.steps.read import InputReader

    path = root / rel
    if not path.is_file():
        print(f"skip (missing): {rel}", file=sys.stderr)
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    sink = ListSink()
    extractor = AltTextExtractor(exclusion_writer=sink)
    out = []
    pairs = InputReader([path]).run(None, 0, 1)
    for row_no, (row, doc) in enumerate(zip(rows, pairs)):
        kept = extractor.check_pair(doc, 0)
        if kept is None:
            continue
        out.append({
            "source": rel, "page_no": row_no, "page_url": kept.metadata.get("page.url"), "page_title": None,
            "page_lang": kept.metadata.get("page.lang"), "img_index": row_no, "record_id": kept.id,
            "image_url": kept.media[0].url, "text": kept.text, "text_kind": "figcaption", "alt_raw": None,
            "figcaption": row.get("caption_reference_description"), "img_title": None, "context": None,
            "alt_page_count": None, "origin": "wit", "wit_ix": row.get("wit_ix")})
        if len(out) >= per_lang:
            break
    print(f"{rel}: {len(out)} kept of the first {row_no + 1} rows ({len(sink.docs)} dropped: "
          f"{sorted({d.metadata.get('filter_reason') for d in sink.docs})})", file=sys.stderr)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default="/work/shared/real-data", type=Path)
    ap.add_argument("--out", default="/tmp/devset-work/candidates.jsonl", type=Path)
    ap.add_argument("--work", default="/tmp/devset-work/stage", type=Path)
    ap.add_argument("--wit-per-lang", default=WIT_PER_LANG, type=int)
    args = ap.parse_args(argv)
    cands = []
    for rel in PAGE_SOURCES:
        cands += page_candidates(args.root, args.work, rel)
    for rel in WIT_SOURCES:
        cands += wit_candidates(args.root, rel, args.wit_per_lang)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for c in cands:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{len(cands)} candidates -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
