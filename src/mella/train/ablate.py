"""`mella experiment ablate CONFIG.yaml`: the MELLA paper's experiment as one resumable command.

    dataset (composed: train and test splits, both sources)
      -> tasks from the test split (culture: native text + keywords; language: translated captions)
      -> per language the same sample budget B for every variant:
           d_know: B native-text samples   d_ling: B translated-caption samples   both: B/2 + B/2
      -> train each variant (same base, seed, hyper-parameters and number of steps)
      -> evaluate base + every variant on the same items -> report (culture and language per variant,
         bootstrap intervals, gains over base with paired intervals, which source each gain comes from)

Stages already done are skipped (tasks written, runs with run.json, outputs per item): a rerun resumes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field

from mella.config import Pos, _Strict, config_tree, merged
from mella.train.config import TrainConfig, preset

VARIANTS = ("d_know", "d_ling", "both")


class EvalSettings(_Strict):
    batch_size: Pos = 8
    max_new_tokens: Pos = 128
    per_lang: Pos | None = None  # items per task at most
    bootstrap: Pos = 1000


class AblateConfig(_Strict):
    dataset: str = ""  # a composed dataset (`mella compose` / `mella build` output)
    out: str = ""
    variants: list[Literal["d_know", "d_ling", "both"]] = Field(default_factory=lambda: list(VARIANTS))
    budget_per_lang: Pos | None = None  # None: the largest budget every variant can have
    langs: list[str] | None = None
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalSettings = Field(default_factory=EvalSettings)


def load_ablate_config(yaml_path=None, overrides: dict | None = None, sets: list[str] | None = None) -> AblateConfig:
    """defaults < the train preset < the YAML < flags; relative paths are relative to the YAML's folder."""
    tree = config_tree(yaml_path, overrides, sets)
    train = tree.get("train") or {}
    if train.get("preset"):
        tree["train"] = merged(preset(train["preset"]), train)
    base = Path(yaml_path).parent if yaml_path else Path(".")
    for key in ("dataset", "out"):
        if tree.get(key) and not Path(tree[key]).is_absolute():
            tree[key] = str((base / tree[key]).resolve())
    model = (tree.get("train") or {}).get("model")
    if model and (base / model).exists() and not Path(model).is_absolute():
        tree["train"]["model"] = str((base / model).resolve())
    return AblateConfig.model_validate(tree)


def budgets(examples, langs: list[str] | None, variants: list[str], cap: int | None) -> dict[str, int]:
    """Per language, the largest sample budget every variant can be given (capped by ``cap``)."""
    available: dict[str, dict[str, int]] = {}
    for e in examples:
        available.setdefault(e.lang, {"d_know": 0, "d_ling": 0})
        available[e.lang][e.source] = available[e.lang].get(e.source, 0) + 1
    out = {}
    for lang, n in sorted(available.items()):
        if langs and lang not in langs:
            continue
        limits = []
        if "d_know" in variants:
            limits.append(n["d_know"])
        if "d_ling" in variants:
            limits.append(n["d_ling"])
        if "both" in variants:
            limits.append(2 * min(n["d_know"], n["d_ling"]))
        budget = min(limits) if limits else 0
        budget = min(budget, cap) if cap else budget
        if budget:
            out[lang] = budget
    return out


def select(examples, budget: dict[str, int], variant: str, seed: int) -> list:
    """The variant's training samples: per language ``budget`` of them, in a seeded order."""
    from mella.dataset.templates import unit_float

    pools: dict[tuple[str, str], list] = {}
    for e in sorted(examples, key=lambda e: unit_float(f"{seed}:ablate:{e.sample_id}")):
        pools.setdefault((e.lang, e.source), []).append(e)
    chosen = []
    for lang, b in budget.items():
        if variant == "both":
            know = b - b // 2
            chosen += pools.get((lang, "d_know"), [])[:know] + pools.get((lang, "d_ling"), [])[: b - know]
        else:
            chosen += pools.get((lang, variant), [])[:b]
    return chosen


