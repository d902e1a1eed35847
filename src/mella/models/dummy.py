"""A test backend: no model. Its outputs say so, and runs made with it are labelled DUMMY in reports."""

from __future__ import annotations

from mella.models import Request

DUMMY_PREFIX = "[dummy backend output, not a model]"


class DummyGenerator:
    """Answers every request with a fixed marker plus the prompt (tests of the pipeline's structure)."""

    name = "dummy"
    is_dummy = True

    def __init__(self, model: str = "dummy", max_new_tokens: int = 256):
        self.model = model

    def params(self) -> dict:
        return {"model": self.model}

    def generate(self, batch: list[Request]) -> list[str]:
        return [f"{DUMMY_PREFIX} {req.prompt}" for req in batch]
