"""The `mella` command line: one thin command per job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="mella: native-language culture + language data for multimodal LLMs (MELLA).")


@app.callback()
def _root() -> None:
    """mella: build (mine, ...), train and evaluate MLLMs for low-resource languages."""


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
    from mella.recipes.mine import IncompleteRun, run_mine
    from mella.report.summary import format_summary

    try:
        summary = run_mine(inputs, out, cfg)
    except (ValueError, FileNotFoundError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    except IncompleteRun as e:
        typer.echo(f"incomplete: {e}", err=True)
        raise typer.Exit(3) from None
    typer.echo(format_summary(summary, cfg.langs))
    typer.echo(f"\nrecords: {out}/  (load: datasets.load_dataset('parquet', data_dir='{out}'))")
    typer.echo(f"dropped: {out}/excluded/   stats: {out}/stats.json   card: {out}/README.md")


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
    try:
        result = score_corpus(hyps, refs, lang, kw_lists)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result, ensure_ascii=False))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
