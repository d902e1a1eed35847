"""One record per <img> with a non-empty alt: image URL, alt, title, figcaption, page context."""

from __future__ import annotations

import html as htmllib
import re
import time

import xxhash
from datatrove.data import Document, DocumentsPipeline, Media, MediaType

from mella.htmldecode import tag_depth
from mella.steps.base import DroppingStep
from mella.text import clean
from mella.urls import (image_url_kind, is_placeholder, is_tracker, largest_candidate, parse_srcset,
                        registered_domain, resolve)

LAZY_SRC_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src",
                  "data-full-src", "data-orig-src", "lazy-src", "data-echo", "original")
LAZY_SRCSET_ATTRS = ("srcset", "data-srcset", "data-lazy-srcset")
_LAZY_SRC_SET = frozenset(LAZY_SRC_ATTRS)
_SRCSET_SET = frozenset(LAZY_SRCSET_ATTRS)
_SKIP_CONTEXT_TAGS = ("body", "html", "head", "-undef")
_TITLE_SPLIT = re.compile(r"\s+[|\-–—:·•»«/]+\s+|\s*::\s*")


_CITATION = re.compile(r"\[(?:\d{1,3}|[a-z]|note \d{1,3})\]")


def _clean(value: str | None) -> str:
    if not value:
        return ""
    if "&" in value:  # double-escaped markup (&amp;quot;) is common in CMS output
        value = htmllib.unescape(value)
    if "[" in value:  # Wikipedia's citation markers ("…محطة طوكيو[105]")
        value = _CITATION.sub("", value)
    return " ".join(clean(value).split())


def _int_attr(value: str | None) -> int | None:
    if not value:
        return None
    digits = value.strip().removesuffix("px").strip()
    return int(digits) if digits.isdigit() and len(digits) < 7 else None


