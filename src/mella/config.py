"""Typed configuration: defaults < YAML file < CLI flags (``--set a.b=value``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# constrained types: a bad value is refused when the config is read, before any work
Pos = Annotated[int, Field(ge=1)]  # counts, sizes, workers
NonNeg = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Ratio = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadConfig(_Strict):
    max_page_bytes: Pos = 8_000_000  # decoded HTML larger than this is dropped (page_too_large)
    max_compressed_ratio: Pos = 100  # Content-Encoding bombs: inflated/compressed size cap
    allowed_status: list[int] = Field(default_factory=lambda: [200, 203])


class ExtractConfig(_Strict):
    max_alt_chars: Pos = 2000  # longer alt attributes are dropped (alt_oversized) before any scoring
    max_images_per_page: Pos = 1000
    context_chars: NonNeg = 300  # surrounding-text snippet bound
    context_levels: NonNeg = 3  # ancestors searched for surrounding text
    pixel_max_side: NonNeg = 2  # width or height attribute <= this: tracking pixel
    max_depth: Pos = 5000  # element nesting (estimated before parsing) above this: html_too_deep
    max_page_seconds: Seconds = 10.0  # extraction time per page; past it the page's other images: page_time_limit
    placeholder_texts: Pos = 3  # one image URL under this many different texts on a page: placeholder_image


class LidConfig(_Strict):
    top_k: Pos = 20
    min_score: Share = 0.5  # default threshold on the chosen language's probability
    min_score_by_lang: dict[str, float] = Field(default_factory=dict)


class QualityConfig(_Strict):
    min_letter_share: Share = 0.5  # letters / non-space characters; below: mostly_non_letters
    max_page_repeats: Pos = 2  # same alt on more images of one page than this: page_repeated_alt
    min_hash_token_chars: Pos = 10  # a single token this long mixing digits and letters: hash_alt
    gallery_max: Pos = 12  # a text repeated on up to this many distinct photos of a page is a gallery caption
    drop_headlines: bool = False  # drop teaser headlines (alt_headline) instead of keeping them flagged
    drop_quote_headlines: bool = False  # drop teaser headlines of the form "Speaker: statement" (quote_headline)


class DedupConfig(_Strict):
    exact: bool = True
    near: bool = True
    shingle_chars: Pos = 5
    bands: Pos = 14
    rows: Pos = 8
    capacity: Pos = 1_000_000  # records per task before the Bloom filters' false-positive rate exceeds fp_rate
    fp_rate: Annotated[float, Field(gt=0, lt=1)] = 1e-6
    seed: int = 1
    near_min_chars: NonNeg = 30  # shorter texts (normalised) are only exact-deduplicated (names, labels)
    # near dedup in this many tasks, the bands shared out among them (a cluster: memory per task falls with
    # the number of tasks); 1: one streaming task. The same records are dropped either way.
    near_tasks: Annotated[int, Field(ge=1, le=64)] = 1
    # one image URL under this many different texts of one language across the run's pages that fill one
    # template with each page's own subject is a placeholder (a locator map): placeholder_image; 0 turns the
    # check off (extract.placeholder_texts is the check within one page)
    placeholder_texts: NonNeg = 3
    placeholder_any_texts: NonNeg = 10  # ... and under this many different texts, whatever they say (0: never)


class WriteConfig(_Strict):
    rows_per_file: Pos = 200_000
    batch_rows: Pos = 8_192
    compression: Literal["zstd", "snappy", "gzip", "brotli", "lz4", "none"] = "zstd"


class ExecutorConfig(_Strict):
    """Where a data pipeline's tasks run (docs/scale.md). Not part of a job's identity: a run started on one
    executor resumes on the other."""

    kind: Literal["local", "ray"] = "local"
    ray_address: str | None = None  # a running cluster ("auto", "ray://head:10001"); None: start Ray here
    cpus_per_task: Annotated[float, Field(gt=0)] = 1.0  # fractional: tasks share CPUs (2 workers on 2 cores: 0.5)
    gpus_per_task: Annotated[float, Field(ge=0)] = 0.0  # model stages on a GPU cluster: 1 (or 0.5 to share one)
    mem_per_cpu_gb: Annotated[float, Field(gt=0)] = 2.0  # memory Ray reserves per CPU of a task


# config keys that say how a job runs, not what it computes: left out of the job's identity (job.json)
RUN_KEYS = {"workers", "executor", "concurrency"}


def job_config(cfg: BaseModel, exclude: set[str] | None = None) -> dict:
    """What a job computes: its config less how it runs (``RUN_KEYS``, at any depth) and ``exclude``."""
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in RUN_KEYS}
        return node

    return strip(cfg.model_dump(exclude=exclude))


class CCConfig(_Strict):
    """`mella mine --cc-index`: pages chosen by Common Crawl's columnar index, read by byte range (docs/scale.md)."""

    index: str | None = None  # Parquet files of the index: a glob, local or any fsspec URL (s3://, https://)
    base_url: str = "https://data.commoncrawl.org/"  # where warc_filename is found (a folder or s3://commoncrawl/)
    records_per_task: Pos = 2000  # selected records per task (the unit of resumption)
    concurrency: Pos = 8  # range requests in flight per task
    timeout: Seconds = 60.0
    retries: NonNeg = 3  # on timeouts, connection errors, 429 and 5xx (Common Crawl answers 503 "slow down")
    backoff: Ratio = 2.0  # seconds before the first retry, doubled each time
    storage_options: dict[str, Any] = Field(default_factory=dict)  # fsspec options (e.g. {anon: true} for s3)


