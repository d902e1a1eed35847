"""Instruction templates: data files per language (and script variant), versioned.

``mella/data/templates/<tag>.yaml`` where ``tag`` is a language code (``cs``) or a code with a script
other than the language's first (``sr-Latn``); a config's ``templates_dir`` adds or overrides files.
Three kinds: ``d_know`` (what does the picture show; short answer), ``d_know_title`` (the same with the
page title as ``{title}``) and ``d_ling`` (a detailed description). A sample records the template it
used as ``<tag>/<kind>/<index>@v<version>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from mella.languages import Language
from mella.resources import data_exists, data_text

KINDS = ("d_know", "d_know_title", "d_ling")
MIN_PARAPHRASES = 8


@dataclass(frozen=True)
class TemplateSet:
    tag: str
    version: int
    by_kind: dict[str, tuple[str, ...]]

    def pick(self, kind: str, key: str, seed: int = 0) -> tuple[str, str]:
        """(template id, template) chosen by a hash of ``key`` (deterministic across runs and machines)."""
        options = self.by_kind[kind]
        index = _unit(f"{seed}:{kind}:{key}", len(options))
        return f"{self.tag}/{kind}/{index}@v{self.version}", options[index]


def _unit(text: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % n


def unit_float(text: str) -> float:
    """A number in [0, 1) from a hash of ``text`` (seeded choices without a random state)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def parse(text: str, tag: str, origin: str) -> TemplateSet:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"instruction templates {origin}: not valid YAML: {e}") from None
    problems = []
    if raw.get("lang") not in (None, tag):
        problems.append(f"its `lang` is {raw.get('lang')!r} but the file is for {tag!r}")
    for kind in KINDS:
        items = raw.get(kind) or []
        if len(set(items)) < MIN_PARAPHRASES:
            problems.append(f"{kind} has {len(set(items))} distinct templates (at least {MIN_PARAPHRASES})")
        if kind == "d_know_title" and any(t.count("{title}") != 1 for t in items):
            problems.append("every d_know_title template needs {title} exactly once")
    if problems:
        raise ValueError(f"instruction templates {origin}: " + "; ".join(problems))
    return TemplateSet(tag, int(raw.get("version", 1)), {k: tuple(raw[k]) for k in KINDS})


class Templates:
    """The template sets for a run: shipped files, overridden by ``templates_dir``."""

    def __init__(self, templates_dir: str | Path | None = None):
        self.dir = Path(templates_dir) if templates_dir else None
        if self.dir is not None and not self.dir.is_dir():
            raise ValueError(f"templates_dir {self.dir} is not a folder (it holds your <lang>.yaml templates)")
        self._sets: dict[str, TemplateSet] = {}

    def get(self, tag: str) -> TemplateSet:
        if tag not in self._sets:
            own = self.dir / f"{tag}.yaml" if self.dir else None
            if own is not None and own.is_file():
                self._sets[tag] = parse(own.read_text(encoding="utf-8"), tag, str(own))
            elif data_exists(f"templates/{tag}.yaml"):
                self._sets[tag] = parse(data_text(f"templates/{tag}.yaml"), tag, f"templates/{tag}.yaml")
            else:
                where = f"{self.dir}/{tag}.yaml" if self.dir else f"a templates_dir with {tag}.yaml"
                raise ValueError(f"no instruction templates for {tag!r}: add {where} "
                                 "(format: docs/dataset.md, or copy mella/data/templates/en.yaml)")
        return self._sets[tag]


def template_tag(lang: str, script: str | None, languages: dict[str, Language]) -> str:
    """``sr`` for Serbian in its first script (Cyrillic), ``sr-Latn`` for the other one."""
    entry = languages.get(lang)
    if entry is None or not script or script == entry.scripts[0] or script not in entry.scripts:
        return lang
    return f"{lang}-{script}"