class AltTextExtractor(DroppingStep):
    """Page Documents -> image-text Documents; pair records (already with an image) pass through."""

    type = "🖼 - EXTRACTOR"
    name = "🏷 alt-text"

    def __init__(self, max_alt_chars: int = 2000, max_images_per_page: int = 1000, context_chars: int = 300,
                 context_levels: int = 3, pixel_max_side: int = 2, exclusion_writer=None, max_depth: int = 5000,
                 max_page_seconds: float = 10.0, placeholder_texts: int = 3):
        super().__init__(exclusion_writer)
        self.placeholder_texts = placeholder_texts
        self.max_depth, self.max_page_seconds = max_depth, max_page_seconds
        self.max_alt_chars = max_alt_chars
        self.max_images_per_page = max_images_per_page
        self.context_chars = context_chars
        self.context_levels = context_levels
        self.pixel_max_side = pixel_max_side

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.sink():
            for page in data:
                if not page.media or page.media[0].type != MediaType.DOCUMENT:
                    pair = self.check_pair(page, rank)  # a pair record from a table: URL checks only
                    if pair is not None:
                        yield pair
                    continue
                with self.track_time():
                    records = self.extract(page, rank)
                yield from records

    def extract(self, page: Document, rank: int) -> list[Document]:
        from selectolax.lexbor import LexborHTMLParser

        pmeta = page.metadata
        html = page.media[0].media_bytes
        depth = tag_depth(html)
        if depth > self.max_depth:  # the parser's time grows with the square of the depth
            pmeta["page.error"] = f"elements nested {depth} deep (limit {self.max_depth})"
            self.drop(Document(text="", id=page.id, metadata=pmeta), "html_too_deep", rank)
            return []
        started = time.perf_counter()
        try:
            tree = LexborHTMLParser(html)
        except Exception as e:  # noqa: BLE001 - lexbor raises plain exceptions on pathological input
            pmeta["page.error"] = str(e)[:300]
            self.drop(Document(text="", id=page.id, metadata=pmeta), "html_parse_error", rank)
            return []
        head = tree.head  # page-level fields live in <head>: query it, not the whole tree
        page_url = pmeta.get("page.url")
        base = page_url
        base_node = head.css_first("base[href]") if head is not None else None
        if base_node is not None:
            base = resolve(page_url, base_node.attributes.get("href") or "") or page_url
        if not page_url:
            page_url = _canonical_url(head)
            base = base or page_url
            pmeta["page.url"] = page_url
        page_meta = {"page.url": page_url, "page.domain": registered_domain(page_url), "page.date": pmeta.get("page.date"),
                     "page.lang": _page_lang(tree.root, head), "page.title": _title(head),
                     "page.site_name": _site_name(head), "page.description": _description(head),
                     "source.file": pmeta.get("source.file"),
                     "page.charset": pmeta.get("page.charset")}
        # the record's offset in its WARC file too: a crawl that repeats a record id keeps distinct ids
        page_key = xxhash.xxh3_64_hexdigest(f"{page.id}\x00{page_url}\x00{pmeta.get('source.offset') or ''}".encode())
        records: list[Document] = []
        alt_counts: dict[str, int] = {}
        headline_memo: dict = {}  # normalised texts of the page's links and headings, by node
        # only <img> with an alt attribute, or inside a figure / captioned box, become Python objects
        # (css("img") costs ~4x more, measured)
        images = tree.css("img[alt]")
        captioned = tree.css(CAPTIONED_IMAGES)  # images without an alt whose caption may describe them
        if captioned:
            seen = {n.mem_id for n in images}
            images += [n for n in captioned if n.mem_id not in seen and not seen.add(n.mem_id)]
        counts = self.counts
        counts["img_with_alt_attr"] += len(images)
        if len(images) > self.max_images_per_page:
            counts["img_over_page_cap"] += len(images) - self.max_images_per_page
            images = images[: self.max_images_per_page]
        for index, node in enumerate(images):
            if index % 64 == 63 and time.perf_counter() - started > self.max_page_seconds:
                counts["img_over_page_time_limit"] += len(images) - index
                pmeta["page.error"] = f"over {self.max_page_seconds} s: {len(images) - index} images not read"
                self.drop(Document(text="", id=f"{page.id}#time", metadata=dict(pmeta)), "page_time_limit", rank)
                break
            attrs = node.attributes
            raw_alt = attrs.get("alt") or ""
            caption = _figcaption(node)
            if not raw_alt.strip() and not caption:
                counts["img_empty_alt"] += 1
                continue
            meta = dict(page_meta)
            meta["text.kind"] = "alt" if raw_alt.strip() else "figcaption"
            doc = Document(text="", id=f"{page_key}-{index:04d}", metadata=meta)
            if len(raw_alt) > self.max_alt_chars:
                doc.text = raw_alt[:200]
                self.drop(doc, "alt_oversized", rank)
                continue
            alt = _clean(raw_alt) or caption
            doc.text = alt
            url, reason = self._image_url(node, attrs, base)
            if url:
                doc.media.append(Media(id=str(index), type=MediaType.IMAGE, url=url, alt=alt))
                meta["img.url_alts"] = _other_urls(node, attrs, base, url)
            width, height = _int_attr(attrs.get("width")), _int_attr(attrs.get("height"))
            meta["img.width_attr"], meta["img.height_attr"] = width, height
            if reason is None:
                reason = self._junk_image(url, width, height)
            if reason:
                self.drop(doc, reason, rank)
                continue
            meta["img.title"] = _clean(attrs.get("title")) or None
            meta["img.figcaption"] = caption
            meta["page.context"] = self._context(node)
            meta["alt.headline"] = meta["text.kind"] == "alt" and is_headline(node, alt, page_meta["page.title"],
                                                                              headline_memo)
            key = alt.casefold()
            alt_counts[key] = alt_counts.get(key, 0) + 1
            records.append(doc)
        records = self.page_checks(records, alt_counts, rank)
        counts["records"] += len(records)
        return records

    def page_checks(self, records: list[Document], alt_counts: dict[str, int], rank: int) -> list[Document]:
        """Checks across a page's images: one image URL carrying several different texts is a placeholder
        (a default category picture under many headlines); a small or icon-like image repeating the text of
        another picture is an overlay (a play button on a video thumbnail); a text on several distinct
        photos is a gallery caption (``alt.gallery``: how many photos), not a template."""
        texts_by_url: dict[str, set[str]] = {}
        urls_by_text: dict[str, list[Document]] = {}
        from mella.steps.alt_quality import normalise

        norms = [normalise(doc.text) for doc in records]
        for doc, norm in zip(records, norms):
            url = doc.media[0].url if doc.media else ""
            texts_by_url.setdefault(url, set()).add(norm)
            urls_by_text.setdefault(norm, []).append(doc)
        kept = []
        for doc, norm in zip(records, norms):
            url = doc.media[0].url if doc.media else ""
            doc.metadata["alt.page_count"] = alt_counts[doc.text.casefold()]
            if len(texts_by_url[url]) >= self.placeholder_texts:
                self.drop(doc, "placeholder_image", rank)
                continue
            same = urls_by_text[norm]
            if len(same) > 1 and _is_overlay(doc) and any(not _is_overlay(o) for o in same if o is not doc):
                self.drop(doc, "overlay_icon", rank)
                continue
            photos = {o.media[0].url for o in same if o.media and not _is_overlay(o)}
            doc.metadata["alt.gallery"] = len(photos) if len(photos) > 1 else None
            kept.append(doc)
        return kept

    def check_pair(self, doc: Document, rank: int) -> Document | None:
        """A ready (image URL, text) record: the same URL checks as for extracted images."""
        meta = doc.metadata
        doc.text = _clean(doc.text)
        if not doc.text:
            self.drop(doc, "empty_text", rank)
            return None
        if len(doc.text) > self.max_alt_chars:
            doc.text = doc.text[:200]
            self.drop(doc, "alt_oversized", rank)
            return None
        url = resolve(meta.get("page.url"), doc.media[0].url) if doc.media else None
        reason = "bad_image_url" if url is None else self._junk_image(url, None, None)
        if reason:
            self.drop(doc, reason, rank)
            return None
        doc.media[0].url = url
        meta["page.domain"] = registered_domain(meta.get("page.url"))
        self.counts["pairs"] += 1
        return doc

    def _image_url(self, node, attrs: dict, base: str | None) -> tuple[str | None, str | None]:
        """(absolute URL, None) or (None, drop reason). Prefers the largest srcset candidate, then lazy
        attributes, then ``src`` unless it is a placeholder."""
        keys = attrs.keys()
        src = attrs.get("src")
        if src and not (_SRCSET_SET & keys or _LAZY_SRC_SET & keys) and not is_placeholder(src):
            url = resolve(base, src)  # the common case: a plain src
            if url and node.parent.tag != "picture":
                return url, None
        srcsets = [attrs[a] for a in LAZY_SRCSET_ATTRS if a in keys and attrs[a]] if _SRCSET_SET & keys else []
        parent = node.parent
        if parent is not None and parent.tag == "picture":
            srcsets += [s.attributes.get("srcset") or s.attributes.get("data-srcset") or ""
                        for s in parent.css("source")]
        candidates = [largest_candidate([s for s in srcsets if s])] if srcsets else []
        if _LAZY_SRC_SET & keys:
            candidates += [attrs[a] for a in LAZY_SRC_ATTRS if a in keys]
        src = (attrs.get("src") or "").strip()
        candidates.append(src if src and not is_placeholder(src) else None)
        saw_relative = False
        for cand in candidates:
            if not cand or not cand.strip() or cand.strip().startswith("data:"):
                continue
            url = resolve(base, cand)
            if url:
                return url, None
            saw_relative = saw_relative or "://" not in cand
        if saw_relative and not base:
            return None, "relative_url_no_base"
        if src.startswith("data:"):
            return None, "data_uri_only"
        if src and is_placeholder(src):
            return None, "placeholder_only"
        return None, "no_image_url" if not src else "bad_image_url"

    def _junk_image(self, url: str, width: int | None, height: int | None) -> str | None:
        if (width is not None and width <= self.pixel_max_side) or (
                height is not None and height <= self.pixel_max_side):
            return "tracking_pixel"
        if is_tracker(url):
            return "tracker_host"
        path = url.partition("?")[0].partition("#")[0]
        suffix = path[-5:].lower()
        if suffix.endswith((".svg", ".svgz")):
            return "svg_image"
        if suffix.endswith(".ico"):
            return "icon_image"
        kind = image_url_kind(url)
        return f"{kind}_image" if kind else None

    def _context(self, node) -> str | None:
        """Text around the image: the nearest of a few ancestors with some text; at the top of the
        page (body) the neighbouring elements instead. Bounded to ``context_chars``."""
        current, found = node, ""
        for _ in range(self.context_levels):
            parent = current.parent
            if parent is None or parent.tag in _SKIP_CONTEXT_TAGS:
                found = " ".join(t for t in (_sibling_text(current, "prev"), found,
                                             _sibling_text(current, "next")) if t)
                break
            found = parent.text(deep=True, separator=" ", strip=True) or found
            if len(found) >= 40:
                break
            current = parent
        found = " ".join(clean(found[: self.context_chars * 2]).split())[: self.context_chars]
        return found or None


