"""The language table: what mella knows about each target language.

Defaults come from ``mella/data/languages.yaml``; a user config may add languages or override fields.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, Field

from mella.resources import data_text


class Language(BaseModel):
    """One target language."""

    code: str
    name: str
    scripts: list[str]
    lid_labels: list[str]
    confusable: dict[str, list[str]] = Field(default_factory=dict)
    cctlds: list[str] = Field(default_factory=list)
    length_unit: str = "words"  # "words" | "chars"
    min_len: int = 3
    max_len: int = 120
    name_min_len: int = 2  # a name (mella.names) on a page in this language is kept from this length
    mt_code: str | None = None
    segmenter: str = "unicode"


@cache
def default_table() -> dict[str, Language]:
    import yaml

    raw = yaml.safe_load(data_text("languages.yaml"))
    return {code: Language(code=code, **fields) for code, fields in raw.items()}


def build_table(overrides: dict[str, dict] | None = None) -> dict[str, Language]:
    """Default table with per-language field overrides / new languages merged in."""
    table = dict(default_table())
    for code, fields in (overrides or {}).items():
        base = table[code].model_dump() if code in table else {"code": code}
        table[code] = Language(**(base | dict(fields) | {"code": code}))
    return table


DEFAULT_LANGS = ("ar", "cs", "hu", "ko", "ru", "sr", "th", "vi")


def resolve_langs(codes: list[str] | None, table: dict[str, Language]) -> dict[str, Language]:
    """The languages to mine; an unknown code is an error that lists the known ones."""
    codes = list(codes or DEFAULT_LANGS)
    unknown = [c for c in codes if c not in table]
    if unknown:
        raise ValueError(
            f"unknown language(s) {unknown}; known: {sorted(table)}. "
            "Add a language under `languages:` in your config YAML (see docs/languages.md)."
        )
    return {c: table[c] for c in codes}
