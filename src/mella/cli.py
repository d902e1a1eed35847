"""The `mella` command line: one thin command per job."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from pydantic import ValidationError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="mella: native-language culture + language data for multimodal LLMs (MELLA).")


@app.callback()
def _root() -> None:
    """mella: build (mine, ...), train and evaluate MLLMs for low-resource languages."""


EXIT_USAGE, EXIT_INCOMPLETE, EXIT_EMPTY = 2, 3, 4

# every data pipeline command takes these (executor settings beyond them: `executor:` in the YAML)
EXECUTOR_OPTION = typer.Option(None, "--executor", help="local (default) | ray: where the tasks run (docs/scale.md)")
RAY_ADDRESS_OPTION = typer.Option(None, "--ray-address",
                                  help="join a running Ray cluster (auto, ray://head:10001); default: start Ray here")


def _executor_overrides(executor: Optional[str], ray_address: Optional[str], prefix: str = "") -> dict:
    return {f"{prefix}executor.kind": executor if executor or not ray_address else "ray",
            f"{prefix}executor.ray_address": ray_address}


@contextmanager
def _job_errors(rerun_note: bool = False):
    """Bad input or config: exit 2 with the message; a run left incomplete: exit 3 (rerun resumes).
    ``rerun_note``: for the data pipelines, whose work all runs as executor tasks, say when a rerun found
    every task finished (not for build, whose compose and export steps run outside the executors)."""
    from pydantic import ValidationError

    from mella.executors import RUNS, IncompleteRun

    calls, tasks = RUNS["calls"], RUNS["tasks"]
    try:
        yield
        if rerun_note and RUNS["calls"] > calls and RUNS["tasks"] == tasks:
            typer.echo("nothing redone: every task of this job had already finished in its output folder (the "
                       "figures are that run's); use a new --out to run it again", err=True)
    except ValidationError as e:
        typer.echo(f"error: bad configuration: {config_problems(e)}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as e:  # a model folder that does not load, a disk that is full: the message, not a traceback
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except IncompleteRun as e:
        typer.echo(f"incomplete: {e}", err=True)
        raise typer.Exit(EXIT_INCOMPLETE) from None
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: finished tasks are kept; rerun the same command to resume", err=True)
        raise typer.Exit(130) from None


@contextmanager
def _remote_folders(in_dir=None, out=None):
    """Local stand-ins for URL arguments (s3://, gs://...): an input table is downloaded into its local
    mirror, an output folder is written to its mirror (resumable as any folder) and uploaded when the job
    has finished (mella.remote; docs/scale.md)."""
    from mella.remote import download_folder, prepare_output, upload_folder, url_of

    in_url = url_of(in_dir) if in_dir is not None else None
    out_url = url_of(out) if out is not None else None
    if out_url and out_url.startswith(("http://", "https://")):
        raise ValueError(f"--out {out_url}: mella writes to a folder or an object store (s3://, gs://...), not to "
                         "an HTTP address")
    local_in = download_folder(in_url) if in_url else in_dir
    local_out = prepare_output(out_url) if out_url else out  # the store is checked before any work
    yield local_in, local_out
    if out_url:
        typer.echo(f"uploaded {upload_folder(local_out, out_url)} files to {out_url} (local copy: {local_out})")


BUILD_SECTIONS = ("inputs", "mine", "fetch", "caption", "translate", "align", "select", "compose", "export")


def config_problems(error, model=None) -> str:
    """A pydantic ValidationError as one line per problem; unknown keys of one place are one problem that
    lists the known keys there (and says so when the file is a `mella build` config)."""
    problems, unknown = [], {}
    for err in error.errors():
        loc = [str(p) for p in err["loc"]]
        if err["type"] == "extra_forbidden" and model is not None:
            unknown.setdefault(tuple(loc[:-1]), []).append(loc[-1])
        else:
            problems.append(f"{'.'.join(loc)}: {err['msg']} (got {str(err.get('input'))[:60]!r})")
    for parent, keys in unknown.items():
        fields = _fields_at(model, list(parent))
        where = ".".join(parent + (keys[0],)) if len(keys) == 1 else \
            (".".join(parent) + ": " if parent else "") + ", ".join(keys)
        hint = f"unknown key{'s' if len(keys) > 1 else ''}" + (f"; known here: {', '.join(fields)}" if fields else "")
        sections = [k for k in keys if k in BUILD_SECTIONS] if not parent else []
        if len(sections) >= 2 and getattr(model, "__name__", "") != "BuildConfig":
            hint += " (this is a `mella build` config: give it to `mella build`)"
        elif len(sections) == 1 and getattr(model, "__name__", "") != "BuildConfig":
            hint += f" (`{sections[0]}.` is a `mella build` section: this command's keys need no prefix)"
        problems.append(f"{where}: {hint}")
    return "; ".join(problems)


def _fields_at(model, path: list[str]) -> list[str]:
    from pydantic import BaseModel

    for key in path:
        field = model.model_fields.get(key)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


def _load(model, config, overrides, sets):
    """Config from defaults < YAML < flags, with the errors of any layer as one clear message."""
    from pydantic import ValidationError

    from mella.config import load_config

    with _job_errors():
        try:
            return load_config(model, config, overrides, sets)
        except ValidationError as e:
            raise ValueError(f"bad configuration: {config_problems(e, model)}") from None


def _empty_check(kept: int, what: str, where: Path, reasons: dict | None = None, details: str = "") -> None:
    """A run that keeps nothing says so, and exits 4."""
    if kept:
        return
    top = ", ".join(f"{r} {n}" for r, n in list((reasons or {}).items())[:5])
    typer.echo(f"\nkept 0 {what}" + (f": every one was dropped ({top})" if top else "") +
               f". {details or f'Reasons per record: {where}/excluded/'}", err=True)
    raise typer.Exit(EXIT_EMPTY)


def _quiet_logs(verbose: bool) -> None:
    """datatrove logs every task's pipeline and stats at INFO to stderr (and to DIR/logs/): shown with
    --verbose only; mella's own summary is printed either way."""
    import os

    from loguru import logger

    if not verbose:
        logger.disable("datatrove")
        os.environ["MELLA_QUIET"] = "1"  # worker processes read it (executors._worker_logging)


@app.command()
def mine(
    inputs: Optional[list[str]] = typer.Argument(None, help="WARC/ARC files, HTML folders (optional urls.tsv), "
                                                            "parquet/jsonl, WARC URLs (https://, s3://), or --cc-index"),
    out: Path = typer.Option(..., "--out", "-o", help="output directory (rerun the same command to resume)"),
    langs: Optional[str] = typer.Option(None, help="comma-separated target languages, e.g. cs,hu,sr"),
    cc_index: Optional[str] = typer.Option(None, "--cc-index", help="Common Crawl's columnar index (Parquet glob, "
                                           "local or s3://, https://): read only the pages of the target languages"),
    cc_base: Optional[str] = typer.Option(None, "--cc-base", help="where the index's warc_filename paths are "
                                          "(default https://data.commoncrawl.org/; a folder; s3://commoncrawl/)"),
    workers: Optional[int] = typer.Option(None, help="parallel processes (1: in-process)"),
    executor: Optional[str] = EXECUTOR_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (defaults < YAML < flags)"),
    set_: list[str] = typer.Option([], "--set", help="override any config key: --set lid.min_score=0.6"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the resolved config and exit"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show datatrove's progress logs"),
) -> None:
    """Mine native alt-text image records (D_know candidates) from web crawls."""
    from mella.config import MineConfig

    overrides = {"langs": langs.split(",") if langs else None, "workers": workers, "cc.index": cc_index,
                 "cc.base_url": cc_base, **_executor_overrides(executor, ray_address)}
    cfg = _load(MineConfig, config, overrides, set_)
    if not inputs and not cfg.cc.index:
        typer.echo("error: nothing to mine: give crawl files or folders, or --cc-index", err=True)
        raise typer.Exit(EXIT_USAGE)
    if dry_run:
        from mella.languages import build_table, resolve_langs

        with _job_errors():
            resolve_langs(cfg.langs, build_table(cfg.languages))  # an unknown language fails here too
        typer.echo(json.dumps(cfg.model_dump(), indent=2, ensure_ascii=False))
        return
    _quiet_logs(verbose)
    from mella.recipes.mine import run_mine
    from mella.report.summary import format_summary

    with _job_errors(rerun_note=True), _remote_folders(out=out) as (_, out):
        summary = run_mine(inputs or [], out, cfg)
    if "cc_index" in summary:
        c = summary["cc_index"]
        typer.echo(f"Common Crawl index: {c['selected_records']:,} of {c['scanned_records']:,} records selected "
                   f"({c['selected_bytes'] / 2**20:,.1f} of {c['scanned_bytes'] / 2**20:,.1f} MiB, "
                   f"{100 * c['byte_share']:.1f}% of a full read)")
    typer.echo(format_summary(summary, cfg.langs))
    typer.echo(f"\nrecords: {out}/  (load: datasets.load_dataset('parquet', data_dir='{out}'))")
    typer.echo(f"dropped: {out}/excluded/   stats: {out}/stats.json   card: {out}/README.md")
    _empty_check(summary["kept_total"], "records", out, summary["dropped_by_reason"])


@app.command()
def fetch(
    in_dir: Path = typer.Argument(..., help="a record table: the output of `mella mine` (or any later stage)"),
    out: Path = typer.Option(..., "--out", "-o", help="output directory (rerun the same command to resume)"),
    concurrency: Optional[int] = typer.Option(None, help="download threads per worker"),
    workers: Optional[int] = typer.Option(None, help="parallel processes"),
    allow_private: bool = typer.Option(False, "--allow-private",
                                       help="allow private/loopback addresses (tests, intranets)"),
    offline: bool = typer.Option(False, "--offline", help="take images only from the crawl's WARC records"),
    executor: Optional[str] = EXECUTOR_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (defaults < YAML < flags)"),
    set_: list[str] = typer.Option([], "--set", help="override any config key: --set min_side=128"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Fetch, validate and deduplicate the images of records into a content-addressed image store."""
    from mella.config import FetchConfig

    overrides = {"concurrency": concurrency, "workers": workers, "allow_private": True if allow_private else None,
                 "network": False if offline else None, **_executor_overrides(executor, ray_address)}
    cfg = _load(FetchConfig, config, overrides, set_)
    _quiet_logs(verbose)
    from mella.recipes.fetch import run_fetch

    with _job_errors(rerun_note=True), _remote_folders(in_dir, out) as (in_dir, out):
        summary = run_fetch(in_dir, out, cfg)
    _print_fetch(summary, out)
    _empty_check(summary["kept_total"], "images", out, summary["dropped_by_reason"])


def _print_fetch(summary: dict, out: Path) -> None:
    typer.echo(f"images: {summary['kept_total']} kept, {summary['dropped_total']} dropped")
    for reason, n in list(summary["dropped_by_reason"].items())[:12]:
        typer.echo(f"  {reason:28s} {n}")
    typer.echo(f"records: {out}/train-*.parquet   images: {out}/table.json names the store   "
               f"dropped: {out}/excluded/   stats: {out}/stats.json")


def _model_summary(kind: str, summary: dict, out: Path) -> None:
    steps = summary["steps"]
    failed = {k.removeprefix("failed_"): n for c in steps.values() for k, n in c.items() if k.startswith("failed_")}
    made = sum(c.get("generated", 0) + c.get("from_cache", 0) for c in steps.values())  # outputs, cached too
    typer.echo(f"{kind}: {summary['kept_total']} records" +
               (f", failures kept with their reason: {', '.join(f'{r} {n}' for r, n in failed.items())}" if failed else ""))
    for name, counters in steps.items():
        if "from_cache" in counters or "generated" in counters:
            generated, seconds = counters.get("generated", 0), counters.get("seconds", 0)
            rate = f", {generated / seconds:.2f} items/s" if generated and seconds else ""
            typer.echo(f"  {name}: {generated} generated{rate}, {counters.get('from_cache', 0)} from cache")
    typer.echo(f"output: {out}/train-*.parquet   stats: {out}/stats.json")
    if kind in ("caption", "translate") and summary["kept_total"] and not made:
        column = "caption_error" if kind == "caption" else "translation_error"
        _empty_check(0, "captions" if kind == "caption" else "translations", out, failed,
                     f"No record got one: the output table holds each record's failure in `{column}`.")


def _model_job(kind: str, in_dir: Path, out: Path, backend, model, base_url, batch_size, workers, config, set_,
               verbose, extra: dict | None = None, executor=None, ray_address=None) -> dict:
    from mella.config import CaptionConfig, TranslateConfig

    model_cls = CaptionConfig if kind == "caption" else TranslateConfig
    overrides = {"backend": backend, "model": model, "base_url": base_url, "batch_size": batch_size,
                 "workers": workers, **_executor_overrides(executor, ray_address)} | (extra or {})
    cfg = _load(model_cls, config, overrides, set_)
    if not cfg.model:
        typer.echo("error: --model is required (a server model name or a local model directory)", err=True)
        raise typer.Exit(EXIT_USAGE)
    _quiet_logs(verbose)
    from mella.recipes.ling import run_caption, run_translate

    with _job_errors(rerun_note=True), _remote_folders(in_dir, out) as (in_dir, out):
        summary = (run_caption if kind == "caption" else run_translate)(in_dir, out, cfg)
    _model_summary(kind, summary, out)
    return summary


@app.command()
def caption(
    in_dir: Path = typer.Argument(..., help="a record table with fetched images (`mella fetch` output or later)"),
    out: Path = typer.Option(..., "--out", "-o"),
    backend: Optional[str] = typer.Option(None, help="openai | transformers | dummy (tests)"),
    model: Optional[str] = typer.Option(None, help="server model name or local model directory"),
    base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible server (openai backend)"),
    batch_size: Optional[int] = typer.Option(None),
    workers: Optional[int] = typer.Option(None),
    executor: Optional[str] = EXECUTOR_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Detailed English captions of fetched images by an MLLM (cached, resumable)."""
    _model_job("caption", in_dir, out, backend, model, base_url, batch_size, workers, config, set_, verbose,
               executor=executor, ray_address=ray_address)


@app.command()
def translate(
    in_dir: Path = typer.Argument(..., help="a record table with captions (`mella caption` output or later)"),
    out: Path = typer.Option(..., "--out", "-o"),
    backend: Optional[str] = typer.Option(None, help="transformers (NLLB/M2M100/MADLAD) | openai (an LLM)"),
    model: Optional[str] = typer.Option(None, help="local model directory / hub id in cache, or server model"),
    base_url: Optional[str] = typer.Option(None),
    langs: Optional[str] = typer.Option(None, help="translate every caption into these (default: record's own)"),
    batch_size: Optional[int] = typer.Option(None),
    workers: Optional[int] = typer.Option(None),
    executor: Optional[str] = EXECUTOR_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Machine-translate captions into the target languages, with translation QA scores (cached, resumable)."""
    _model_job("translate", in_dir, out, backend, model, base_url, batch_size, workers, config, set_, verbose,
               {"targets": langs.split(",") if langs else None}, executor, ray_address)


@app.command()
def align(
    in_dir: Path = typer.Argument(..., help="a record table with fetched images (`mella fetch` output or later)"),
    out: Path = typer.Option(..., "--out", "-o"),
    model: str = typer.Option(..., help="a CLIP/SigLIP-family model directory (or hub id in the local cache)"),
    batch_size: Optional[int] = typer.Option(None),
    workers: Optional[int] = typer.Option(None),
    executor: Optional[str] = EXECUTOR_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Image-text alignment scores of records with a dual encoder (cached, resumable; `select` decides)."""
    from mella.config import AlignConfig

    cfg = _load(AlignConfig, config, {"model": model, "batch_size": batch_size, "workers": workers,
                                      **_executor_overrides(executor, ray_address)}, set_)
    _quiet_logs(verbose)
    from mella.recipes.ling import run_align

    with _job_errors(rerun_note=True), _remote_folders(in_dir, out) as (in_dir, out):
        summary = run_align(in_dir, out, cfg)
    _model_summary("align", summary, out)


@app.command()
def select(
    in_dir: Path = typer.Argument(..., help="a record table (any stage's output)"),
    out: Path = typer.Option(..., "--out", "-o"),
    executor: Optional[str] = EXECUTOR_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set", help="thresholds: --set min_align_score=0.2 --set qa.min_similarity=0.85"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Decide which records make D_know and D_ling samples from the saved scores (no model runs again)."""
    from mella.config import SelectConfig

    cfg = _load(SelectConfig, config, _executor_overrides(executor, ray_address), set_)
    _quiet_logs(verbose)
    from mella.recipes.ling import run_select

    with _job_errors(rerun_note=True), _remote_folders(in_dir, out) as (in_dir, out):
        summary = run_select(in_dir, out, cfg)
    from mella.report.summary import decisions_table

    typer.echo(decisions_table(summary.get("decisions", {})))
    typer.echo(f"output: {out}/train-*.parquet (columns know_reason, ling_reason; null = usable)")


@app.command()
def compose(
    in_dir: Path = typer.Argument(..., help="a record table (mined, fetched, captioned, translated, selected...)"),
    out: Path = typer.Option(..., "--out", "-o", help="the dataset folder: records/, samples/, splits.json"),
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    set_: list[str] = typer.Option([], "--set", help="e.g. --set quota=5000 --set know_share=0.5 --set thick=true"),
    card: bool = typer.Option(True, help="also write the dataset card and the sample browser"),
) -> None:
    """Instruction samples (D_know, D_ling), leakage-free splits and the per-language mix."""
    from mella.config import ComposeConfig

    cfg = _load(ComposeConfig, config, {}, set_)
    from mella.recipes.compose import run_compose

    with _job_errors(), _remote_folders(in_dir, out) as (in_dir, out):
        summary = run_compose(in_dir, out, cfg)
        if card:
            _card_and_browser(out)
    from mella.report.summary import samples_table

    typer.echo(samples_table(summary))
    typer.echo(f"samples: {out}/samples/   records: {out}/records/   splits: {out}/splits.json")
    if card:
        typer.echo(f"card: {out}/README.md   browser: {out}/browse.html")
    _empty_check(summary["samples"], "samples", out, details=f"Why no record was usable: know_reason / ling_reason "
                 f"in {out}/records/ and the funnel in {out}/README.md")


def _card_and_browser(dataset: Path) -> None:
    from mella.report.browse import write_browser
    from mella.report.card import write_dataset_card

    write_dataset_card(dataset)
    write_browser(dataset)


@app.command()
def export(
    dataset: Path = typer.Argument(..., help="a composed dataset (`mella compose` / `mella build` output)"),
    format_: str = typer.Option(..., "--format", "-f", help="parquet | webdataset | llava | sharegpt | swift"),
    out: Path = typer.Option(..., "--out", "-o"),
    splits: str = typer.Option("train,validation,test", help="comma-separated splits to export"),
    sources: str = typer.Option("d_know,d_ling", help="d_know, d_ling or both"),
) -> None:
    """Write the samples in a training format, images referenced relative to OUT (or embedded: parquet)."""
    from mella.recipes.export import run_export

    with _job_errors(), _remote_folders(dataset, out) as (dataset, out):
        result = run_export(dataset, out, format_, tuple(splits.split(",")), tuple(sources.split(",")))
    typer.echo(f"{format_}: {result['samples']} samples -> {out}/ ({json.dumps(result['files'], ensure_ascii=False)})"
               + (f"; {result['skipped_no_image']} without an image skipped" if result["skipped_no_image"] else ""))


@app.command()
def card(dataset: Path = typer.Argument(..., help="a composed dataset")) -> None:
    """(Re)write the dataset card: DATASET/README.md with counts, funnel, plots and keyword coverage."""
    from mella.report.card import write_dataset_card

    with _job_errors(), _remote_folders(dataset, dataset) as (dataset, _):  # an s3:// dataset: card uploaded
        path = write_dataset_card(dataset)
    typer.echo(f"card: {path}")


@app.command()
def browse(
    dataset: Path = typer.Argument(..., help="a composed dataset"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="HTML file (default DATASET/browse.html)"),
    per_group: int = typer.Option(200, min=1, help="samples shown per language x source x split, and excluded per reason"),
    serve: bool = typer.Option(False, "--serve", help="also serve it on http://127.0.0.1:PORT"),
    port: int = typer.Option(8765),
) -> None:
    """One static HTML page to browse samples and excluded records (filters: language, source, split, reason)."""
    from mella.report.browse import write_browser

    with _job_errors(), _remote_folders(dataset) as (dataset, _):  # an s3:// dataset is browsed from a local copy
        path = write_browser(dataset, out, per_group)
    typer.echo(f"browser: {path}")
    if serve:
        import functools
        import http.server

        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(path.parent))
        with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
            typer.echo(f"serving http://127.0.0.1:{port}/{path.name} (Ctrl-C to stop)")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass


@app.command()
def build(
    args: list[str] = typer.Argument(..., help="CONFIG.yaml (with `inputs:`), or input files/folders"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="output directory (default: `out:` in the YAML)"),
    langs: Optional[str] = typer.Option(None, help="comma-separated target languages"),
    workers: Optional[int] = typer.Option(None, help="parallel processes (every stage)"),
    executor: Optional[str] = EXECUTOR_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    allow_private: bool = typer.Option(False, "--allow-private", help="allow private addresses when fetching"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="the build YAML (or give it as the argument)"),
    set_: list[str] = typer.Option([], "--set", help="e.g. --set mine.lid.min_score=0.6 --set compose.quota=1000"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Crawl to dataset in one resumable command: mine, fetch, align, caption, translate, select, compose,
    export, card, browser (model stages run when their model is configured)."""
    from mella.config import BuildConfig

    if len(args) == 1 and args[0].endswith((".yaml", ".yml")) and config is None:
        config, inputs = Path(args[0]), []
    else:
        inputs = [a if "://" in a else str(Path(a).resolve()) for a in args]  # paths on the command line: from here
    from mella.remote import url_of

    out_text = (url_of(out) or str(out.resolve())) if out else None
    overrides = {"inputs": inputs or None, "out": out_text,
                 "mine.langs": langs.split(",") if langs else None,
                 "workers": workers, "fetch.allow_private": True if allow_private else None,
                 **_executor_overrides(executor, ray_address)}
    cfg = _load(BuildConfig, config, overrides, set_)
    _quiet_logs(verbose)
    from mella.recipes.build import run_build

    with _job_errors(), _remote_folders(out=cfg.out if url_of(cfg.out or "") else None) as (_, local_out):
        if local_out is not None:  # an s3:// build folder: built in its local mirror, uploaded at the end
            cfg = cfg.model_copy(update={"out": str(local_out)})
        result = run_build(cfg, echo=typer.echo, base=config.parent if config else Path("."))
    if result.get("empty"):
        raise typer.Exit(EXIT_EMPTY)


@app.command()
def train(
    data: Path = typer.Option(..., "--data", "-d", help="a mella export (parquet, llava, sharegpt, swift) or a composed dataset"),
    out: Path = typer.Option(..., "--out", "-o", help="run folder (rerun the same command to resume)"),
    preset: Optional[str] = typer.Option(None, help="a backbone preset (mella/data/presets): qwen2-vl-2b, llava-1.5-7b..."),
    model: Optional[str] = typer.Option(None, help="base model: a hub id in the local cache or a model folder"),
    method: Optional[str] = typer.Option(None, help="lora (default) | qlora (CUDA + bitsandbytes) | full"),
    max_steps: Optional[int] = typer.Option(None, help="stop after this many optimizer steps"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML (preset < YAML < flags)"),
    set_: list[str] = typer.Option([], "--set", help="e.g. --set learning_rate=5e-5 --set lora.r=32"),
) -> None:
    """Supervised fine-tuning (LoRA / QLoRA / full) of a vision-language model on mella samples."""
    from mella.train.config import load_train_config

    overrides = {"preset": preset, "model": model, "method": method, "max_steps": max_steps}
    with _job_errors():
        try:
            cfg = load_train_config(config, overrides, set_)
        except ValidationError as e:
            from mella.train.config import TrainConfig

            raise ValueError(f"bad configuration: {config_problems(e, TrainConfig)}") from None
        if not cfg.model:
            raise ValueError("no base model: give --model, --preset, or `model:` in the YAML")
        from mella.train.data import load_examples
        from mella.train.sft import run_train

        examples = load_examples(data, tuple(cfg.splits), tuple(cfg.sources))
        held = load_examples(data, (cfg.eval_split,), tuple(cfg.sources)) if cfg.eval_split else []
        info = run_train(cfg, examples, out, str(Path(data).resolve()), held, log=typer.echo)
    typer.echo(f"trained: {info['global_step']} steps, final train loss {info['train_loss']:.4f} on {info['samples']} "
               f"samples   run: {out}/ (adapter, run.json, log.jsonl" + (", loss.png)" if (out / "loss.png").is_file() else ")"))
    typer.echo(f"evaluate it: mella eval run --backend transformers --model {out} --task TASK.yaml --out RUN")


experiment_app = typer.Typer(no_args_is_help=True, help="Experiments: the MELLA ablation (d_know vs d_ling vs both).")
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("ablate")
def experiment_ablate(
    config: Path = typer.Argument(..., help="the ablation YAML (dataset, out, train: {preset or model}, variants...)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="output folder (default: `out:` in the YAML)"),
    set_: list[str] = typer.Option([], "--set", help="e.g. --set train.max_steps=200 --set budget_per_lang=500"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Train d_know, d_ling and both at an equal sample budget per language, evaluate them and the base model
    on the test split, and report culture and language per variant (resumable)."""
    from mella.train.ablate import AblateConfig, load_ablate_config

    _quiet_logs(verbose)
    with _job_errors():
        try:
            cfg = load_ablate_config(config, {"out": str(out.resolve()) if out else None}, set_)
        except ValidationError as e:
            raise ValueError(f"bad configuration: {config_problems(e, AblateConfig)}") from None
        from mella.train.ablate import run_ablation

        result = run_ablation(cfg, echo=typer.echo)
    typer.echo("\nstages: " + ", ".join(f"{s['stage']} ({s['status']})" for s in result["stages"]))
    typer.echo(f"report: {result['report']['html']}  {result['report']['markdown']}  {result['report']['png']}")


cache_app = typer.Typer(no_args_is_help=True, help="The model-output cache ($MELLA_CACHE_DIR, one SQLite file per kind).")
app.add_typer(cache_app, name="cache")


@cache_app.command("merge")
def cache_merge(
    sources: list[Path] = typer.Argument(..., help="cache files (<kind>.sqlite) of other machines or folders"),
    into: Path = typer.Option(..., "--into", help="the cache file that receives their entries (created if missing)"),
) -> None:
    """Merge per-node caches (a cluster keeps one per node: SQLite's WAL needs one host) into one."""
    from mella.cache import merge

    with _job_errors():
        result = merge(sources, into)
    for src, n in result["read"].items():
        typer.echo(f"{src}: {n} entries")
    typer.echo(f"{into}: {result['total']} entries")


eval_app = typer.Typer(no_args_is_help=True, help="Evaluate: culture (keywords) x language (METEOR, BLEU, ...).")
app.add_typer(eval_app, name="eval")


@eval_app.command("score")
def eval_score(
    lang: str = typer.Option(..., help="target language, optionally with script: cs, ko, sr-Latn"),
    hyp: Path = typer.Option(..., help="model outputs, one per line"),
    ref: Path = typer.Option(..., help="references, line-aligned with --hyp"),
    keywords: Optional[Path] = typer.Option(None, help='JSONL, one {"keywords": [...]} per line'),
    max_chars: int = typer.Option(10_000, help="pairs with a longer output or reference are skipped and counted"),
) -> None:
    """Score line-aligned outputs against references; prints one JSON object (0-100 scales)."""
    from mella.eval.metrics import read_lines, score_corpus

    with _job_errors():
        from mella.languages import check_lang_tag

        check_lang_tag(lang)
        hyps, refs = read_lines(hyp), read_lines(ref)
        kw_lists = None
        if keywords is not None:
            kw_lists = []
            for n, line in enumerate(read_lines(keywords), 1):
                try:
                    kw_lists.append(json.loads(line).get("keywords", []))
                except (json.JSONDecodeError, AttributeError):
                    raise ValueError(f"{keywords} line {n}: not a JSON object with \"keywords\"") from None
        result = score_corpus(hyps, refs, lang, kw_lists, max_chars)
    typer.echo(json.dumps(result, ensure_ascii=False))


@eval_app.command("build")
def eval_build(
    out: Path = typer.Option(..., "--out", "-o", help="directory for the task YAML + JSONL files"),
    dataset: Optional[Path] = typer.Option(None, help="a composed dataset: culture + language tasks from its test split"),
    per_lang: Optional[int] = typer.Option(None, min=1, help="at most this many items per language"),
    wit: Optional[Path] = typer.Option(None, help="WIT-style JSONL (image_url, caption_reference_description, language)"),
    wit_kind: str = typer.Option("culture", help="culture or language tasks from --wit"),
    multi30k: Optional[Path] = typer.Option(None, help="Multi30K captions file (.txt or .gz), with --images-list"),
    images_list: Optional[Path] = typer.Option(None, help="Multi30K image split file (one file name per line)"),
    lang: Optional[str] = typer.Option(None, help="language of --multi30k captions"),
) -> None:
    """Build benchmark tasks (YAML + JSONL) from a dataset's test split and existing caption sets."""
    from mella.eval import build

    written: list[Path] = []
    if multi30k is not None and (images_list is None or lang is None):
        typer.echo("error: --multi30k needs --images-list and --lang", err=True)
        raise typer.Exit(EXIT_USAGE)
    with _job_errors():
        if wit_kind not in ("culture", "language"):
            raise ValueError(f"--wit-kind {wit_kind!r}: culture or language")
        if lang is not None:
            from mella.languages import check_lang_tag

            check_lang_tag(lang)
        if dataset is not None:
            written += build.from_dataset(dataset, out, per_lang)
        if wit is not None:
            written += build.from_wit(wit, out, per_lang, wit_kind)
        if multi30k is not None:
            written.append(build.from_multi30k(multi30k, images_list, lang, out, limit=per_lang))
    if not written:
        typer.echo("error: nothing to build: give --dataset, --wit or --multi30k (a --dataset whose test split "
                   "is empty gives no task)", err=True)
        raise typer.Exit(2)
    from mella.eval.tasks import load_task

    for path in written:
        items = sum(1 for line in path.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines() if line.strip())
        dropped = load_task(path).dropped
        left_out = (f"; dropped {sum(dropped.values())}: " + ", ".join(f"{k} {v}" for k, v in dropped.items())
                    if dropped else "; dropped 0")
        typer.echo(f"{path}  ({items} items{left_out})")


@eval_app.command("run")
def eval_run(
    task: list[Path] = typer.Option(..., "--task", "-t", help="task YAML (repeatable)"),
    out: Path = typer.Option(..., "--out", "-o", help="run directory (rerun to resume)"),
    backend: str = typer.Option("openai", help="openai | transformers | dummy (tests only)"),
    model: str = typer.Option(..., help="model name on the server, or a local model directory"),
    base_url: str = typer.Option("http://127.0.0.1:8000/v1", help="OpenAI-compatible server (openai backend)"),
    batch_size: int = typer.Option(8, min=1),
    max_new_tokens: int = typer.Option(256, min=1),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not read or write the generation cache"),
) -> None:
    """Generate outputs for tasks with a model; saves raw outputs per task."""
    from mella.eval.runner import run_tasks
    from mella.models import REGISTRY, preflight

    kwargs = {"model": model, "max_new_tokens": max_new_tokens}
    if backend == "openai":
        kwargs["base_url"] = base_url
    task = [p for t in task for p in (sorted(t.glob("*.yaml")) if t.is_dir() else [t])]  # a folder: its tasks
    with _job_errors():
        from mella.eval.tasks import load_task

        if not task:
            raise ValueError("no task files: give --task TASK.yaml (or a folder of them, from `mella eval build`)")
        for path in task:
            load_task(path)  # a bad task file is one message before any generation
        preflight(backend, model, base_url, tuple(REGISTRY), kind="vlm")
        summary = run_tasks(task, out, backend, batch_size=batch_size, use_cache=not no_cache,
                            log=typer.echo, **kwargs)
    failed = sum(s["errors"] for s in summary.values())
    typer.echo(f"outputs: {out}/" + (f"  ({failed} failed: rerun to retry them)" if failed else ""))


@eval_app.command("report")
def eval_report(
    runs: list[Path] = typer.Argument(..., help="run directories; the first is the baseline for deltas"),
    out: Path = typer.Option(..., "--out", "-o", help="report directory"),
    bootstrap: int = typer.Option(1000, min=1, help="bootstrap resamples for the intervals"),
) -> None:
    """Per-language scores, deltas, culture x language quadrant, examples: Markdown, HTML, PNG."""
    from mella.eval.report import build_report

    with _job_errors():
        for run in runs:
            if not (run / "run.json").is_file():
                raise ValueError(f"{run} is not an evaluation run (no run.json): give folders made by `mella eval run`")
        build_report(runs, out, bootstrap)
    typer.echo(f"report: {out}/report.html  {out}/report.md  {out}/quadrant.png  {out}/scores.json")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