def _other_urls(node, attrs: dict, base: str | None, chosen: str, cap: int = 10) -> str | None:
    """The other URLs this img names for the same picture (src, srcset and lazy candidates), so that an
    image the crawl stored under another variant is still found there. Only when there is more than src."""
    keys = attrs.keys()
    parent = node.parent
    if not (_SRCSET_SET & keys or _LAZY_SRC_SET & keys) and (parent is None or parent.tag != "picture"):
        return None
    raw = [attrs.get("src") or ""] + [attrs[a] for a in LAZY_SRC_ATTRS if a in keys]
    srcsets = [attrs[a] for a in LAZY_SRCSET_ATTRS if a in keys and attrs[a]]
    if parent is not None and parent.tag == "picture":
        srcsets += [s.attributes.get("srcset") or "" for s in parent.css("source")]
    raw += [url for srcset in srcsets for url, _, _ in parse_srcset(srcset)]
    out: list[str] = []
    for cand in raw:
        url = resolve(base, cand) if cand and not cand.startswith("data:") else None
        if url and url != chosen and url not in out:
            out.append(url)
    return "\n".join(out[:cap]) or None


def _sibling_text(node, direction: str) -> str:
    sibling = getattr(node, direction)
    for _ in range(6):  # skip whitespace text nodes and comments
        if sibling is None:
            return ""
        if sibling.tag not in ("-text", "_text", "-comment", "_comment", "script", "style"):
            return sibling.text(deep=True, separator=" ", strip=True)[:1000]
        sibling = getattr(sibling, direction)
    return ""


