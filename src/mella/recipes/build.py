"""`mella build`: crawl -> dataset -> exports, one folder per stage, each resumable on its own.

    OUT/mined  OUT/fetched (+ OUT/images, the image store)  OUT/aligned  OUT/captioned  OUT/translated
    OUT/selected  OUT/dataset (records, samples, splits, README.md card, browse.html)  OUT/exports/<format>

A stage reads the previous stage's folder and carries all its columns; a model stage with no model
configured is skipped (the summary says why) and the next stage reads the last folder made.
"""

from __future__ import annotations

import time
from pathlib import Path

from mella.config import BuildConfig


def _resolve(base: Path, path: str | None) -> str | None:
    import os

    if path is None:
        return None
    if "://" in str(path):  # a URL (remote crawl file) is not a path
        return str(path)
    p = Path(path)
    return os.path.abspath(p if p.is_absolute() else base / p)  # absolute: the job is the same from any cwd


def run_build(cfg: BuildConfig, echo=print, base: Path = Path(".")) -> dict:
    from mella.languages import build_table, resolve_langs

    if not cfg.inputs:
        raise ValueError("no inputs: give crawl files/folders as arguments or list them under `inputs:` in the YAML")
    if not cfg.out:
        raise ValueError("no output folder: give --out or `out:` in the YAML")
    from mella.export import FORMATS

    unknown = [f for f in cfg.export.formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; known: {', '.join(FORMATS)}")
    resolve_langs(cfg.mine.langs, build_table(cfg.mine.languages))  # unknown languages fail before any work
    out = Path(_resolve(base, cfg.out))
    inputs = [_resolve(base, i) for i in cfg.inputs]
    for section in (cfg.mine, cfg.fetch, cfg.align, cfg.caption, cfg.translate, cfg.select):
        if cfg.workers:
            section.workers = cfg.workers
        if cfg.executor is not None:
            section.executor = cfg.executor.model_copy()
    from mella.executors import connect

    connect(cfg.mine.executor)  # an unreachable cluster fails here, before any work
    cfg.fetch.image_store = _resolve(base, cfg.fetch.image_store) or str(out / "images")
    cfg.compose.templates_dir = _resolve(base, cfg.compose.templates_dir)
    cfg.compose.select = cfg.select
    from mella.recipes.common import atomic_json, open_output

    _check_planned_thresholds(cfg)
    identity = _identity(cfg, inputs)
    _check_same_build(out, identity)
    with open_output(out, kind="build"):  # one build per folder at a time (each stage also locks its own folder)
        atomic_json(out / "job.json", identity)
        return _build(cfg, out, inputs, echo)


# the stage folder a config section first changes (sections not listed change nothing kept: exports are
# rewritten on every run, the card and browser too)
SECTION_FOLDERS = {"inputs": "mined", "mine": "mined", "fetch": "fetched", "align": "aligned", "caption": "captioned",
                   "translate": "translated", "select": "selected", "compose": "dataset"}


def _check_planned_thresholds(cfg: BuildConfig) -> None:
    """Select thresholds on scores that no configured stage will make are refused before any stage runs."""
    from types import SimpleNamespace

    from mella.recipes.ling import check_thresholds
    from mella.schema import REGISTRY

    steps = {"mine", "fetch"} | {name for name, section in (("align", cfg.align), ("caption", cfg.caption),
                                                              ("translate", cfg.translate)) if section.model}
    planned = SimpleNamespace(names={c.name for c in REGISTRY if c.step in steps},
                              path="this build (that stage has no model configured)")
    check_thresholds(cfg.select, planned)


def _identity(cfg: BuildConfig, inputs: list[str]) -> dict:
    """What a build computes: its inputs and every section's settings, less how it runs (workers, executor)."""
    from mella.config import job_config

    return {"inputs": inputs, **job_config(cfg, exclude={"out", "inputs"})}


def _check_same_build(out: Path, identity: dict) -> None:
    """A rerun with the same settings resumes; one whose settings differ in a stage that already holds
    work is refused before anything runs (naming the sections), rather than when it reaches that stage."""
    import json

    from mella.recipes.common import has_work

    previous = out / "job.json"
    if not previous.is_file():
        return
    try:
        before = json.loads(previous.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    changed = [k for k in identity if before.get(k) != identity[k]]
    clashing = [k for k in changed if k in SECTION_FOLDERS and has_work(out / SECTION_FOLDERS[k])]
    if clashing:
        first = min(clashing, key=lambda k: list(SECTION_FOLDERS).index(k))
        raise ValueError(f"{out} was built with other settings in: {', '.join(clashing)} (its {SECTION_FOLDERS[first]}/ "
                         f"stage holds that work); give a new --out, or rerun the changed stage alone into a new "
                         f"folder (e.g. `mella {'mine' if first == 'inputs' else first} ...`)")


def _build(cfg: BuildConfig, out: Path, inputs: list[str], echo) -> dict:
    from mella.recipes.compose import run_compose
    from mella.recipes.export import run_export
    from mella.recipes.fetch import run_fetch
    from mella.recipes.ling import run_align, run_caption, run_select, run_translate
    from mella.recipes.mine import run_mine
    from mella.report.summary import format_summary, samples_table

    stages: list[dict] = []

    def stage(name: str, folder: Path | None, fn, detail: str = ""):
        n = len(stages) + 1
        echo(f"[{n}] {name}{': ' + detail if detail else ''} ...")
        done_before = folder is not None and folder.is_dir() and (folder / "stats.json").is_file()
        started = time.perf_counter()
        result = fn()
        stages.append({"stage": name, "status": "done earlier" if done_before else "ran",
                       "output": str(folder) if folder else "",
                       "seconds": round(time.perf_counter() - started, 1), "detail": detail})
        return result

    def skip(name: str, reason: str) -> None:
        echo(f"[{len(stages) + 1}] {name}: skipped ({reason})")
        stages.append({"stage": name, "status": "skipped", "reason": reason})

    mined = stage("mine", out / "mined", lambda: run_mine(inputs, out / "mined", cfg.mine))
    echo(format_summary(mined, cfg.mine.langs))
    if not mined["kept_total"]:
        return _finish(out, stages, echo, empty="mine kept 0 records (reasons: mined/excluded/)")
    fetched = stage("fetch", out / "fetched", lambda: run_fetch(out / "mined", out / "fetched", cfg.fetch),
                    "images from the crawl's WARC records" + ("" if cfg.fetch.network else " only (network off)"))
    reasons = ", ".join(f"{r} {n}" for r, n in list(fetched["dropped_by_reason"].items())[:5])
    echo(f"    images: {fetched['kept_total']} kept, {fetched['dropped_total']} dropped" + (f" ({reasons})" if reasons else ""))
    if not fetched["kept_total"]:
        return _finish(out, stages, echo, empty="fetch kept 0 images (reasons: fetched/excluded/)")
    last = out / "fetched"
    for name, section, fn, why in (
            ("align", cfg.align, run_align, "no alignment model configured (align.model)"),
            ("caption", cfg.caption, run_caption, "no captioning model configured (caption.model)"),
            ("translate", cfg.translate, run_translate, "no translation model configured (translate.model)")):
        folder = out / {"align": "aligned", "caption": "captioned", "translate": "translated"}[name]
        if not section.model:
            skip(name, why)
            continue
        if name == "translate" and not any(s["stage"] == "caption" and s["status"] == "ran" for s in stages):
            skip(name, "no captions to translate (the caption stage did not run)")
            continue
        stage(name, folder, lambda fn=fn, section=section, folder=folder, src=last: fn(src, folder, section),
              f"model {section.model}")
        last = folder
    stage("select", out / "selected", lambda: run_select(last, out / "selected", cfg.select))
    composed = stage("compose", out / "dataset", lambda: run_compose(out / "selected", out / "dataset", cfg.compose))
    exports = {}
    for fmt in cfg.export.formats:
        target = out / "exports" / fmt
        try:
            exports[fmt] = stage(f"export {fmt}", target, lambda fmt=fmt, target=target: run_export(
                out / "dataset", target, fmt, tuple(cfg.export.splits), tuple(cfg.export.sources)))
        except ValueError as e:  # e.g. no samples in the wanted splits: said, not fatal for the others
            skip(f"export {fmt}", str(e))
    if cfg.card:
        from mella.report.card import write_dataset_card

        stage("card", out / "dataset" / "README.md", lambda: write_dataset_card(out / "dataset"))
    if cfg.browse:
        from mella.report.browse import write_browser

        stage("browse", out / "dataset" / "browse.html", lambda: write_browser(out / "dataset"))
    echo(samples_table(composed))
    return _finish(out, stages, echo, composed=composed, exports=exports)


def _finish(out: Path, stages: list[dict], echo, empty: str | None = None, **extra) -> dict:
    from mella.recipes.common import atomic_json

    out.mkdir(parents=True, exist_ok=True)
    echo("\nstages:")
    for s in stages:
        if s["status"] == "ran":
            echo(f"  {s['stage']:18s} ran      {s['seconds']:6.1f}s  {s.get('detail') or ''}  -> {s['output']}")
        elif s["status"] == "done earlier":
            echo(f"  {s['stage']:18s} done     (an earlier run; nothing to redo)  -> {s['output']}")
        else:
            echo(f"  {s['stage']:18s} skipped  {s['reason']}")
    if empty:
        echo(f"\nstopped: {empty}")
    else:
        echo(f"\ndataset: {out}/dataset/  (card: README.md, browser: browse.html, samples/, records/)")
        echo(f"exports: {out}/exports/")
    result = {"stages": stages, "empty": empty} | {k: v for k, v in extra.items() if k != "composed"}
    atomic_json(out / "build.json", result)
    return result
