"""PNG plots for the dataset card (matplotlib, no display). Each function writes one file and returns its
name, or None when there is nothing to plot."""

from __future__ import annotations

from pathlib import Path


def _plt():
    import logging
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # fonts for the target scripts where installed (Debian: fonts-noto-cjk, fonts-thai-tlwg), else boxes
    plt.rcParams["font.family"] = ["DejaVu Sans", "Noto Sans CJK KR", "NanumGothic", "Noto Sans Thai",
                                   "Loma", "Noto Sans Arabic"]
    warnings.filterwarnings("ignore", message=".*(Glyph|findfont).*")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    return plt


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=100)
    _plt().close(fig)
    tmp.replace(path)
    return path.name


def histograms(values_by_lang: dict[str, list[float]], title: str, xlabel: str, path: Path, bins: int = 20,
               value_range: tuple[float, float] | None = None) -> str | None:
    """One histogram per language, stacked in a column."""
    langs = [lang for lang, vals in sorted(values_by_lang.items()) if vals]
    if not langs:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(langs), 1, figsize=(6, 1.4 + 1.2 * len(langs)), squeeze=False, sharex=True)
    for ax, lang in zip(axes[:, 0], langs):
        ax.hist(values_by_lang[lang], bins=bins, range=value_range, color="#4c72b0")
        ax.set_ylabel(lang, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=8)
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel(xlabel)
    return _save(fig, path)


def bars(counts: dict[str, int], title: str, path: Path, xlabel: str = "records", top: int = 20) -> str | None:
    """Horizontal bars, largest first."""
    items = sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: (-kv[1], kv[0]))[:top]
    if not items:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 1 + 0.32 * len(items)))
    labels = [k for k, _ in items][::-1]
    ax.barh(labels, [v for _, v in items][::-1], color="#dd8452")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.tick_params(labelsize=8)
    return _save(fig, path)


def pass_rates(rates: dict[str, dict[str, float]], title: str, path: Path) -> str | None:
    """Grouped bars: per check (rows of ``rates``), the pass rate per language (0..1)."""
    checks = sorted(rates)
    langs = sorted({lang for r in rates.values() for lang in r})
    if not checks or not langs:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.45 * len(checks)))
    height = 0.8 / len(langs)
    for k, lang in enumerate(langs):
        ys = [i + k * height for i in range(len(checks))]
        ax.barh(ys, [rates[c].get(lang, 0.0) for c in checks], height=height, label=lang)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(checks))], checks, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of translations passing")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(fig, path)


def coverage(rows: list[tuple[str, float, float]], lang: str, path: Path) -> str | None:
    """Per keyword: its share of D_know texts vs of D_ling texts (what translation alone misses)."""
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * len(rows)))
    labels = [r[0] for r in rows][::-1]
    know = [r[1] for r in rows][::-1]
    ling = [r[2] for r in rows][::-1]
    ys = list(range(len(rows)))
    ax.barh([y + 0.2 for y in ys], know, height=0.4, label="D_know (native)", color="#4c72b0")
    ax.barh([y - 0.2 for y in ys], ling, height=0.4, label="D_ling (translated)", color="#c44e52")
    ax.set_yticks(ys, labels, fontsize=8)
    ax.set_xlabel("share of samples mentioning it")
    ax.set_title(f"{lang}: frequent D_know keywords and their share in D_ling")
    ax.legend(fontsize=7)
    return _save(fig, path)