# boxes that hold a picture and its caption: <figure>, and elements whose class names one
# (Wikipedia div.thumb, WordPress .wp-caption, news sites' .img-box / .photo / .article-image...)
_CAPTION_BOXES = ("img", "image", "photo", "thumb", "figure", "media", "pic", "caption")
CAPTIONED_IMAGES = ", ".join(["figure img:not([alt])"] + [f"[class*={b}] img:not([alt])" for b in _CAPTION_BOXES])
OVERLAY_MAX_SIDE = 64  # an image this small (html width or height) repeating another's text is an overlay


def _is_overlay(doc: Document) -> bool:
    meta = doc.metadata
    sides = [v for v in (meta.get("img.width_attr"), meta.get("img.height_attr")) if v]
    small = bool(sides) and min(sides) <= OVERLAY_MAX_SIDE
    return small or image_url_kind(doc.media[0].url if doc.media else None) == "icon"


def _figcaption(node) -> str | None:
    """The caption of the picture: the enclosing figure's figcaption, or the caption element of an
    enclosing captioned box (Wikipedia ``div.thumb`` > ``div.thumbcaption``, WordPress ``.wp-caption-text``,
    ``[class*=caption]``), up to four levels up."""
    current = node.parent
    for _ in range(4):
        if current is None or current.tag in ("body", "html"):
            return None
        if current.tag == "figure":
            cap = current.css_first("figcaption")
            return _clean(cap.text(deep=True, separator=" ", strip=True))[:2000] or None if cap is not None else None
        classes = (current.attributes.get("class") or "").lower()
        if any(box in classes for box in _CAPTION_BOXES):
            cap = current.css_first("[class*=caption]")
            # the box's caption is this picture's only when the box holds no other picture
            if cap is not None and len(current.css("img")) == 1:
                return _clean(cap.text(deep=True, separator=" ", strip=True))[:2000] or None
        current = current.parent
    return None


