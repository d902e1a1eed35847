"""The `mella` command line: one thin command per job."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="mella: native-language culture + language data for multimodal LLMs (MELLA).")


@app.callback()
def _root() -> None:
    """mella: build (mine, ...), train and evaluate MLLMs for low-resource languages."""


@contextmanager
def _job_errors():
    """Bad input or config: exit 2 with the message; a run left incomplete: exit 3 (rerun resumes)."""
    from mella.recipes.common import IncompleteRun

    try:
        yield
    except (ValueError, FileNotFoundError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    except IncompleteRun as e:
        typer.echo(f"incomplete: {e}", err=True)
        raise typer.Exit(3) from None


def _quiet_logs(verbose: bool) -> None:
    """datatrove logs every task's pipeline and stats at INFO to stderr (and to DIR/logs/): shown with
    --verbose only; mella's own summary is printed either way."""
    from loguru import logger

    if not verbose:
        logger.disable("datatrove")


@app.command()
def mine(
    inputs: list[Path] = typer.Argument(..., help="WARC/ARC files, HTML folders (optional urls.tsv), parquet/jsonl"),
    out: Path = typer.Option(..., "--out", "-o", help="output directory (rerun the same command to resume)"),
    langs: Optional[str] = typer.Option(None, help="comma-separated target languages, e.g. cs,hu,sr"),
    workers: Optional[int] = typer.Option(None, help="parallel processes (1: in-process)"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (defaults < YAML < flags)"),
    set_: list[str] = typer.Option([], "--set", help="override any config key: --set lid.min_score=0.6"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the resolved config and exit"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show datatrove's progress logs"),
) -> None:
    """Mine native alt-text image records (D_know candidates) from web crawls."""
    from mella.config import MineConfig, load_config

    overrides = {"langs": langs.split(",") if langs else None, "workers": workers}
    cfg = load_config(MineConfig, config, overrides, set_)
    if dry_run:
        typer.echo(json.dumps(cfg.model_dump(), indent=2, ensure_ascii=False))
        return
    _quiet_logs(verbose)
    from mella.recipes.mine import run_mine
    from mella.report.summary import format_summary

    with _job_errors():
        summary = run_mine(inputs, out, cfg)
    typer.echo(format_summary(summary, cfg.langs))
    typer.echo(f"\nrecords: {out}/  (load: datasets.load_dataset('parquet', data_dir='{out}'))")
    typer.echo(f"dropped: {out}/excluded/   stats: {out}/stats.json   card: {out}/README.md")


@app.command()
def fetch(
    in_dir: Path = typer.Argument(..., help="a `mella mine` output directory"),
    out: Path = typer.Option(..., "--out", "-o", help="output directory (rerun the same command to resume)"),
    concurrency: Optional[int] = typer.Option(None, help="download threads per worker"),
    workers: Optional[int] = typer.Option(None, help="parallel processes"),
    allow_private: bool = typer.Option(False, "--allow-private",
                                       help="allow private/loopback addresses (tests, intranets)"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (defaults < YAML < flags)"),
    set_: list[str] = typer.Option([], "--set", help="override any config key: --set min_side=128"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Fetch, validate and deduplicate the images of mined records: webdataset tars + Parquet."""
    from mella.config import FetchConfig, load_config

    overrides = {"concurrency": concurrency, "workers": workers, "allow_private": True if allow_private else None}
    cfg = load_config(FetchConfig, config, overrides, set_)
    _quiet_logs(verbose)
    from mella.recipes.fetch import run_fetch

    with _job_errors():
        summary = run_fetch(in_dir, out, cfg)
    typer.echo(f"images: {summary['kept_total']} kept, {summary['dropped_total']} dropped")
    for reason, n in list(summary["dropped_by_reason"].items())[:12]:
        typer.echo(f"  {reason:28s} {n}")
    typer.echo(f"webdataset: {out}/webdataset/   parquet: {out}/train-*.parquet   dropped: {out}/excluded/   "
               f"stats: {out}/stats.json")


@app.command()
def build(
    inputs: list[Path] = typer.Argument(..., help="WARC/ARC files, HTML folders, parquet/jsonl pair tables"),
    out: Path = typer.Option(..., "--out", "-o", help="output directory: mined/ and images/ inside"),
    langs: Optional[str] = typer.Option(None, help="comma-separated target languages"),
    workers: Optional[int] = typer.Option(None, help="parallel processes (both stages)"),
    concurrency: Optional[int] = typer.Option(None, help="download threads per worker"),
    allow_private: bool = typer.Option(False, "--allow-private", help="allow private addresses when fetching"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML with `mine:` and `fetch:` sections"),
    set_: list[str] = typer.Option([], "--set", help="e.g. --set mine.lid.min_score=0.6 --set fetch.min_side=128"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Crawl files -> D_know: mine alt-text records, then fetch and check their images (resumable)."""
    from mella.config import BuildConfig, load_config

    overrides = {"mine.langs": langs.split(",") if langs else None, "mine.workers": workers,
                 "fetch.workers": workers, "fetch.concurrency": concurrency,
                 "fetch.allow_private": True if allow_private else None}
    cfg = load_config(BuildConfig, config, overrides, set_)
    _quiet_logs(verbose)
    from mella.recipes.fetch import run_fetch
    from mella.recipes.mine import run_mine
    from mella.report.summary import format_summary

    with _job_errors():
        mined = run_mine(inputs, out / "mined", cfg.mine)
        typer.echo(format_summary(mined, cfg.mine.langs))
        images = run_fetch(out / "mined", out / "images", cfg.fetch)
    typer.echo(f"\nimages: {images['kept_total']} kept, {images['dropped_total']} dropped "
               f"(top: {', '.join(f'{r} {n}' for r, n in list(images['dropped_by_reason'].items())[:5])})")
    typer.echo(f"records: {out}/mined/ (card: {out}/mined/README.md)   images: {out}/images/")


def _model_job(kind: str, in_dir: Path, out: Path, backend, model, base_url, batch_size, workers, config, set_,
               verbose, extra: dict | None = None) -> dict:
    from mella.config import CaptionConfig, TranslateConfig, load_config

    model_cls = CaptionConfig if kind == "caption" else TranslateConfig
    overrides = {"backend": backend, "model": model, "base_url": base_url, "batch_size": batch_size,
                 "workers": workers} | (extra or {})
    cfg = load_config(model_cls, config, overrides, set_)
    if not cfg.model:
        typer.echo("error: --model is required (a server model name or a local model directory)", err=True)
        raise typer.Exit(2)
    _quiet_logs(verbose)
    from mella.recipes.ling import run_caption, run_translate

    with _job_errors():
        summary = (run_caption if kind == "caption" else run_translate)(in_dir, out, cfg)
    typer.echo(f"{kind}: {summary['kept_total']} records, {summary['dropped_total']} dropped "
               f"({', '.join(f'{r} {n}' for r, n in list(summary['dropped_by_reason'].items())[:6])})")
    for name, counters in summary["steps"].items():
        if "from_cache" in counters or "generated" in counters:
            made, seconds = counters.get("generated", 0), counters.get("seconds", 0)
            rate = f", {made / seconds:.2f} items/s" if made and seconds else ""
            typer.echo(f"  {name}: {made} generated{rate}, {counters.get('from_cache', 0)} from cache")
    typer.echo(f"output: {out}/train-*.parquet   dropped: {out}/excluded/   stats: {out}/stats.json")
    return summary


@app.command()
def caption(
    in_dir: Path = typer.Argument(..., help="a `mella fetch` output directory"),
    out: Path = typer.Option(..., "--out", "-o"),
    backend: Optional[str] = typer.Option(None, help="openai | transformers | dummy (tests)"),
    model: Optional[str] = typer.Option(None, help="server model name or local model directory"),
    base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible server (openai backend)"),
    batch_size: Optional[int] = typer.Option(None),
    workers: Optional[int] = typer.Option(None),
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Detailed English captions of fetched images by an MLLM (cached, resumable)."""
    _model_job("caption", in_dir, out, backend, model, base_url, batch_size, workers, config, set_, verbose)


@app.command()
def translate(
    in_dir: Path = typer.Argument(..., help="a `mella caption` output directory"),
    out: Path = typer.Option(..., "--out", "-o"),
    backend: Optional[str] = typer.Option(None, help="transformers (NLLB/M2M100/MADLAD) | openai (an LLM)"),
    model: Optional[str] = typer.Option(None, help="local model directory / hub id in cache, or server model"),
    base_url: Optional[str] = typer.Option(None),
    langs: Optional[str] = typer.Option(None, help="translate every caption into these (default: record's own)"),
    batch_size: Optional[int] = typer.Option(None),
    workers: Optional[int] = typer.Option(None),
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Machine-translate captions into the target languages, with translation QA (cached, resumable)."""
    _model_job("translate", in_dir, out, backend, model, base_url, batch_size, workers, config, set_, verbose,
               {"targets": langs.split(",") if langs else None})


@app.command()
def align(
    in_dir: Path = typer.Argument(..., help="a `mella fetch` output directory"),
    out: Path = typer.Option(..., "--out", "-o"),
    model: str = typer.Option(..., help="a CLIP/SigLIP-family model directory (or hub id in the local cache)"),
    min_score: Optional[float] = typer.Option(None, help="drop records below this similarity (default: score only)"),
    batch_size: Optional[int] = typer.Option(None),
    workers: Optional[int] = typer.Option(None),
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Image-text alignment scores of fetched records with a dual encoder (cached, resumable)."""
    from mella.config import AlignConfig, load_config

    cfg = load_config(AlignConfig, config, {"model": model, "min_score": min_score, "batch_size": batch_size,
                                            "workers": workers}, set_)
    _quiet_logs(verbose)
    from mella.recipes.ling import run_align

    with _job_errors():
        summary = run_align(in_dir, out, cfg)
    typer.echo(f"align: {summary['kept_total']} records, {summary['dropped_total']} dropped   output: {out}/")


eval_app = typer.Typer(no_args_is_help=True, help="Evaluate: culture (keywords) x language (METEOR, BLEU, ...).")
app.add_typer(eval_app, name="eval")


@eval_app.command("score")
def eval_score(
    lang: str = typer.Option(..., help="target language, optionally with script: cs, ko, sr-Latn"),
    hyp: Path = typer.Option(..., help="model outputs, one per line"),
    ref: Path = typer.Option(..., help="references, line-aligned with --hyp"),
    keywords: Optional[Path] = typer.Option(None, help='JSONL, one {"keywords": [...]} per line'),
) -> None:
    """Score line-aligned outputs against references; prints one JSON object (0-100 scales)."""
    from mella.eval.metrics import score_corpus

    hyps = hyp.read_text(encoding="utf-8").splitlines()
    refs = ref.read_text(encoding="utf-8").splitlines()
    kw_lists = None
    if keywords is not None:
        kw_lists = [json.loads(line).get("keywords", []) for line in keywords.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
    with _job_errors():
        result = score_corpus(hyps, refs, lang, kw_lists)
    typer.echo(json.dumps(result, ensure_ascii=False))


@eval_app.command("build")
def eval_build(
    out: Path = typer.Option(..., "--out", "-o", help="directory for the task YAML + JSONL files"),
    mined: Optional[Path] = typer.Option(None, help="a `mella mine` output: culture tasks from held-out records"),
    share: float = typer.Option(0.05, help="share of mined records held out (by a hash of their id)"),
    per_lang: Optional[int] = typer.Option(None, help="at most this many items per language"),
    wit: Optional[Path] = typer.Option(None, help="WIT-style JSONL (image_url, caption_reference_description, language)"),
    wit_kind: str = typer.Option("culture", help="culture or language tasks from --wit"),
    multi30k: Optional[Path] = typer.Option(None, help="Multi30K captions file (.txt or .gz), with --images-list"),
    images_list: Optional[Path] = typer.Option(None, help="Multi30K image split file (one file name per line)"),
    lang: Optional[str] = typer.Option(None, help="language of --multi30k captions"),
) -> None:
    """Build benchmark tasks (YAML + JSONL) from mella records and existing caption sets."""
    from mella.eval import build

    written: list[Path] = []
    if mined is not None:
        written += build.culture_from_mined(mined, out, share, per_lang)
    if wit is not None:
        written += build.from_wit(wit, out, per_lang, wit_kind)
    if multi30k is not None:
        if images_list is None or lang is None:
            typer.echo("error: --multi30k needs --images-list and --lang", err=True)
            raise typer.Exit(2)
        written.append(build.from_multi30k(multi30k, images_list, lang, out, limit=per_lang))
    if not written:
        typer.echo("error: nothing to build: give --mined, --wit or --multi30k", err=True)
        raise typer.Exit(2)
    for path in written:
        typer.echo(str(path))


@eval_app.command("run")
def eval_run(
    task: list[Path] = typer.Option(..., "--task", "-t", help="task YAML (repeatable)"),
    out: Path = typer.Option(..., "--out", "-o", help="run directory (rerun to resume)"),
    backend: str = typer.Option("openai", help="openai | transformers | dummy (tests only)"),
    model: str = typer.Option(..., help="model name on the server, or a local model directory"),
    base_url: str = typer.Option("http://127.0.0.1:8000/v1", help="OpenAI-compatible server (openai backend)"),
    batch_size: int = typer.Option(8),
    max_new_tokens: int = typer.Option(256),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not read or write the generation cache"),
) -> None:
    """Generate outputs for tasks with a model; saves raw outputs per task."""
    from mella.eval.runner import run_tasks

    kwargs = {"model": model, "max_new_tokens": max_new_tokens}
    if backend == "openai":
        kwargs["base_url"] = base_url
    with _job_errors():
        summary = run_tasks(task, out, backend, batch_size=batch_size, use_cache=not no_cache,
                            log=typer.echo, **kwargs)
    failed = sum(s["errors"] for s in summary.values())
    typer.echo(f"outputs: {out}/" + (f"  ({failed} failed: rerun to retry them)" if failed else ""))


@eval_app.command("report")
def eval_report(
    runs: list[Path] = typer.Argument(..., help="run directories; the first is the baseline for deltas"),
    out: Path = typer.Option(..., "--out", "-o", help="report directory"),
    bootstrap: int = typer.Option(1000, help="bootstrap resamples for the intervals"),
) -> None:
    """Per-language scores, deltas, culture x language quadrant, examples: Markdown, HTML, PNG."""
    from mella.eval.report import build_report

    build_report(runs, out, bootstrap)
    typer.echo(f"report: {out}/report.html  {out}/report.md  {out}/quadrant.png  {out}/scores.json")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
