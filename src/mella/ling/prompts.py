"""Prompts are data (src/mella/data/prompts/*.yaml), versioned: a version is part of every cache key."""

from __future__ import annotations

from functools import cache

import yaml

from mella.resources import data_text


@cache
def translate_prompt() -> dict:
    return yaml.safe_load(data_text("prompts/translate.yaml"))


@cache
def caption_prompt() -> tuple[int, str]:
    raw = yaml.safe_load(data_text("prompts/caption.yaml"))
    return int(raw["version"]), raw["prompt"]