HEADLINE_MIN_CHARS = 15  # shorter texts are names and labels, not teaser headlines
HEADLINE_LEVELS = 4  # containers searched above the image (or its link) for a matching link or heading
HEADLINE_MAX_NODES = 40  # links and headings compared per container


def is_headline(node, alt: str, title: str | None, memo: dict | None = None) -> bool:
    """Is the alt a teaser headline: (nearly) the text of a link or heading next to the image (a story
    card), or the page title's headline part? Such an alt names the story's people and places (culture)
    but does not describe the picture: flagged, kept unless the config drops headlines."""
    from mella.steps.alt_quality import normalise

    norm = normalise(alt)
    if len(norm) < HEADLINE_MIN_CHARS:
        return False
    if title:
        parts = [normalise(p) for p in _TITLE_SPLIT.split(title) if p.strip()]
        if len(parts) > 1 and norm == max(parts, key=len):  # "Headline | Site": the headline part
            return True
    current = node
    for _ in range(2):  # the link the image sits in, if any
        if current.parent is None:
            break
        current = current.parent
        if current.tag == "a":
            break
    container = current if current.tag == "a" else node
    for _ in range(HEADLINE_LEVELS):
        container = container.parent
        if container is None or container.tag in ("body", "html"):
            return False
        for cand in container.css("a, h1, h2, h3, h4, h5, h6")[:HEADLINE_MAX_NODES]:
            memo = {} if memo is None else memo
            key = cand.mem_id
            raw = memo.get(key)
            if raw is None:
                raw = memo[key] = cand.text(deep=True, separator=" ", strip=True)
            if not 0.5 * len(norm) <= len(raw) <= 3 * len(norm) + 20:
                continue  # far longer or shorter than the alt: no need to normalise it
            text = memo.get(-key)  # normalised texts under the negated node id
            if text is None:
                text = memo[-key] = normalise(raw)
            if text and _same_text(norm, text):
                return True
    return False


def _same_text(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) < 0.8 * len(long_):
        return False
    if short in long_:
        return True
    from difflib import SequenceMatcher

    matcher = SequenceMatcher(None, a, b, autojunk=False)
    # the cheap upper bounds first: most candidates (other stories' links) fail them
    return matcher.real_quick_ratio() >= 0.9 and matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9


def _page_lang(root, head) -> str | None:
    if root is not None:
        lang = root.attributes.get("lang") or root.attributes.get("xml:lang")
        if lang and lang.strip():
            return _clean(lang)[:20]
    if head is None:
        return None
    for selector, attr in (('meta[http-equiv="content-language" i]', "content"),
                           ('meta[name="language" i]', "content"), ('meta[property="og:locale"]', "content")):
        node = head.css_first(selector)
        if node is not None and (node.attributes.get(attr) or "").strip():
            return _clean(node.attributes[attr]).split(",")[0].replace("_", "-")[:20]
    return None


def _title(head) -> str | None:
    node = head.css_first("title") if head is not None else None
    return _clean(node.text())[:500] or None if node is not None else None


def _site_name(head) -> str | None:
    if head is None:
        return None
    for selector in ('meta[property="og:site_name"]', 'meta[name="application-name"]'):
        node = head.css_first(selector)
        if node is not None and (node.attributes.get("content") or "").strip():
            return _clean(node.attributes["content"])[:200]
    return None


def _description(head) -> str | None:
    """The site's or page's description (meta description, og:description): a logo's alt is often it."""
    if head is None:
        return None
    for selector in ('meta[name="description" i]', 'meta[property="og:description"]'):
        node = head.css_first(selector)
        if node is not None and (node.attributes.get("content") or "").strip():
            return _clean(node.attributes["content"])[:300]
    return None


def _canonical_url(head) -> str | None:
    if head is None:
        return None
    for selector, attr in (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")):
        node = head.css_first(selector)
        if node is not None:
            url = resolve(None, node.attributes.get(attr) or "")
            if url:
                return url
    return None
