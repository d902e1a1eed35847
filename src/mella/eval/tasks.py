"""Benchmark tasks: a YAML file (what to ask, how to score) next to a JSONL file of items.

Like lm-eval / lmms-eval tasks. Two kinds:
- ``culture``: an image, its native alt-text as reference, and the reference's keywords;
- ``language``: an image and a reference detailed caption in the target language.

An item: ``{"id", "lang", "image", "reference", "keywords"?, "source"?}`` where ``image`` is a local
path (relative to the task file), an http(s) URL or a data: URL.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from mella.resources import data_text

CULTURE_METRICS = ["keyword_acc", "meteor", "bleu", "rouge_l", "chrf", "lang_fidelity"]
LANGUAGE_METRICS = ["meteor", "bleu", "rouge_l", "chrf", "lang_fidelity"]


class Task(BaseModel):
    task: str
    kind: str  # culture | language
    lang: str
    data: str  # JSONL path, relative to the YAML file
    prompt: str
    prompt_version: int = 1
    metrics: list[str] = Field(default_factory=list)
    description: str = ""
    dropped: dict[str, int] = Field(default_factory=dict)  # source rows left out by `eval build`, per reason
    path: Path | None = Field(default=None, exclude=True)

    def items(self) -> list[dict]:
        base = self.path.parent if self.path else Path(".")
        with open(base / self.data, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def image_path(self, item: dict) -> str:
        image = item["image"]
        if image.startswith(("http://", "https://", "data:")) or self.path is None:
            return image
        return str((self.path.parent / image).resolve())


@cache
def prompts() -> tuple[int, dict[str, str]]:
    raw = yaml.safe_load(data_text("prompts/describe.yaml"))
    return int(raw["version"]), dict(raw["prompts"])


def prompt_for(lang: str) -> str:
    _, table = prompts()
    if lang in table:
        return table[lang]
    return table.get(lang.split("-")[0], table["en"])


def load_task(path: str | Path) -> Task:
    """A task YAML (as `mella eval build` writes them); ValueError naming the file when it is not one."""
    from pydantic import ValidationError

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give task YAML files (`--task DIR/*.yaml`)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a mapping")
        task = Task.model_validate(raw)
    except FileNotFoundError:
        raise FileNotFoundError(f"task not found: {path}") from None
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, ValidationError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path} is not a task file (`mella eval build` writes them): {first}") from None
    task.path = path
    return task


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_task(out: Path, name: str, kind: str, lang: str, items: list[dict], description: str = "",
               dropped: dict[str, int] | None = None) -> Path:
    """Writes ``out/name.yaml`` + ``out/name.jsonl``; returns the YAML path. ``dropped``: rows of the source
    left out, per reason (recorded in the YAML)."""
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / f"{name}.jsonl", "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
    version, _ = prompts()
    task = Task(task=name, kind=kind, lang=lang, data=f"{name}.jsonl", prompt=prompt_for(lang),
                prompt_version=version, metrics=CULTURE_METRICS if kind == "culture" else LANGUAGE_METRICS,
                description=description, dropped=dict(sorted((dropped or {}).items())))
    _atomic_write(out / f"{name}.yaml", yaml.safe_dump(task.model_dump(), allow_unicode=True, sort_keys=False))
    return out / f"{name}.yaml"