def run_ablation(cfg: AblateConfig, echo=print) -> dict:
    from mella.dataset.folder import open_dataset
    from mella.eval.build import from_dataset
    from mella.eval.runner import run_tasks
    from mella.models import check_local_model
    from mella.models.vlm import unload_all
    from mella.recipes.common import atomic_json, open_output
    from mella.report.ablation import write_ablation_report
    from mella.train.data import load_examples
    from mella.train.sft import run_train

    if not cfg.dataset or not cfg.out:
        raise ValueError("the ablation config needs `dataset:` (a composed dataset) and `out:`")
    if not cfg.train.model:
        raise ValueError("the ablation config needs a base model: `train: {preset: ...}` or `train: {model: ...}`")
    check_local_model(cfg.train.model, "vlm")
    ds = open_dataset(cfg.dataset, "experiment ablate")
    out = Path(cfg.out)
    stages: list[dict] = []
    with open_output(out, [str(ds.path.resolve())], cfg.model_dump(exclude={"eval": {"batch_size"}}), kind="ablation"):
        tasks_dir = out / "tasks"
        if not any(tasks_dir.glob("*.yaml")):
            from_dataset(ds.path, tasks_dir, cfg.eval.per_lang)
            stages.append({"stage": "tasks", "status": "ran"})
        else:
            stages.append({"stage": "tasks", "status": "done before"})
        tasks = sorted(tasks_dir.glob("*.yaml"))
        if cfg.langs:
            tasks = [t for t in tasks if t.stem.split("_", 1)[1].split("-")[0] in cfg.langs]
        if not tasks:
            raise ValueError(f"no evaluation task for languages {cfg.langs} in the test split of {ds.path}")
        examples = load_examples(ds.path, ("train",), ("d_know", "d_ling"))
        budget = budgets(examples, cfg.langs, cfg.variants, cfg.budget_per_lang)
        if not budget:
            raise ValueError(f"{ds.path}: no language has training samples of every source the variants need "
                             f"({', '.join(cfg.variants)}); compose with both sources or drop a variant")
        per_step = cfg.train.batch_size * cfg.train.grad_accum
        steps = cfg.train.max_steps if cfg.train.max_steps > 0 else max(
            1, math.ceil(sum(budget.values()) * cfg.train.epochs / per_step))
        atomic_json(out / "selection.json", {"budget_per_lang": budget, "steps": steps, "variants": {
            v: [e.sample_id for e in select(examples, budget, v, cfg.train.seed)] for v in cfg.variants}})
        runs = {"base": cfg.train.model}
        for variant in cfg.variants:
            chosen = select(examples, budget, variant, cfg.train.seed)
            train_cfg = cfg.train.model_copy(update={"max_steps": steps, "sources": ["d_know", "d_ling"]})
            echo(f"train {variant}: {len(chosen)} samples ({', '.join(f'{k} {v}' for k, v in budget.items())} per "
                 f"language), {steps} steps")
            info = run_train(train_cfg, chosen, out / "runs" / variant, f"{ds.path}#{variant}", log=echo)
            runs[variant] = str(out / "runs" / variant)
            stages.append({"stage": f"train {variant}", "status": "ran", "steps": info["global_step"]})
        for name, model in runs.items():
            echo(f"evaluate {name}")
            summary = run_tasks(tasks, out / "eval" / name, "transformers", batch_size=cfg.eval.batch_size,
                                log=echo, model=model, max_new_tokens=cfg.eval.max_new_tokens)
            unload_all()  # one model in memory at a time
            failed = sum(s["errors"] for s in summary.values())
            stages.append({"stage": f"evaluate {name}", "status": "ran", "failed_items": failed})
        report = write_ablation_report({n: out / "eval" / n for n in runs}, out / "report", cfg.eval.bootstrap,
                                       budget=budget, steps=steps, base=cfg.train.model)
        result = {"stages": stages, "budget_per_lang": budget, "steps": steps, "report": report}
        atomic_json(out / "ablation.json", result)
        return result
