"""Alt-text quality: signals (annotator, never drops) and the decision with thresholds (filter)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from mella.steps.base import Filter

from mella.languages import Language
from mella.resources import word_list
from mella.scripts import script_counts, top_script

CHAR_SCRIPTS = frozenset({"Thai", "Hang", "Arab", "Hani", "Jpan", "Laoo", "Khmr", "Mymr", "Tibt"})
_IMG_EXT = r"(?:jpe?g|png|gif|webp|bmp|svg|tiff?|avif|heic|jfif|ico)"
FILENAME = re.compile(rf"[\w\-%.~+()]+\.{_IMG_EXT}(?![\w])", re.I)
URL = re.compile(r"(?:https?://|www\.)\S", re.I)
CAMERA = re.compile(r"^(?:img|dsc|dscn|dscf|dcim|pict?|p|sam|gopr|screenshot|scan|image|photo|foto)"
                    r"[\s_\-]?\d{2,}", re.I)
HEX = re.compile(r"^[0-9a-f]{8,}$", re.I)
SLUG = re.compile(r"^[\w%]+(?:[_\-][\w%]+){2,}$")
# UTF-8 read as cp1252/latin-1, and UTF-8 Cyrillic read as cp1251
MOJIBAKE_LATIN = re.compile("[ÃÂÐÑØÙ][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|Ã[¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿]")
MOJIBAKE_CYRL = re.compile("[РС][ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџЎўЈ¤Ґ¦§©Є«¬®Ї°±Ііґµ¶·№є»јЅѕї]")
TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·•»«/]+\s+|\s*::\s*")
_NON_WORD = re.compile(r"[\W\d_]+")
_DIGIT_RUN = re.compile(r"\d{2,}")

MEMO_SIZE = 65_536  # distinct alt-texts whose text-only signals are remembered (then the memo restarts)

# the order in which the filter reports the first failing check
REASONS = ("tracker_alt", "url_alt", "filename_alt", "hash_alt", "mojibake", "mostly_non_letters", "generic_alt",
           "app_promo", "alt_is_page_title", "site_slogan", "page_repeated_alt", "quote_headline",
           "headline")
# flags of an alt that says nothing about the picture: a caption next to it takes its place
REPLACEABLE = frozenset({"tracker_alt", "url_alt", "filename_alt", "hash_alt", "generic_alt", "mostly_non_letters"})


def normalise(text: str) -> str:
    """Case-folded letters and single spaces only (for comparisons between texts)."""
    return " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFC", text).casefold()).split())


class GenericMatcher:
    """Is a normalised alt-text made only of generic words/phrases (logo, photo, 사진...)?

    A word-break search over the entries (a real alt-text fails at its first content word). Words match
    whole tokens; in scripts without word spaces (Thai...), entries match anywhere.
    """

    def __init__(self, entries: set[str]):
        self.by_token: dict[str, list[tuple[str, ...]]] = {}
        self.by_char: dict[str, list[str]] = {}
        for entry in sorted(entries, key=len, reverse=True):
            tokens = tuple(entry.split())
            self.by_token.setdefault(tokens[0], []).append(tokens)
            compact = entry.replace(" ", "")
            self.by_char.setdefault(compact[0], []).append(compact)

    def covers(self, norm: str, by_chars: bool) -> bool:
        # word-break over entries: reachable[i] = text[:i] is a sequence of entries
        units = norm.replace(" ", "") if by_chars else norm.split()
        n = len(units)
        if n == 0 or n > 200:  # nothing to cover, or far longer than any generic alt
            return n == 0
        table = self.by_char if by_chars else self.by_token
        reachable = [True] + [False] * n
        for i in range(n):
            if not reachable[i]:
                continue
            for entry in table.get(units[i], ()):
                end = i + len(entry)
                if end <= n and (units.startswith(entry, i) if by_chars else tuple(units[i:end]) == entry):
                    reachable[end] = True
        return reachable[n]


@cache
def promo_pattern(langs: tuple[str, ...]) -> re.Pattern | None:
    """One pattern for the app-download and store-badge texts of ``langs`` and English (data/promos.yaml)."""
    import yaml

    from mella.resources import data_text

    table = yaml.safe_load(data_text("promos.yaml")) or {}
    parts = [p for code in ("en", *langs) for p in table.get(code, [])]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.I) if parts else None


@cache
def headline_labels(langs: tuple[str, ...]) -> frozenset[str]:
    """Section and media labels that open a headline ("Foto: ...") in ``langs`` and English
    (data/headline_labels.yaml), normalised."""
    import yaml

    from mella.resources import data_text

    table = yaml.safe_load(data_text("headline_labels.yaml")) or {}
    return frozenset(normalise(str(w)) for code in ("en", *langs) for w in table.get(code, []) or [])


_QUOTE_COLON = re.compile(r"^(.{1,80}?)\s*[:：]\s+(.+)$", re.S)
_QUOTED = re.compile(r"^[\"“„«»‚'‘].+[\"”“»«'’]$", re.S)
QUOTE_MIN_WORDS = 4  # words after "Speaker:" (shorter rests are labels: "Elronthatatlan desszertcsoda: Nutellás sajttorta")
_LABEL_PREFIX_SCRIPTS = re.compile(r"^[\u0e00-\u0e7f\uac00-\ud7a3]")  # Thai, Hangul: no spaces inside compounds


def is_quote_form(text: str, labels: frozenset[str]) -> bool:
    """Is the text "Speaker: statement" (a news quote headline)? The speaker is 1-4 words without a
    digit or a section/media label ("Foto", "بالصور", "포토뉴스"), capitalised where the script has case; the
    statement at least QUOTE_MIN_WORDS words, or 2 inside quotation marks ("Путин: «Мы не нападём»").
    A place dateline has the same shape ("Praha: ...", "غزة: ..."): the text alone cannot tell them
    apart, which is why this is a flag (``quote_form``) and dropping is a switch."""
    m = _QUOTE_COLON.match(text.strip())
    if m is None:
        return False
    rest = m.group(2).strip()
    if len(rest.split()) < (2 if _QUOTED.match(rest) else QUOTE_MIN_WORDS):
        return False
    speaker = m.group(1)
    words = speaker.split()
    if not 1 <= len(words) <= 4 or any(c.isdigit() for c in speaker):
        return False
    norm = normalise(speaker)
    padded = f" {norm} "
    if any(f" {label} " in padded or (_LABEL_PREFIX_SCRIPTS.match(label) and norm.startswith(label))
           for label in labels):
        return False
    for word in words:
        first = next((c for c in word if c.isalpha()), "")
        if first and first.lower() != first.upper() and not first.isupper():
            return False  # a lowercase word in a cased script: a phrase, not a name
    return True


@cache
def generic_matcher(langs: tuple[str, ...]) -> GenericMatcher:
    """Matcher over the generic-word lists of ``langs`` plus English (mella/data/generic_alt/)."""
    words = set(word_list("generic_alt/en.txt"))
    for code in langs:
        words |= word_list(f"generic_alt/{code}.txt")
    return GenericMatcher({normalise(w) for w in words if normalise(w)})


class AltQualityAnnotator(PipelineStep):
    """Adds ``lid.script`` (the alt's dominant script), ``alt.letters``, ``alt.words``,
    ``alt.letter_share`` and ``alt.flags`` (pattern checks that fired). Runs before language ID, so that
    junk is dropped before the classifier's cost; signals that need the language (length) are
    decided after it, by AltLengthFilter."""

    type = "🔤 - ANNOTATOR"
    name = "🧹 alt-text signals"

    def __init__(self, languages: dict[str, Language], min_hash_token_chars: int = 10):
        super().__init__()
        self.languages = languages
        self.min_hash_token_chars = min_hash_token_chars
        self._names_key: tuple | None = None
        self._names: tuple[str, set[str]] = ("", set())
        # the text-only signals of recent alt-texts: site-wide alts (logos, bylines) repeat on every page
        self._memo: dict[str, tuple] = {}

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        generic = generic_matcher(tuple(sorted(self.languages)))
        tracker_alts = {normalise(w) for w in word_list("tracker_alts.txt")}
        for doc in data:
            with self.track_time():
                self.annotate(doc, generic, tracker_alts)
            yield doc

    def signals(self, text: str, generic: GenericMatcher, tracker_alts: set[str]) -> tuple:
        signals = self._memo.get(text)
        if signals is None:
            signals = self.text_signals(text, generic, tracker_alts)
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[text] = signals
        return signals

    def annotate(self, doc: Document, generic: GenericMatcher, tracker_alts: set[str]) -> None:
        meta = doc.metadata
        signals = self.signals(doc.text, generic, tracker_alts)
        caption = meta.get("img.figcaption")
        if caption and meta.get("text.kind") == "alt" and (REPLACEABLE & set(signals[5]) or not signals[0]):
            # the alt says nothing about the picture ("foto", a file name); its caption does
            meta["alt.attr"] = doc.text
            meta["text.kind"] = "figcaption"
            meta["alt.headline"] = False
            doc.text = caption
            signals = self.signals(doc.text, generic, tracker_alts)
        norm, script, letters, words, share, text_flags = signals
        meta["lid.script"] = script
        meta["alt.letters"] = letters
        meta["alt.words"] = words
        meta["alt.letter_share"] = share
        flags = list(text_flags)
        title, site_names = self._page_names(meta.get("page.title"), meta.get("page.site_name"))
        if title and norm == title:
            flags.append("alt_is_page_title")
        elif norm and (norm in site_names or norm == normalise(meta.get("page.description") or "")):
            flags.append("site_slogan")
        meta["alt.flags"] = ",".join(flags) or None

    def text_signals(self, text: str, generic: GenericMatcher, tracker_alts: set[str]) -> tuple:
        """Signals that depend on the alt-text alone: (norm, script, letters, words, letter share, flags)."""
        flags: list[str] = []
        norm = normalise(text)
        counts = script_counts(text)
        letters = sum(counts.values())
        script = top_script(counts) if counts else "Zyyy"
        # a number is one symbol: "닐 핀 (2018년)" and "Maysa, 1956." are names with a year, not digits
        non_space = len(text) - text.count(" ") - sum(len(m) - 1 for m in _DIGIT_RUN.findall(text))
        if norm in tracker_alts:
            flags.append("tracker_alt")
        if URL.search(text):
            flags.append("url_alt")
        if FILENAME.search(text):
            flags.append("filename_alt")
        if self._hash_like(text):
            flags.append("hash_alt")
        if "\ufffd" in text or MOJIBAKE_LATIN.search(text) or len(MOJIBAKE_CYRL.findall(text)) >= 2:
            flags.append("mojibake")
        if not norm or generic.covers(norm, script in CHAR_SCRIPTS):
            flags.append("generic_alt")  # (an empty norm: nothing but digits and punctuation)
        promo = promo_pattern(tuple(sorted(self.languages)))
        if promo is not None and promo.search(text):
            flags.append("app_promo")
        if is_quote_form(text, headline_labels(tuple(sorted(self.languages)))):
            flags.append("quote_form")  # decided only for headlines (AltQualityFilter)
        share = letters / non_space if non_space else 0.0
        return norm, script, letters, len(text.split()), share, tuple(flags)

    def _page_names(self, title: str | None, site_name: str | None) -> tuple[str, set[str]]:
        """(normalised title, site names), computed once per page (a page's records arrive together)."""
        key = (title, site_name)
        if key != self._names_key:
            self._names_key = key
            self._names = (normalise(title or ""), _site_names(title, site_name))
        return self._names

    def _hash_like(self, text: str) -> bool:
        stripped = text.strip()
        if CAMERA.match(stripped):
            return True
        if " " in stripped:
            return False
        if HEX.match(stripped) and sum(c.isdigit() for c in stripped) >= 2:
            return True
        has_digit = any(c.isdigit() for c in stripped)
        has_alpha = any(c.isalpha() for c in stripped)
        if len(stripped) >= self.min_hash_token_chars and has_digit and has_alpha:
            return True
        return bool(SLUG.match(stripped)) and ("_" in stripped or has_digit)


def _site_names(title: str | None, site_name: str | None) -> set[str]:
    names = {normalise(site_name)} if site_name else set()
    if title:
        parts = [p for p in TITLE_SEPARATORS.split(title) if p.strip()]
        if len(parts) > 1:
            longest = max(parts, key=len)
            names |= {normalise(p) for p in parts if p is not longest and len(p.split()) <= 5}
    names.discard("")
    return names


class AltQualityFilter(Filter):
    """Drops alt-texts whose signals fail a check; the first failing check (REASONS order) is the reason."""

    name = "🧹 alt-text quality"

    def __init__(self, min_letter_share: float = 0.5, max_page_repeats: int = 2, exclusion_writer=None,
                 gallery_max: int = 12, drop_headlines: bool = False, drop_quote_headlines: bool = False):
        super().__init__(exclusion_writer)
        self.min_letter_share = min_letter_share
        self.max_page_repeats = max_page_repeats
        self.gallery_max = gallery_max
        self.drop_headlines = drop_headlines
        self.drop_quote_headlines = drop_quote_headlines

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        flags = set((meta.get("alt.flags") or "").split(","))
        if (meta.get("alt.letter_share") or 0.0) < self.min_letter_share:
            flags.add("mostly_non_letters")
        repeats = meta.get("alt.page_count") or 1
        if repeats > self.max_page_repeats:
            # one text on several distinct photos is a gallery's caption (one subject photographed several
            # times); on one picture repeated, or on more photos than a gallery has, it is a template
            gallery = meta.get("alt.gallery") or 0
            if not (max(2, repeats - 1) <= gallery <= self.gallery_max):
                flags.add("page_repeated_alt")
        if self.drop_headlines and meta.get("alt.headline"):
            flags.add("headline")
        if self.drop_quote_headlines and meta.get("alt.headline") and "quote_form" in flags:
            flags.add("quote_headline")  # "Netanyahu: ..." on a story card: what was said, not what is shown
        for reason in REASONS:
            if reason in flags:
                return False, reason
        return True


class AltLengthFilter(Filter):
    """too_short / too_long against the identified language's bounds, in its unit (characters for
    Thai, Korean, Arabic; words elsewhere). Runs after LanguageFilter.

    A name (``alt.name``: "Павел Вовк", "보힌의 위치") on a page in the same language (``lid.prior``) is
    kept from the language's ``name_min_len``: a named person, place or dish is a whole description."""

    name = "📏 alt-text length"

    def __init__(self, languages: dict[str, Language], exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.languages = languages

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        code = meta.get("lid.lang") or ""
        lang = self.languages.get(code)
        if lang is None:
            return True
        length = meta.get("alt.letters" if lang.length_unit == "chars" else "alt.words") or 0
        if length < lang.min_len:
            page_lang = (meta.get("lid.prior") or "").split(" ")[0]
            # the page's own subject ("Schneisingen" on its Wikipedia article) from one unit
            floor = 1 if meta.get("alt.in_title") else lang.name_min_len
            if not (meta.get("alt.name") and page_lang == code and length >= floor):
                return False, "too_short"
            self.counts["short_name_kept"] += 1
        if length > lang.max_len:
            return False, "too_long"
        return True
