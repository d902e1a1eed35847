"""The language table: what mella knows about each target language.

Defaults come from ``mella/data/languages.yaml``; a user config may add languages or override fields.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, Field

from mella.resources import data_text


# Translation QA thresholds where the language table says nothing; chosen on NTREX (docs/ling.md)
QA_DEFAULTS = {"min_length_ratio": 0.5, "max_length_ratio": 2.5, "max_copy_ratio": 0.5, "max_repetition": 0.15,
               "min_numbers_preserved": 1.0, "min_similarity": 0.8, "final_punctuation": True,
               # truncation beyond the length floor: an output that does not end complete fails below this
               # ratio (default: at any length), and one shorter than short_ratio needs short_min_similarity
               "incomplete_max_ratio": 1e9, "short_ratio": 0.0, "short_min_similarity": 0.0}


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
    cc_languages: list[str] = Field(default_factory=list)  # ISO 639-3 codes in Common Crawl's content_languages
    segmenter: str = "unicode"
    qa: dict[str, float | bool] = Field(default_factory=dict)  # translation QA thresholds (QA_DEFAULTS otherwise)

    def qa_threshold(self, name: str):
        return self.qa.get(name, QA_DEFAULTS[name])


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


def check_lang_tag(tag: str, table: dict[str, Language] | None = None) -> str:
    """A language tag for scoring or tasks (``cs``, ``sr-Latn``; English as ``en``): returned as is when the
    language table knows it (and the script is one of its), else ValueError naming the known ones."""
    table = table or default_table()
    code, _, script = tag.partition("-")
    if code == "en" and not script:
        return tag
    if code not in table:
        hint = f" (language codes are lower case: {code.lower()})" if code.lower() in table else ""
        raise ValueError(f"unknown language {tag!r}{hint}; known: {', '.join(sorted(table))}, en "
                         "(add a language to the table: docs/languages.md)")
    if script and script not in table[code].scripts:
        raise ValueError(f"{code} is written in {', '.join(table[code].scripts)}, not {script!r}")
    return tag


def resolve_langs(codes: list[str] | None, table: dict[str, Language]) -> dict[str, Language]:
    """The languages to mine; an unknown code is an error that lists the known ones."""
    codes = list(codes or DEFAULT_LANGS)
    unknown = [c for c in codes if c not in table]
    if unknown:
        scripts = [c for c in unknown if c.partition("-")[0] in table]
        hint = (f" ({', '.join(scripts)}: give the language code alone; {', '.join(sorted({c.partition('-')[0] for c in scripts}))} "
                "covers every script it is written in)") if scripts else ""
        raise ValueError(
            f"unknown language(s) {unknown}{hint}; known: {sorted(table)}. "
            "Add a language under `languages:` in your config YAML (see docs/languages.md)."
        )
    return {c: table[c] for c in codes}
