"""The record table: every column, declared once (name, type, the step that makes it, what it means).

Every stage reads the whole table and writes it back with its own columns added: a column a stage does
not own passes through unchanged (columns unknown to mella too). ``docs/columns.md`` is rendered from
this registry (``python -m mella.schema``; a test keeps the two equal).

Inside a pipeline a record is a datatrove ``Document``: ``id``, ``text`` and ``image_url`` are Document
fields, every other column is the metadata key named here (namespaced: ``lid.lang``, ``img.sha256``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string | int32 | int64 | float32 | bool; "arrow" for a carried column of another type
    key: str | None  # Document metadata key; None for the Document fields id, text, image_url
    step: str  # the command that makes it
    meaning: str
    arrow: Any = field(default=None, compare=False)  # the pyarrow type of a carried unknown column


def _c(name, typ, key, step, meaning) -> Column:
    return Column(name, typ, key, step, meaning)


REGISTRY: list[Column] = [
    # -- mine: the native image-text pair and the signals its filters decided on ----------------------
    _c("id", "string", None, "mine", "record id: a hash of the page and the image's position on it (pair tables: their id)"),
    _c("lang", "string", "lid.lang", "mine", "language of `text` (a target-language code)"),
    _c("script", "string", "lid.script", "mine", "ISO 15924 script of `text` (Latn, Cyrl, Arab, Hang, Thai...)"),
    _c("lid_score", "float32", "lid.score", "mine", "language-ID probability of `lang` (confusable labels summed)"),
    _c("lid_label", "string", "lid.label", "mine", "best lid.176 label among those written in `script`"),
    _c("lid_evidence", "string", "lid.evidence", "mine",
       "what changed the classifier's first answer: script choice, orthography, marker words, page signals"),
    _c("lid_via", "string", "lid.via", "mine",
       "what decided `lang`: fasttext, orthography, pool, markers, prior (the page's language), name"),
    _c("lid_prior", "string", "lid.prior", "mine", "the page's language used as a prior, and its source (html_lang, title, cctld)"),
    _c("text", "string", None, "mine", "the native text paired with the image (see `text_kind`)"),
    _c("text_kind", "string", "text.kind", "mine",
       "what `text` is: `alt` (img alt attribute), `figcaption` (the picture's caption, when the alt is empty or "
       "says nothing), `caption` (pair tables)"),
    _c("credit", "string", "text.credit", "mine", "photo credit or byline split off the text (`Getty Images`, `사진 = 한수진 기자`)"),
    _c("alt_attr", "string", "alt.attr", "mine", "the img alt attribute, when `text` is the figcaption that replaced it"),
    _c("image_url", "string", None, "mine", "absolute image URL (largest srcset candidate, lazy attributes resolved)"),
    _c("image_url_alts", "string", "img.url_alts", "mine",
       "other URLs of the same image on the page (src, srcset candidates), newline-separated"),
    _c("title_attr", "string", "img.title", "mine", "the img title attribute"),
    _c("figcaption", "string", "img.figcaption", "mine", "text of the enclosing figure's figcaption"),
    _c("html_width", "int32", "img.width_attr", "mine", "width attribute of the img element"),
    _c("html_height", "int32", "img.height_attr", "mine", "height attribute of the img element"),
    _c("page_url", "string", "page.url", "mine", "URL of the page the pair was found on"),
    _c("page_domain", "string", "page.domain", "mine", "registered domain of the page (public suffix list): the split group"),
    _c("page_lang", "string", "page.lang", "mine", "the page's declared language (html lang, meta)"),
    _c("page_title", "string", "page.title", "mine", "the page's title"),
    _c("page_date", "string", "page.date", "mine", "crawl date (WARC-Date)"),
    _c("context", "string", "page.context", "mine", "text around the image on the page (bounded)"),
    _c("alt_letters", "int32", "alt.letters", "mine", "letters in `text` (the length unit of char languages)"),
    _c("alt_words", "int32", "alt.words", "mine", "words in `text`"),
    _c("alt_letter_share", "float32", "alt.letter_share", "mine", "letters / non-space characters of `text`"),
    _c("alt_page_count", "int32", "alt.page_count", "mine", "images on the same page carrying the same text"),
    _c("alt_flags", "string", "alt.flags", "mine", "junk-pattern checks that fired on `text` (comma-separated)"),
    _c("alt_name", "bool", "alt.name", "mine", "`text` looks like a name (capitalised run, Korean proper noun, title match)"),
    _c("alt_in_title", "bool", "alt.in_title", "mine", "`text` is (a part of) the page title: it names the page's subject"),
    _c("alt_headline", "bool", "alt.headline", "mine",
       "`text` is a teaser headline: the text of a link or heading next to the image, or the title's headline"),
    _c("alt_gallery", "int32", "alt.gallery", "mine", "distinct photos on the page carrying the same text (a gallery caption)"),
    _c("source_file", "string", "source.file", "mine", "crawl file the record came from"),
    _c("page_error", "string", "page.error", "mine",
       "what went wrong with the page or its file (excluded records): framing, range request, time limit"),
    # -- fetch: the image, stored once by content hash --------------------------------------------------
    _c("image_source", "string", "img.source", "fetch", "where the bytes came from: `warc` (the crawl) or `http`"),
    _c("image_status", "string", "img.status", "fetch", "`ok`, or the named reason the image was refused"),
    _c("image_error", "string", "img.error", "fetch", "detail of a refused image"),
    _c("image_format", "string", "img.format", "fetch", "format of the original bytes (JPEG, PNG, WEBP...)"),
    _c("image_ext", "string", "img.ext", "fetch", "extension of the stored file (jpg, webp, png)"),
    _c("width", "int32", "img.width", "fetch", "stored image width (after the max_side resize)"),
    _c("height", "int32", "img.height", "fetch", "stored image height"),
    _c("orig_width", "int32", "img.orig_width", "fetch", "original image width"),
    _c("orig_height", "int32", "img.orig_height", "fetch", "original image height"),
    _c("sha256", "string", "img.sha256", "fetch", "SHA-256 of the stored file: `images/<sha256[:2]>/<sha256>.<image_ext>`"),
    _c("orig_sha256", "string", "img.orig_sha256", "fetch", "SHA-256 of the original bytes (exact-duplicate check)"),
    _c("phash", "string", "img.phash", "fetch", "64-bit DCT perceptual hash, 16 hex digits (near-duplicate check)"),
    _c("image_bytes", "int64", "img.bytes", "fetch", "size of the stored file"),
    # -- align ------------------------------------------------------------------------------------------
    _c("align_score", "float32", "align.score", "align", "cosine similarity of image and `text` embeddings (dual encoder)"),
    _c("align_model", "string", "align.model", "align", "the dual encoder that scored it"),
    # -- caption (D_ling, English) ------------------------------------------------------------------------
    _c("caption_en", "string", "caption.en", "caption", "detailed English caption by an MLLM"),
    _c("caption_model", "string", "caption.model", "caption", "the captioning model"),
    _c("caption_prompt_version", "int32", "caption.prompt_version", "caption", "version of the caption prompt"),
    _c("caption_error", "string", "caption.error", "caption", "named failure when no caption could be made"),
    _c("caption_qa_english", "bool", "caption.qa.english", "caption", "the caption is English (language identifier)"),
    _c("caption_qa_words", "int32", "caption.qa.words", "caption", "words in the caption"),
    _c("caption_qa_repetition", "float32", "caption.qa.repetition", "caption", "share of repeated word 3-grams"),
    _c("caption_qa_refusal", "bool", "caption.qa.refusal", "caption", "the caption is a refusal (data/refusals.txt)"),
    _c("caption_align_score", "float32", "caption.align_score", "align", "image-caption similarity (dual encoder), when aligned"),
    # -- translate (D_ling, target language) + QA scores -----------------------------------------------
    _c("translation", "string", "mt.text", "translate", "`caption_en` machine-translated into `translation_lang`"),
    _c("translation_lang", "string", "mt.lang", "translate", "language of `translation`"),
    _c("translation_model", "string", "mt.model", "translate", "the translation model"),
    _c("translation_error", "string", "mt.error", "translate", "named failure when no translation could be made"),
    _c("qa_script", "string", "mt.qa.script", "translate", "dominant script of the translation"),
    _c("qa_lid_label", "string", "mt.qa.lid_label", "translate", "language-ID label of the translation"),
    _c("qa_lid_score", "float32", "mt.qa.lid_score", "translate", "its probability"),
    _c("qa_length_ratio", "float32", "mt.qa.length_ratio", "translate", "translation / source length (characters)"),
    _c("qa_numbers_preserved", "float32", "mt.qa.numbers_preserved", "translate",
       "share of the source's numbers found in the translation (digits in any convention, number words, Roman numerals)"),
    _c("qa_names_preserved", "float32", "mt.qa.names_preserved", "translate", "share of Latin-script names kept"),
    _c("qa_copy_ratio", "float32", "mt.qa.copy_ratio", "translate", "share of the translation's ordinary words (names, acronyms, numbers aside) copied from the source"),
    _c("qa_repetition", "float32", "mt.qa.repetition", "translate", "share of repeated word 3-grams (Thai: character 8-grams)"),
    _c("qa_ends_complete", "bool", "mt.qa.ends_complete", "translate", "the translation ends a sentence where the source does (not cut off)"),
    _c("qa_similarity", "float32", "mt.qa.similarity", "translate", "cross-lingual embedding similarity of source and translation"),
    # -- select: decisions from the saved scores ----------------------------------------------------------
    _c("know_reason", "string", "select.know", "select", "null: usable as a D_know sample; else the first failing check"),
    _c("ling_reason", "string", "select.ling", "select", "null: usable as a D_ling sample; else the first failing check"),
    # -- compose -----------------------------------------------------------------------------------------
    _c("split", "string", "split", "compose", "train | validation | test, assigned by leakage group"),
    _c("split_group", "string", "split.group", "compose", "the leakage group (same image, near-duplicate image or site)"),
]

COLUMNS: dict[str, Column] = {c.name: c for c in REGISTRY}


def _s(name, typ, meaning) -> Column:
    return Column(name, typ, name, "compose", meaning)


# instruction samples (`DIR/samples/{train,validation,test}-*.parquet`), made by `mella compose`
SAMPLE_COLUMNS: list[Column] = [
    _s("sample_id", "string", "`<record_id>:<source>`"),
    _s("record_id", "string", "the record (row of the record table) the sample comes from"),
    _s("source", "string", "`d_know` (native text: culture) or `d_ling` (translated caption: language)"),
    _s("lang", "string", "language of instruction and response"),
    _s("script", "string", "script of the response"),
    _s("lang_tag", "string", "the template set used: the language, with the script when not its first (`sr-Latn`)"),
    _s("split", "string", "train | validation | test"),
    _s("template_id", "string", "`<lang_tag>/<kind>/<index>@v<version>` of the instruction template"),
    _s("instruction", "string", "the user turn (target language), without the image placeholder"),
    _s("response", "string", "the assistant turn: the native text (d_know) or the translation (d_ling)"),
    _s("sha256", "string", "the image: `images/<sha256[:2]>/<sha256>.<image_ext>` in the image store"),
    _s("image_ext", "string", "extension of the stored image"),
    _s("phash", "string", "perceptual hash of the image"),
    _s("image_url", "string", "the image's web URL"),
    _s("page_url", "string", "the page it was found on"),
    _s("page_domain", "string", "the page's registered domain"),
    _s("text_kind", "string", "`alt`, `figcaption`, `caption` (d_know) or `translated_caption` (d_ling)"),
    _s("split_group", "string", "the leakage group of the record"),
]
REASON = Column("reason", "string", "filter_reason", "every step that drops", "why the record was excluded")
DOCUMENT_FIELDS = ("id", "text", "image_url")

EXCLUDED_TEXT_CAP = 1000  # excluded records keep at most this many characters of any text field


def cols(*names: str) -> list[Column]:
    return [COLUMNS[n] for n in names]


def step_columns(step: str) -> list[Column]:
    return [c for c in REGISTRY if c.step == step]


MINED_COLUMNS: list[Column] = step_columns("mine")


def carried(in_columns: list[Column], added: list[Column]) -> list[Column]:
    """The output columns of a stage: its input's columns, then the ones it adds, in registry order for
    mella's own columns (a rerun of a stage over its own output replaces, never duplicates)."""
    names = {c.name for c in in_columns} | {c.name for c in added}
    known = [c for c in REGISTRY if c.name in names]
    extra = [c for c in in_columns if c.name not in COLUMNS]
    return known + extra


