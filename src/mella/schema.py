"""Output columns of mined records: Parquet column <- Document field or namespaced metadata key."""

from __future__ import annotations

# (column, pyarrow type name, metadata key or None for Document fields)
MINED_COLUMNS: list[tuple[str, str, str | None]] = [
    ("id", "string", None),
    ("lang", "string", "lid.lang"),
    ("script", "string", "lid.script"),
    ("lid_score", "float32", "lid.score"),
    ("lid_label", "string", "lid.label"),
    ("lid_evidence", "string", "lid.evidence"),
    ("alt_text", "string", None),
    ("image_url", "string", None),
    ("title_attr", "string", "img.title"),
    ("figcaption", "string", "img.figcaption"),
    ("img_width", "int32", "img.width_attr"),
    ("img_height", "int32", "img.height_attr"),
    ("page_url", "string", "page.url"),
    ("page_lang", "string", "page.lang"),
    ("page_title", "string", "page.title"),
    ("page_date", "string", "page.date"),
    ("context", "string", "page.context"),
    ("alt_letters", "int32", "alt.letters"),
    ("alt_words", "int32", "alt.words"),
    ("alt_flags", "string", "alt.flags"),
    ("source_file", "string", "source.file"),
]

EXCLUDED_COLUMNS: list[tuple[str, str, str | None]] = [("reason", "string", "filter_reason")] + MINED_COLUMNS

EXCLUDED_TEXT_CAP = 1000  # excluded records keep at most this many characters of any text field

# fetched images: the mined columns + what the fetch step measured + the image bytes
IMAGE_COLUMNS: list[tuple[str, str, str | None]] = MINED_COLUMNS + [
    ("status", "string", "img.status"),
    ("error", "string", "img.error"),
    ("image_source", "string", "img.source"),
    ("image_format", "string", "img.format"),
    ("image_ext", "string", "img.ext"),
    ("width", "int32", "img.width"),
    ("height", "int32", "img.height"),
    ("orig_width", "int32", "img.orig_width"),
    ("orig_height", "int32", "img.orig_height"),
    ("sha256", "string", "img.sha256"),
    ("phash", "string", "img.phash"),
    ("image", "binary", None),
]
IMAGE_EXCLUDED_COLUMNS = [("reason", "string", "filter_reason")] + [c for c in IMAGE_COLUMNS if c[0] != "image"]

# D_ling: a caption per image, then translations with their QA scores
CAPTION_COLUMNS = IMAGE_COLUMNS + [
    ("caption_en", "string", "caption.en"),
    ("caption_model", "string", "caption.model"),
    ("caption_prompt_version", "int32", "caption.prompt_version"),
]
TRANSLATION_COLUMNS = CAPTION_COLUMNS + [
    ("mt_lang", "string", "mt.lang"),
    ("mt_text", "string", "mt.text"),
    ("mt_model", "string", "mt.model"),
    ("qa_script", "string", "mt.qa.script"),
    ("qa_lid_label", "string", "mt.qa.lid_label"),
    ("qa_lid_score", "float32", "mt.qa.lid_score"),
    ("qa_length_ratio", "float32", "mt.qa.length_ratio"),
    ("qa_numbers_preserved", "float32", "mt.qa.numbers_preserved"),
    ("qa_names_preserved", "float32", "mt.qa.names_preserved"),
    ("qa_copy_ratio", "float32", "mt.qa.copy_ratio"),
    ("qa_repetition", "float32", "mt.qa.repetition"),
    ("qa_similarity", "float32", "mt.qa.similarity"),
]

ALIGN_COLUMNS = IMAGE_COLUMNS + [("align_score", "float32", "align.score")]