class MineConfig(_Strict):
    langs: list[str] = Field(default_factory=lambda: ["ar", "cs", "hu", "ko", "ru", "sr", "th", "vi"])
    workers: Pos = 1
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    languages: dict[str, dict[str, Any]] = Field(default_factory=dict)  # language-table overrides/additions
    read: ReadConfig = Field(default_factory=ReadConfig)
    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    lid: LidConfig = Field(default_factory=LidConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    write: WriteConfig = Field(default_factory=WriteConfig)
    cc: CCConfig = Field(default_factory=CCConfig)


def _set_path(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value


def load_config(model: type[BaseModel], yaml_path: Path | None = None, overrides: dict[str, Any] | None = None,
                sets: list[str] | None = None) -> BaseModel:
    """Build ``model`` from defaults, then a YAML file, then CLI overrides and ``key.path=value`` strings."""
    return model.model_validate(config_tree(yaml_path, overrides, sets))


def merged(base: dict, over: dict) -> dict:
    """``over`` laid over ``base``, nested mappings merged key by key."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def config_tree(yaml_path: Path | None = None, overrides: dict[str, Any] | None = None,
                sets: list[str] | None = None) -> dict[str, Any]:
    """The YAML file's mapping with the CLI overrides and ``key.path=value`` strings laid over it."""
    import yaml

    tree: dict[str, Any] = {}
    if yaml_path is not None:
        path = Path(yaml_path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid YAML: {e}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        tree.update(loaded)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_path(tree, dotted, value)
    for item in sets or []:
        if "=" not in item:
            raise ValueError(f"--set expects key.path=value, got {item!r}")
        dotted, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        _set_path(tree, dotted.strip(), value)
    return tree


class FetchConfig(_Strict):
    """`mella fetch`: network, image checks, dedup and output (docs/images.md)."""

    workers: Pos = 1
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    concurrency: Pos = 16  # threads per worker
    per_host: Pos = 4  # requests in flight to one host, across all workers of the run (OUT/.host_slots)
    timeout: Seconds = 10.0  # seconds per socket operation
    deadline: Seconds = 60.0  # seconds for a whole request (each redirect hop): slow-trickling servers end here
    retries: NonNeg = 2
    backoff: Ratio = 0.5
    max_bytes: Pos = 20_000_000
    max_redirects: NonNeg = 3
    network: bool = True  # False: take images only from the crawl's own WARC records (not_in_crawl otherwise)
    image_store: str | None = None  # folder of the content-addressed image files (default: OUT/images)
    allow_private: bool = False
    allowed_networks: list[str] = Field(default_factory=list)  # CIDRs allowed although private
    honour_robots_header: bool = True
    warc_first: bool = True
    min_side: Pos = 64
    max_aspect: Annotated[float, Field(ge=1)] = 5.0
    max_pixels: Pos = 50_000_000  # declared width x height above this: decompression_bomb
    max_pixels_in_flight: Pos = 150_000_000  # decoded pixels across a worker's threads at once (memory bound)
    allow_animated: bool = False
    max_side: Pos | None = 1024
    encode_format: Literal["JPEG", "WEBP", "ORIGINAL"] = "JPEG"
    quality: Annotated[int, Field(ge=1, le=100)] = 90
    phash_distance: Annotated[int, Field(ge=0, le=3)] = 3
    shard_records: Pos = 1000  # records per fetch task (the unit of resumption)
    write: WriteConfig = Field(default_factory=lambda: WriteConfig(rows_per_file=10_000, batch_rows=256))


class CaptionConfig(_Strict):
    """`mella caption`: detailed English captions by an MLLM (docs/ling.md)."""

    backend: str = "openai"  # openai | transformers | dummy (tests)
    model: str = ""
    base_url: str = "http://127.0.0.1:8000/v1"
    max_new_tokens: Pos = 300
    batch_size: Pos = 8
    timeout: Seconds = 120.0  # seconds per request (openai backend)
    retries: NonNeg = 3  # after the first try, on 408/429/5xx, timeouts, connection errors, empty answers
    backoff: Ratio = 1.0  # seconds before the first retry, doubled each time
    concurrency: Pos = 8  # requests in flight per worker (openai backend)
    workers: Pos = 1
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    shard_records: Pos = 1000
    write: WriteConfig = Field(default_factory=lambda: WriteConfig(rows_per_file=10_000, batch_rows=256))


class QAConfig(_Strict):
    """Translation QA thresholds (the scores are saved by `mella translate`; `mella select` decides).
    Unset (None): each language's own threshold from the language table (`qa:`), chosen on NTREX
    professional translations (docs/ling.md); set: that value for every language."""

    min_length_ratio: Ratio | None = None
    max_length_ratio: Ratio | None = None
    min_numbers_preserved: Share | None = None
    max_copy_ratio: Share | None = None
    max_repetition: Share | None = None
    min_similarity: Annotated[float, Field(ge=-1, le=1)] | None = None
    final_punctuation: bool | None = None  # a source that ends a sentence needs a translation that ends one
    incomplete_max_ratio: Ratio | None = None  # an incomplete ending fails below this length ratio
    short_ratio: Ratio | None = None  # a translation shorter than this ratio ...
    short_min_similarity: Annotated[float, Field(ge=-1, le=1)] | None = None  # ... needs this similarity


class TranslateConfig(_Strict):
    """`mella translate`: machine translation of the captions + QA scores (docs/ling.md)."""

    backend: str = "transformers"  # transformers (NLLB/M2M100/MADLAD) | openai (an LLM)
    model: str = ""
    base_url: str = "http://127.0.0.1:8000/v1"
    max_new_tokens: Pos = 400
    batch_size: Pos = 16
    timeout: Seconds = 120.0  # seconds per request (openai backend)
    retries: NonNeg = 3
    backoff: Ratio = 1.0
    concurrency: Pos = 8
    targets: list[str] = Field(default_factory=list)  # empty: each record's own language
    max_source_chars: Pos = 5000  # a longer caption is not sent (mt_source_too_long): a runaway caption
    languages: dict[str, dict[str, Any]] = Field(default_factory=dict)
    similarity: bool = True
    qa: QAConfig = Field(default_factory=QAConfig)  # the summary's QA counts use these (select decides)
    workers: Pos = 1
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    shard_records: Pos = 1000
    write: WriteConfig = Field(default_factory=lambda: WriteConfig(rows_per_file=10_000, batch_rows=256))


class AlignConfig(_Strict):
    """`mella align`: image-text similarity with a dual encoder (CLIP/SigLIP family)."""

    model: str = ""
    batch_size: Pos = 32
    workers: Pos = 1
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    shard_records: Pos = 1000
    write: WriteConfig = Field(default_factory=lambda: WriteConfig(rows_per_file=10_000, batch_rows=256))


class CaptionQAConfig(_Strict):
    """Caption QA thresholds (scores saved by `mella caption` and `mella align`; `mella select` decides)."""

    english: bool = True  # the caption must be English (the identifier, English as prior)
    min_words: NonNeg = 8  # shorter: caption_too_short (detailed captions run 50-300 words)
    max_repetition: Share = 0.3  # share of repeated word 3-grams: caption_repetition
    refusals: bool = True  # refusal phrases (data/refusals.txt): caption_refusal
    min_align_score: Annotated[float, Field(ge=-1, le=1)] | None = None  # caption vs image (when aligned)


class SelectConfig(_Strict):
    """`mella select`: decide which records make D_know and D_ling samples, from the saved scores (no model
    runs again). Thresholds left None keep what the earlier stages kept."""

    languages: dict[str, dict[str, Any]] = Field(default_factory=dict)
    text_kinds: list[str] = Field(default_factory=lambda: ["alt", "figcaption", "caption"])
    min_lid_score: Share | None = None
    min_letter_share: Share | None = None
    max_page_repeats: Pos | None = None
    min_align_score: Annotated[float, Field(ge=-1, le=1)] | None = None  # D_know: image-text alignment of the native text (when scored)
    qa: QAConfig = Field(default_factory=QAConfig)  # D_ling: translation QA
    caption_qa: CaptionQAConfig = Field(default_factory=CaptionQAConfig)  # D_ling: caption QA
    workers: Pos = 1
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    shard_records: Pos = 10_000
    write: WriteConfig = Field(default_factory=WriteConfig)


class SplitConfig(_Strict):
    """Leakage-free splits: an image, its near duplicates and its site are one group (docs/dataset.md)."""

    test_size: Ratio = 0.1  # per language: a share of its records (< 1) or a number of records (>= 1)
    val_size: Ratio = 0.05
    test_size_by_lang: dict[str, Ratio] = Field(default_factory=dict)
    val_size_by_lang: dict[str, Ratio] = Field(default_factory=dict)
    group_by: list[Literal["image", "near_image", "domain"]] = Field(
        default_factory=lambda: ["image", "near_image", "domain"])
    phash_distance: Annotated[int, Field(ge=0, le=16)] = 4  # near duplicates for grouping: pHash Hamming distance at most this (0-8)
    seed: int = 0


class ComposeConfig(_Strict):
    """`mella compose`: select (unless done), split, and instruction samples with per-language mixing."""

    sources: list[Literal["d_know", "d_ling"]] = Field(default_factory=lambda: ["d_know", "d_ling"])
    know_share: Share | None = None  # D_know share of each language's training samples (None: all available)
    quota: NonNeg | None = None  # training samples per language at most (None: no cap)
    quota_by_lang: dict[str, NonNeg] = Field(default_factory=dict)
    thick: bool = False  # an image with both sources gives both samples (else one, by know_share)
    title_context: Share = 0.3  # share of D_know samples whose instruction carries the page title
    templates_dir: str | None = None  # your own instruction templates (<lang>.yaml), over the shipped ones
    seed: int = 0
    select: SelectConfig = Field(default_factory=SelectConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    write: WriteConfig = Field(default_factory=WriteConfig)


class ExportConfig(_Strict):
    formats: list[str] = Field(default_factory=lambda: ["parquet", "webdataset", "llava", "sharegpt", "swift"])
    splits: list[str] = Field(default_factory=lambda: ["train", "validation", "test"])
    sources: list[str] = Field(default_factory=lambda: ["d_know", "d_ling"])


class BuildConfig(_Strict):
    """`mella build`: every stage from crawl to exports, each section as in its own command's config.
    Relative paths in a YAML file are relative to that file's folder. A model stage runs when its model
    is set (``caption.model``, ``translate.model``, ``align.model``), else it is skipped and said so."""

    inputs: list[str] = Field(default_factory=list)
    out: str | None = None
    workers: Pos | None = None  # every stage's workers at once
    executor: ExecutorConfig | None = None  # every stage's executor at once
    mine: MineConfig = Field(default_factory=MineConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    align: AlignConfig = Field(default_factory=AlignConfig)
    caption: CaptionConfig = Field(default_factory=CaptionConfig)
    translate: TranslateConfig = Field(default_factory=TranslateConfig)
    select: SelectConfig = Field(default_factory=SelectConfig)
    compose: ComposeConfig = Field(default_factory=ComposeConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    card: bool = True
    browse: bool = True
