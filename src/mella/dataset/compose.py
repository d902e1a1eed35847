"""Instruction samples from selected records, and the per-language mix of D_know and D_ling.

- ``d_know``: image + a request (target language) for what the picture shows -> the native ``text``;
  a share of them (``title_context``) carries the page title in the request.
- ``d_ling``: image + a request for a detailed description -> the translated caption.

Mixing applies to the training split: at most ``quota`` samples per language, a D_know share
``know_share``, and ``thick`` (both samples of an image) or one sample per image. Validation and test keep
every usable sample of both sources (they are what evaluation measures culture and language on). Every
choice is a hash of the seed and the record id: the same input and config give the same samples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mella.config import ComposeConfig
from mella.dataset.templates import Templates, template_tag, unit_float
from mella.languages import Language
from mella.scripts import dominant_script


def headline(title: str) -> str:
    """A page title without its site-name part ("Trump přikázal... - iDNES.cz" -> "Trump přikázal...")."""
    from mella.steps.alt_quality import TITLE_SEPARATORS

    parts = [p.strip() for p in TITLE_SEPARATORS.split(title) if p.strip()]
    return max(parts, key=len) if parts else ""


def _keys(text: str) -> set[str]:
    """Comparison keys of a text: 4-letter word prefixes (inflection-tolerant) in spaced scripts, letter
    bigrams where words are long runs (Korean, Thai, CJK)."""
    import re

    words = re.findall(r"\w+", text.casefold())
    keys = {w[:4] for w in words if len(w) >= 4 and not w.isdigit()}
    for w in words:
        if any(ord(c) > 0x0E00 for c in w):  # Thai, Hangul, CJK...: bigrams of the run
            keys |= {w[i:i + 2] for i in range(len(w) - 1)}
    return keys


def related(text: str, title: str) -> bool:
    """Whether the page title is about what the text names (a shared word): a thumbnail of another story
    on the page (a promo box, a related article) must not get this page's title as its context."""
    return bool(_keys(text) & _keys(title))


@dataclass(frozen=True)
class Candidate:
    index: int  # the record's position in the table
    source: str  # d_know | d_ling
    lang: str
    split: str


def candidates(rows: list[dict], sources: list[str]) -> list[Candidate]:
    """One candidate per usable (record, source): ``know_reason`` / ``ling_reason`` null."""
    out = []
    for i, row in enumerate(rows):
        if "d_know" in sources and row.get("know_reason") is None:
            out.append(Candidate(i, "d_know", row["lang"], row["split"]))
        if "d_ling" in sources and row.get("ling_reason") is None:
            out.append(Candidate(i, "d_ling", row.get("translation_lang") or row["lang"], row["split"]))
    return out


def mix(cands: list[Candidate], rows: list[dict], cfg: ComposeConfig) -> list[Candidate]:
    """The training mix per language (see the module doc); other splits pass unchanged."""
    kept = [c for c in cands if c.split != "train"]
    by_lang: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        if c.split == "train":
            by_lang[c.lang].append(c)
    for lang, group in sorted(by_lang.items()):
        chosen = group if cfg.thick else _one_per_image(group, rows, cfg)
        quota = cfg.quota_by_lang.get(lang, cfg.quota)
        if quota is not None and len(chosen) > quota:
            chosen = _cut(chosen, rows, quota, cfg)
        kept += chosen
    return sorted(kept, key=lambda c: (c.index, c.source))


def _key(c: Candidate, rows: list[dict], seed: int, what: str) -> float:
    return unit_float(f"{seed}:{what}:{rows[c.index]['id']}:{c.source}")


def _one_per_image(group: list[Candidate], rows: list[dict], cfg: ComposeConfig) -> list[Candidate]:
    by_record: dict[int, dict[str, Candidate]] = defaultdict(dict)
    for c in group:
        by_record[c.index][c.source] = c
    single = [next(iter(d.values())) for d in by_record.values() if len(d) == 1]
    both = sorted((d for d in by_record.values() if len(d) == 2), key=lambda d: _key(d["d_know"], rows, cfg.seed, "pick"))
    know_single = sum(c.source == "d_know" for c in single)
    total = len(single) + len(both)
    share = 0.5 if cfg.know_share is None else cfg.know_share
    to_know = min(len(both), max(0, round(share * total) - know_single)) if cfg.know_share is not None \
        else round(share * len(both))
    return single + [d["d_know"] for d in both[:to_know]] + [d["d_ling"] for d in both[to_know:]]


def _cut(chosen: list[Candidate], rows: list[dict], quota: int, cfg: ComposeConfig) -> list[Candidate]:
    ordered = sorted(chosen, key=lambda c: _key(c, rows, cfg.seed, "quota"))
    if cfg.know_share is None:
        return ordered[:quota]
    know = [c for c in ordered if c.source == "d_know"]
    ling = [c for c in ordered if c.source == "d_ling"]
    n_know = min(len(know), round(cfg.know_share * quota))
    n_ling = min(len(ling), quota - n_know)
    n_know = min(len(know), quota - n_ling)  # fill from D_know when D_ling is short
    return know[:n_know] + ling[:n_ling]


def make_sample(c: Candidate, row: dict, templates: Templates, languages: dict[str, Language],
                cfg: ComposeConfig) -> dict:
    """The sample dict (SAMPLE_COLUMNS) for one candidate."""
    if c.source == "d_know":
        response, script = row["text"], row.get("script")
        title = headline(row.get("page_title") or "")
        use_title = (bool(title) and title != response and related(response, title)
                     and unit_float(f"{cfg.seed}:title:{row['id']}") < cfg.title_context)
        kind = "d_know_title" if use_title else "d_know"
    else:
        response = row["translation"]
        script = row.get("qa_script") or dominant_script(response)[0]
        title, kind = "", "d_ling"
    tag = template_tag(c.lang, script, languages)
    template_id, template = templates.get(tag).pick(kind, row["id"], cfg.seed)
    instruction = template.replace("{title}", title[:200]) if kind == "d_know_title" else template
    return {"sample_id": f"{row['id']}:{c.source}", "record_id": row["id"], "source": c.source, "lang": c.lang,
            "script": script, "lang_tag": tag, "split": c.split, "template_id": template_id,
            "instruction": instruction, "response": response, "sha256": row.get("sha256"),
            "image_ext": row.get("image_ext"), "phash": row.get("phash"), "image_url": row.get("image_url"),
            "page_url": row.get("page_url"), "page_domain": row.get("page_domain"),
            "text_kind": row.get("text_kind") if c.source == "d_know" else "translated_caption",
            "split_group": row.get("split_group")}