SIMPLE_TYPES = {"string": "string", "large_string": "string", "int32": "int32", "int64": "int64",
                "float": "float32", "bool": "bool"}


def unknown_column(name: str, arrow_type) -> Column:
    """A column mella does not know (a user's own): carried through under the metadata key ``extra.<name>``
    with its own Arrow type."""
    simple = SIMPLE_TYPES.get(str(arrow_type))
    return Column(name, simple or "arrow", f"extra.{name}", "(input)", "carried through unchanged",
                  None if simple else arrow_type)


def with_reason(columns: list[Column]) -> list[Column]:
    return [REASON] + [c for c in columns if c.name != "reason"]


def render_markdown() -> str:
    lines = ["# The record table", "",
             "Every stage of mella reads and writes one table (Parquet shards `train-*.parquet`), one row per",
             "image-text pair, and carries every column it does not make. This page is rendered from",
             "`src/mella/schema.py` (`python -m mella.schema > docs/columns.md`); a test keeps them equal.", "",
             "| column | type | made by | meaning |", "|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | `{c.step}` | {c.meaning} |" for c in REGISTRY]
    lines += ["", "Excluded records (`excluded/*.parquet`) have the same columns plus `reason`.",
              "Columns mella does not know (a pair table's own) are carried through unchanged.", "",
              "## Instruction samples", "", "`mella compose` writes `samples/{train,validation,test}-*.parquet`:", "",
              "| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {c.meaning} |" for c in SAMPLE_COLUMNS]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
