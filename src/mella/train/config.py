"""Training configuration: a preset (data file per backbone) < your YAML < flags."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mella.config import NonNeg, Pos, Share, _Strict

# LoRA on the language model's attention and MLP projections only (the vision tower stays as it is):
# transformers names them <...>.language_model.layers.N... (LLaVA, Qwen2-VL, InternVL) or
# <...>.text_model.layers.N... (Idefics3, SmolVLM)
LM_LINEAR = r".*\.(language_model|text_model)\.(model\.)?layers\.\d+\..*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
VISION_PARTS = ("vision_tower", "visual", "vision_model", "vision_encoder")


class LoraConfig(_Strict):
    r: Pos = 16
    alpha: Pos = 32
    dropout: Share = 0.05
    target_modules: str = LM_LINEAR  # a regex over module names


class TrainConfig(_Strict):
    """`mella train`: every field can come from a preset (``preset: qwen2-vl-2b``), your YAML, or a flag."""

    preset: str | None = None
    model: str = ""  # a hub id in the local cache, a model folder
    family: str = "auto"
    method: Literal["lora", "qlora", "full"] = "lora"
    lora: LoraConfig = Field(default_factory=LoraConfig)
    freeze_vision: bool = True
    learning_rate: Annotated[float, Field(gt=0)] = 1e-4
    batch_size: Pos = 4
    grad_accum: Pos = 4
    epochs: Annotated[float, Field(gt=0)] = 1.0
    max_steps: int = -1  # > 0: stop after this many optimizer steps (overrides epochs)
    warmup_ratio: Share = 0.03
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    max_length: Pos = 2048
    image_min_pixels: NonNeg | None = None
    image_max_pixels: Pos | None = None
    splits: list[Literal["train", "validation", "test"]] = Field(default_factory=lambda: ["train"])
    sources: list[Literal["d_know", "d_ling"]] = Field(default_factory=lambda: ["d_know", "d_ling"])
    eval_split: Literal["validation", "test"] | None = "validation"  # loss on it at every save (when present)
    save_steps: Pos = 200
    save_total_limit: Pos = 2
    logging_steps: Pos = 10
    gradient_checkpointing: bool = False
    seed: int = 0
    merge: bool = False  # also write the merged weights (base + adapter) to RUN/merged
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"


def preset(name: str) -> dict:
    """The preset ``name`` (mella/data/presets/<name>.yaml); an unknown name lists the known ones."""
    import yaml

    from mella.resources import data_exists, data_text

    if not data_exists(f"presets/{name}.yaml"):
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(presets())}")
    return yaml.safe_load(data_text(f"presets/{name}.yaml")) or {}


def presets() -> list[str]:
    from importlib.resources import files

    return sorted(p.name.removesuffix(".yaml") for p in (files("mella") / "data" / "presets").iterdir()
                  if p.name.endswith(".yaml"))


def load_train_config(yaml_path=None, overrides: dict | None = None, sets: list[str] | None = None) -> TrainConfig:
    """defaults < the preset named by ``preset`` < the YAML < flags."""
    from mella.config import config_tree, merged

    tree = config_tree(yaml_path, overrides, sets)
    base = preset(tree["preset"]) if tree.get("preset") else {}
    return TrainConfig.model_validate(merged(base, tree))
