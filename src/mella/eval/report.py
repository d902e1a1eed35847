"""`mella eval report RUN...`: per-task scores with bootstrap intervals, deltas between runs with paired
bootstrap intervals, a warning on tasks too small to compare runs, the culture x language ("thick vs
thin") quadrant, language fidelity on its own plot, and outputs side by side with image thumbnails.
Markdown + HTML + PNG + JSON."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
from pathlib import Path

from mella.eval import metrics
from mella.eval.keywords import KeywordMatcher
from mella.eval.runner import read_outputs
from mella.eval.tasks import load_task
from mella.eval.tokenize import MellaTokenizer

PER_ITEM = ("keyword_acc", "meteor", "rouge_l", "chrf", "lang_fidelity")
COLUMNS = ("keyword_acc", "meteor", "bleu", "rouge_l", "chrf", "lang_fidelity")
CORPUS = ("bleu", "chrf")  # corpus-level: resampled through sacrebleu's sufficient statistics
MIN_ITEMS = 30  # a task with fewer items is flagged: too few to compare runs
N_EXAMPLES = 3
SEED = 0


def item_keys(items: list[dict]) -> list[tuple[str, int]]:
    """A key per item that is unique within a task and the same in every run of it: ``(id, k)`` for the
    k-th item with that id (some sources repeat ids)."""
    seen: dict[str, int] = {}
    keys = []
    for item in items:
        k = seen.get(item["id"], 0)
        seen[item["id"]] = k + 1
        keys.append((item["id"], k))
    return keys


def item_values(outputs: list[str], items: list[dict], lang: str) -> dict[str, dict[tuple, float]]:
    """Per metric, ``{item key: value (0..100)}`` (keys from ``item_keys``) for the metrics that average
    over items. Keyword accuracy only for items with keywords. ``chrf`` here is sentence chrF (the
    report's chrF is corpus-level)."""
    import sacrebleu
    from rouge_score.rouge_scorer import RougeScorer

    base = metrics.base_lang(lang)
    rouge = RougeScorer(["rougeL"], tokenizer=MellaTokenizer(base))
    matcher = KeywordMatcher(base)
    out: dict[str, dict[tuple, float]] = {k: {} for k in PER_ITEM}
    for text, item, key in zip(outputs, items, item_keys(items)):
        ref = item["reference"]
        if item.get("keywords"):
            acc = matcher.accuracy(text, item["keywords"])
            if acc is not None:
                out["keyword_acc"][key] = 100 * acc
        out["meteor"][key] = metrics.meteor([text], [ref], lang)
        out["rouge_l"][key] = 100 * rouge.score(ref, text)["rougeL"].fmeasure
        out["chrf"][key] = sacrebleu.sentence_chrf(text, [ref]).score
        out["lang_fidelity"][key] = 100.0 * metrics.in_language(text, lang)
    return {k: v for k, v in out.items() if v}


def item_scores(outputs: list[str], items: list[dict], lang: str) -> dict[str, list[float]]:
    """Per-item values (0..100) of the metrics that average over items, in item order."""
    return {k: list(v.values()) for k, v in item_values(outputs, items, lang).items()}


# --- resampling: one statistic per metric, computed on index arrays -----------------------------------


def _scorer(metric: str, lang: str):
    from sacrebleu.metrics import BLEU, CHRF

    return BLEU(tokenize=metrics.bleu_tokenizer(lang)) if metric == "bleu" else CHRF()


def corpus_stats(metric: str, outputs: list[str], refs: list[str], lang: str) -> list[list[float]] | None:
    """sacrebleu's per-sentence sufficient statistics for BLEU or chrF (summed, they give the corpus score);
    None when this sacrebleu does not expose them."""
    try:
        return [list(map(float, s)) for s in _scorer(metric, lang)._extract_corpus_statistics(outputs, [refs])]
    except (AttributeError, TypeError):
        return None


class _Statistic:
    """A metric's value on a resample of items: the mean of per-item values, or a corpus score from summed
    sentence statistics."""

    def __init__(self, metric: str, lang: str, rows: list):
        import numpy as np

        self.corpus = metric in CORPUS
        self.rows = np.asarray(rows, dtype=float)  # items x statistics (corpus), else one value per item
        if not self.corpus:
            self.rows = self.rows.reshape(-1)
        self.scorer = _scorer(metric, lang) if self.corpus else None

    def on(self, idx):
        """Values on each row of ``idx`` (resamples x items) of item positions."""
        import numpy as np

        if not self.corpus:
            return self.rows[idx].mean(axis=-1)
        sums = self.rows[idx].sum(axis=-2)
        sums = sums.reshape(-1, self.rows.shape[1])
        return np.array([self.scorer._compute_score_from_stats([round(x) for x in s]).score for s in sums])


def _indices(k: int, n_boot: int, seed: int = SEED):
    import numpy as np

    return np.random.default_rng(seed).integers(0, k, size=(n_boot, k))


def _percentiles(values) -> tuple[float, float]:
    import numpy as np

    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def interval(stat: _Statistic, n_boot: int, seed: int = SEED) -> tuple[float, float]:
    """95% percentile interval of the statistic over ``n_boot`` resamples of the items."""
    return _percentiles(stat.on(_indices(len(stat.rows), n_boot, seed)))


def paired_delta(a: _Statistic, b: _Statistic, n_boot: int, seed: int = SEED) -> tuple[float, tuple[float, float]]:
    """``a - b`` on the same items, and its 95% paired bootstrap interval: each resample draws item
    positions once and scores both runs on them (``a.rows[i]`` and ``b.rows[i]`` are the same item)."""
    import numpy as np

    if len(a.rows) != len(b.rows):
        raise ValueError(f"paired runs must score the same items: {len(a.rows)} vs {len(b.rows)}")
    whole = np.arange(len(a.rows))[None, :]
    delta = float(a.on(whole)[0] - b.on(whole)[0])
    idx = _indices(len(a.rows), n_boot, seed)
    return delta, _percentiles(a.on(idx) - b.on(idx))


def paired_mean_delta(a: list[float], b: list[float], n_boot: int = 1000,
                      seed: int = SEED) -> tuple[float, tuple[float, float]]:
    """Mean of ``a - b`` (per-item values of two runs on the same items) and its paired 95% interval."""
    return paired_delta(_Statistic("mean", "", a), _Statistic("mean", "", b), n_boot, seed)


# --- scoring --------------------------------------------------------------------------------------------


def score_run(run: Path, n_boot: int = 1000) -> dict:
    """Scores of one run per task. Per-item values and corpus statistics for pairing are kept under
    ``_items`` (not written to scores.json)."""
    meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
    result = {"run": run.name, "path": str(run), "backend": meta["backend"], "params": meta["params"],
              "dummy": meta.get("dummy", False), "tasks": {}}
    for name, task_path in sorted(meta["tasks"].items()):
        task = load_task(task_path)
        produced = read_outputs(run, name)
        answered = [i for i in task.items() if i["id"] in produced]
        items = [i for i in answered
                 if len(produced[i["id"]]) <= metrics.MAX_CHARS and len(i["reference"]) <= metrics.MAX_CHARS]
        if not items:
            continue
        outs = [produced[i["id"]] for i in items]
        refs = [i["reference"] for i in items]
        kws = [i.get("keywords", []) for i in items] if task.kind == "culture" else None
        scores = metrics.score_corpus(outs, refs, task.lang, kws)
        per_item = item_values(outs, items, task.lang)
        per_item.pop("chrf", None)  # the report's chrF is corpus chrF
        rows = dict(per_item)
        keys = item_keys(items)
        for metric in CORPUS:
            stats = corpus_stats(metric, outs, refs, task.lang)
            if stats is not None:
                rows[metric] = dict(zip(keys, stats))
        ci = {}
        for metric, by_id in rows.items():
            values = list(by_id.values())
            ci[metric] = interval(_Statistic(metric, task.lang, values), n_boot)
        result["tasks"][name] = {
            "kind": task.kind, "lang": task.lang, "n": len(items), "few_items": len(items) < MIN_ITEMS,
            "missing": len(task.items()) - len(answered), "skipped_too_long": len(answered) - len(items),
            "scores": scores, "ci": ci,
            "examples": [{"id": i["id"], "image": i.get("image_url") or i["image"], "image_path": task.image_path(i),
                          "reference": i["reference"], "output": o} for i, o in list(zip(items, outs))[:5]],
            "_items": {"keys": keys, "rows": rows, "outputs": dict(zip(keys, outs)),
                       "items": dict(zip(keys, items)), "task": task},
        }
    return result


def run_deltas(runs: list[dict], n_boot: int = 1000) -> list[dict]:
    """Each run against the first, per shared task, on the items both scored: delta and paired interval."""
    if len(runs) < 2:
        return []
    base, out = runs[0], []
    for run in runs[1:]:
        for name, t in run["tasks"].items():
            b = base["tasks"].get(name)
            if b is None:
                continue
            row = {"run": run["run"], "base": base["run"], "task": name, "lang": t["lang"], "metrics": {}}
            mine = set(t["_items"]["keys"])
            shared = [k for k in b["_items"]["keys"] if k in mine]
            row["n"] = len(shared)
            row["few_items"] = len(shared) < MIN_ITEMS
            for metric in COLUMNS:
                ra, rb = t["_items"]["rows"].get(metric), b["_items"]["rows"].get(metric)
                if ra is None or rb is None:
                    continue
                keys = [i for i in shared if i in ra and i in rb]
                if not keys:
                    continue
                delta, ci = paired_delta(_Statistic(metric, t["lang"], [ra[i] for i in keys]),
                                         _Statistic(metric, t["lang"], [rb[i] for i in keys]), n_boot)
                row["metrics"][metric] = {"delta": delta, "ci": ci, "n": len(keys)}
            out.append(row)
    return out


def quadrant_points(runs: list[dict]) -> list[dict]:
    """Per run and language with both kinds of task: culture = keyword accuracy on the culture task,
    language = METEOR on the language task (the task with most items where a language has several).
    Language fidelity is not on this plot (see ``fidelity_rows``)."""
    points = []
    for run in runs:
        best: dict[tuple[str, str], tuple[str, dict]] = {}
        for name, task in sorted(run["tasks"].items()):
            metric = "keyword_acc" if task["kind"] == "culture" else "meteor" if task["kind"] == "language" else None
            if metric is None or task["scores"].get(metric) is None:
                continue
            key = (task["lang"], task["kind"])
            if key not in best or task["n"] > best[key][1]["n"]:
                best[key] = (name, task)
        for lang in sorted({lang for lang, _ in best}):
            if (lang, "culture") not in best or (lang, "language") not in best:
                continue
            (cname, culture), (lname, language) = best[(lang, "culture")], best[(lang, "language")]
            points.append({"run": run["run"], "dummy": run["dummy"], "lang": lang,
                           "culture": culture["scores"]["keyword_acc"],
                           "culture_ci": culture["ci"].get("keyword_acc"),
                           "culture_task": cname, "n_culture": culture["n"],
                           "language": language["scores"]["meteor"], "language_ci": language["ci"].get("meteor"),
                           "language_task": lname, "n_language": language["n"],
                           "few_items": min(culture["n"], language["n"]) < MIN_ITEMS})
    return points


def unplaced_languages(runs: list[dict]) -> dict[str, str]:
    """Languages scored but not on the quadrant, and what they lack."""
    kinds: dict[str, set[str]] = {}
    for run in runs:
        for task in run["tasks"].values():
            kinds.setdefault(task["lang"], set()).add(task["kind"])
    placed = {p["lang"] for p in quadrant_points(runs)}
    return {lang: ("no language task" if "language" not in k else "no culture task")
            for lang, k in sorted(kinds.items()) if lang not in placed}


def fidelity_rows(runs: list[dict]) -> list[dict]:
    return [{"run": run["run"], "task": name, "lang": t["lang"], "n": t["n"], "value": t["scores"]["lang_fidelity"],
             "ci": t["ci"].get("lang_fidelity")} for run in runs for name, t in run["tasks"].items()]


# --- plots ----------------------------------------------------------------------------------------------


def _overlap(a, b, pad: float = 0.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


# label offsets in points, tried in this order: close first, then further out with a leader line
_OFFSETS = [(r * dx, r * dy) for r in (7, 14, 24, 36, 50)
            for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))]


def place_labels(ax, anchors: list[tuple[float, float]], labels: list[str], colors: list[str],
                 obstacles: list[tuple] = (), fontsize: float = 9) -> list[tuple]:
    """Deterministic greedy label placement: each label (in the given order) takes the first offset whose
    box overlaps no placed label, no marker and no obstacle and stays inside the axes; labels placed away
    from their point get a leader line. Returns the labels' boxes in display pixels."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed: list[tuple] = []
    blocked = list(obstacles)
    for (x, y), label, color in zip(anchors, labels, colors):
        best, best_cost = None, None
        for dx, dy in _OFFSETS:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            text = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                               fontsize=fontsize, color=color)
            ext = text.get_window_extent(renderer)
            box = (float(ext.x0), float(ext.y0), float(ext.x1), float(ext.y1))
            inside = frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1] and box[3] <= frame.y1
            cost = sum(_overlap(box, other, 1.0) for other in blocked + placed) + (0 if inside else 100)
            if best_cost is None or cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (text, box, dx, dy), cost
            else:
                text.remove()
            if cost == 0:
                break
        text, box, dx, dy = best
        if math.hypot(dx, dy) > 12:
            text.remove()
            text = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", ha=text.get_ha(),
                               va=text.get_va(), fontsize=fontsize, color=color,
                               arrowprops={"arrowstyle": "-", "color": color, "lw": 0.6, "shrinkA": 1, "shrinkB": 4})
        placed.append(box)
    return placed


def _run_labels(points_or_rows: list[dict], dummy: set[str]) -> dict[str, str]:
    runs = []
    for p in points_or_rows:
        if p["run"] not in runs:
            runs.append(p["run"])
    return {r: f"{r} (DUMMY backend)" if r in dummy else r for r in runs}


def _whisker(value: float, ci) -> list[list[float]] | None:
    return [[max(0.0, value - ci[0])], [max(0.0, ci[1] - value)]] if ci else None


def plot_quadrant(points: list[dict], path: Path, note: str = "") -> dict:
    """Culture (keyword accuracy) against language (METEOR), one marker per run and language, with the
    bootstrap intervals as whiskers; hollow markers: a task under MIN_ITEMS items. Labels are placed so
    they do not collide. Returns the boxes (display pixels) of the labels and the markers."""
    from matplotlib.lines import Line2D

    from mella.report.plots import _plt

    plt = _plt()
    fig = plt.figure(figsize=(8.4, 6), dpi=110)
    ax = fig.add_axes((0.09, 0.1, 0.6, 0.82))
    runs = _run_labels(points, {p["run"] for p in points if p.get("dummy")})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    color_of = {run: colors[n % len(colors)] for n, run in enumerate(runs)}
    ax.axvline(50, color="grey", lw=0.8, ls="--")
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    corners = [ax.text(x, y, text, ha="center", va="center", fontsize=8, color="#9a9a9a", zorder=0)
               for x, y, text in ((75, 75, "thick: fluent and knowing"), (75, 25, "thin: fluent, blind to culture"),
                                  (25, 75, "knowing, not fluent"), (25, 25, "neither"))]
    handles = []
    for run, label in runs.items():
        pts = [p for p in points if p["run"] == run]
        c = color_of[run]
        for p in pts:
            xerr, yerr = _whisker(p["language"], p.get("language_ci")), _whisker(p["culture"], p.get("culture_ci"))
            if xerr or yerr:
                ax.errorbar(p["language"], p["culture"], xerr=xerr, yerr=yerr, fmt="none", ecolor=c, alpha=0.35,
                            lw=0.8, capsize=0)
        ax.scatter([p["language"] for p in pts], [p["culture"] for p in pts], s=50, color=c,
                   facecolors=["none" if p["few_items"] else c for p in pts], linewidths=1.4, zorder=3)
        handles.append(Line2D([], [], ls="none", marker="o", markersize=7, color=c, label=label))
    if any(p["few_items"] for p in points):
        handles.append(Line2D([], [], ls="none", marker="o", markersize=7, markerfacecolor="none",
                              markeredgecolor="black", label=f"hollow: n < {MIN_ITEMS} items"))
    ax.set_xlim(-3, 103)
    ax.set_ylim(-3, 103)
    ax.set_xlabel("language: METEOR on the language task")
    ax.set_ylabel("culture: keyword accuracy on native alt-text")
    ax.set_title("Culture x language per language and run")
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.71, 0.92), fontsize=8,
               frameon=False)
    if note:
        fig.text(0.71, 0.1, note, fontsize=8, color="dimgrey", wrap=True, va="bottom")
    if not points:
        ax.text(0.5, 0.5, "no language has both a culture and a language task", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    radius = 5 * fig.dpi / 72
    markers = []
    for p in points:
        px, py = ax.transData.transform((p["language"], p["culture"]))
        markers.append((float(px - radius), float(py - radius), float(px + radius), float(py + radius)))
    obstacles = [tuple(map(float, t.get_window_extent(renderer).extents)) for t in corners] + markers
    order = sorted(range(len(points)), key=lambda i: (-points[i]["culture"], points[i]["language"], i))
    boxes = place_labels(ax, [(points[i]["language"], points[i]["culture"]) for i in order],
                         [points[i]["lang"] for i in order], [color_of[points[i]["run"]] for i in order], obstacles)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return {"labels": boxes, "markers": markers, "label_text": [points[i]["lang"] for i in order]}


def plot_fidelity(rows: list[dict], path: Path, dummy: set[str] = frozenset()) -> str | None:
    """Language fidelity (share of outputs in the target language and script) per task and run."""
    from mella.report.plots import _plt, _save

    if not rows:
        return None
    plt = _plt()
    tasks = sorted({r["task"] for r in rows})
    runs = _run_labels(rows, dummy)
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.35 * len(tasks) * max(1, len(runs)) ** 0.5 + 0.3 * len(tasks)))
    height = 0.8 / len(runs)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (run, label) in enumerate(runs.items()):
        ys, xs, errs = [], [], [[], []]
        for i, task in enumerate(tasks):
            row = next((r for r in rows if r["run"] == run and r["task"] == task), None)
            if row is None:
                continue
            ys.append(i + k * height)
            xs.append(row["value"])
            ci = row["ci"] or (row["value"], row["value"])
            errs[0].append(max(0.0, row["value"] - ci[0]))
            errs[1].append(max(0.0, ci[1] - row["value"]))
        ax.barh(ys, xs, height=height, xerr=errs, capsize=2, label=label, color=colors[k % len(colors)])
    lang = {r["task"]: r["lang"] for r in rows}
    n = {r["task"]: min(x["n"] for x in rows if x["task"] == r["task"]) for r in rows}
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(tasks))],
                  [f"{t} ({lang[t]}, n={n[t]}{', few' if n[t] < MIN_ITEMS else ''})" for t in tasks], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("language fidelity: % of outputs in the target language and script")
    ax.set_title("Language fidelity per task and run")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(fig, path)


# --- examples and thumbnails ---------------------------------------------------------------------------


def _is_remote(image: str) -> bool:
    return image.startswith(("http://", "https://"))


def thumbnail_bytes(path: Path, size: int = 160) -> bytes | None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.thumbnail((size, size))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="JPEG", quality=75)
    except (OSError, ValueError):
        return None
    return buf.getvalue()


def _image_source(example: dict, out: Path) -> dict:
    """Where the example's image is shown from: ``{"kind": "local", "file": "thumbs/x.jpg", "data": data URL}``
    (a thumbnail written next to the report, embedded in the HTML), ``{"kind": "remote", "url": ...}``,
    ``{"kind": "data", "url": ...}`` or ``{"kind": "missing", "name": ...}``."""
    image = example.get("image_path") or example["image"]
    if image.startswith("data:"):
        return {"kind": "data", "url": image}
    if not _is_remote(image):
        data = thumbnail_bytes(Path(image))
        if data is not None:
            name = f"thumbs/{hashlib.sha1(data).hexdigest()[:16]}.jpg"
            (out / "thumbs").mkdir(exist_ok=True)
            (out / name).write_bytes(data)
            return {"kind": "local", "file": name,
                    "data": "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")}
    url = example["image"] if _is_remote(example["image"]) else image if _is_remote(image) else None
    if url:
        return {"kind": "remote", "url": url}
    return {"kind": "missing", "name": image}


def examples(runs: list[dict], out: Path, k: int = N_EXAMPLES) -> dict[str, list[dict]]:
    """Per task: up to ``k`` items (answered by every run that has the task), with each run's output."""
    table = {}
    for name in sorted({n for r in runs for n in r["tasks"]}):
        having = [r for r in runs if name in r["tasks"]]
        first = having[0]["tasks"][name]["_items"]
        common = [key for key in first["keys"] if all(key in r["tasks"][name]["_items"]["outputs"] for r in having)]
        rows = []
        for key in common[:k]:
            item = first["items"][key]
            example = {"id": item["id"], "image": item.get("image_url") or item["image"],
                       "image_path": first["task"].image_path(item), "reference": item["reference"]}
            example["source"] = _image_source(example, out)
            example["outputs"] = {r["run"]: r["tasks"][name]["_items"]["outputs"][key] for r in having}
            rows.append(example)
        table[name] = rows
    return table


# --- rendering ------------------------------------------------------------------------------------------


def _fmt(value, ci=None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")


def _fmt_delta(entry: dict | None) -> str:
    if entry is None:
        return "-"
    low, high = entry["ci"]
    mark = "*" if low > 0 or high < 0 else ""
    return f"{entry['delta']:+.1f}{mark} [{low:+.1f}, {high:+.1f}]"


def few_items_warning(n: int) -> str:
    return f"n={n}: too few items to compare runs"


def _warnings(runs: list[dict]) -> list[str]:
    seen, out = set(), []
    for run in runs:
        for name, t in run["tasks"].items():
            if t["n"] < MIN_ITEMS and (name, t["n"]) not in seen:
                seen.add((name, t["n"]))
                out.append(f"{name} ({t['lang']}): {few_items_warning(t['n'])} (fewer than {MIN_ITEMS}); "
                           "its intervals are wide and its deltas are indicative only.")
    return out


def _isolate(text: str) -> str:
    """Markdown has no dir attribute: wrap text in Unicode first-strong isolates (the plain-text dir=auto)
    and keep it on one table line."""
    return "\u2068" + " ".join(text.split()).replace("|", "\\|") + "\u2069"


SCORE_NOTE = ("Scores 0-100 with [95% bootstrap interval] over items ({n} resamples): per-item metrics resample "
              "item means; BLEU and chrF are corpus-level and resample sacrebleu's sentence statistics.")
DELTA_NOTE = ("Delta = run - baseline on the items both runs scored, with a paired 95% bootstrap interval (the "
              "same resampled items score both runs; {n} resamples, seed 0). * = the interval excludes 0.")


def _img_md(src: dict, alt: str) -> str:
    if src["kind"] == "local":
        return f"![{alt}](<{src['file']}>)"
    if src["kind"] == "remote":
        return f"![{alt}](<{src['url']}>)"
    return "(inline image)" if src["kind"] == "data" else f"(image not found: {src['name']})"


def render_markdown(report: dict) -> str:
    runs, n_boot = report["runs"], report["n_boot"]
    lines = ["# mella evaluation report", ""]
    dummies = [r["run"] for r in runs if r["dummy"]]
    if dummies:
        lines += [f"**Runs {', '.join(dummies)} used the DUMMY test backend: their outputs are not a model's.**", ""]
    for warning in report["warnings"]:
        lines.append(f"> **Warning** {warning}")
    if report["warnings"]:
        lines.append("")
    lines += ["## Scores", "", SCORE_NOTE.format(n=n_boot), "",
              "| run | task | lang | n | " + " | ".join(COLUMNS) + " |",
              "|---|---|---|---:|" + "---:|" * len(COLUMNS)]
    for run in runs:
        for name, t in run["tasks"].items():
            cells = [_fmt(t["scores"].get(c), t["ci"].get(c)) for c in COLUMNS]
            n = f"{t['n']} ⚠ {few_items_warning(t['n'])}" if t["few_items"] else str(t["n"])
            lines.append(f"| {run['run']}{' (DUMMY)' if run['dummy'] else ''} | {name} | {t['lang']} | {n} | "
                         + " | ".join(cells) + " |")
    if report["deltas"]:
        lines += ["", f"## Deltas against {runs[0]['run']}", "", DELTA_NOTE.format(n=n_boot), "",
                  "| run | task | n | " + " | ".join(COLUMNS) + " |", "|---|---|---:|" + "---:|" * len(COLUMNS)]
        for d in report["deltas"]:
            n = f"{d['n']} ⚠ {few_items_warning(d['n'])}" if d["few_items"] else str(d["n"])
            lines.append(f"| {d['run']} | {d['task']} | {n} | "
                         + " | ".join(_fmt_delta(d["metrics"].get(c)) for c in COLUMNS) + " |")
    if report["quadrant_png"]:
        lines += ["", "## Culture x language", "", QUADRANT_NOTE, ""]
        if report["unplaced"]:
            lines += ["Not on the plot: " + ", ".join(f"{k} ({v})" for k, v in report["unplaced"].items()) + ".", ""]
        lines.append(f"![culture x language]({report['quadrant_png']})")
    if report["fidelity_png"]:
        lines += ["", "## Language fidelity", "", FIDELITY_NOTE, "",
                  f"![language fidelity]({report['fidelity_png']})"]
    lines += ["", "## Examples", ""]
    for name, rows in report["examples"].items():
        run_names = list(rows[0]["outputs"]) if rows else []
        lines += [f"### {name}", "", "| image | reference | " + " | ".join(run_names) + " |",
                  "|---|---|" + "---|" * len(run_names)]
        for ex in rows:
            src = ex["source"]
            alt = " ".join(ex["reference"].split())[:80].replace("]", "").replace("[", "")
            lines.append(f"| {_img_md(src, alt)} | {_isolate(ex['reference'])} | "
                         + " | ".join(_isolate(ex["outputs"][r]) for r in run_names) + " |")
        lines.append("")
    return "\n".join(lines)


QUADRANT_NOTE = ("Culture = keyword accuracy on the culture task (native alt-text); language = METEOR on the "
                 "language task, per language and run; whiskers: 95% bootstrap intervals; hollow markers: a task "
                 f"under {MIN_ITEMS} items. Languages without both tasks are left off (language fidelity has its "
                 "own plot).")
FIDELITY_NOTE = ("Share of outputs in the target language and script (mella's language identifier), per task and "
                 "run, with 95% bootstrap intervals.")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _img_html(src: dict, alt: str) -> str:
    if src["kind"] == "local":
        return f'<img class="thumb" src="{src["data"]}" alt="{_e(alt)}">'
    if src["kind"] in ("remote", "data"):
        return f'<img class="thumb" src="{_e(src["url"])}" loading="lazy" alt="{_e(alt)}">'
    return f'<span class="noimg">image not found: {_e(src["name"])}</span>'


def _embed(path: Path | None, alt: str) -> str:
    if path is None:
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="plot" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


FEW = ' class="few"'


def _cell_html(text: str) -> str:
    """``value [low, high]`` as the value over a smaller interval line."""
    value, _, ci = text.partition(" [")
    return _e(value) + (f'<span class="ci">[{_e(ci)}</span>' if ci else "")


def _few_html(row: dict) -> str:
    return f'<div class="warn few-note">⚠ {_e(few_items_warning(row["n"]))}</div>' if row["few_items"] else ""


def render_html(report: dict, out: Path) -> str:
    """A page that works opened from disk: plots and local thumbnails embedded, remote images by URL."""
    runs, n_boot = report["runs"], report["n_boot"]
    body = ["<h1>mella evaluation report</h1>"]
    dummies = [r["run"] for r in runs if r["dummy"]]
    if dummies:
        body.append(f'<p class="dummy"><b>Runs {_e(", ".join(dummies))} used the DUMMY test backend: their outputs '
                    "are not a model's.</b></p>")
    body += [f'<p class="warn" role="alert">⚠ <b>Warning</b> {_e(w)}</p>' for w in report["warnings"]]
    body += ["<h2>Scores</h2>", f"<p>{_e(SCORE_NOTE.format(n=n_boot))}</p>", '<table><tr><th>run</th>'
             "<th>task</th><th>lang</th><th>n</th>" + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr>"]
    for run in runs:
        for name, t in run["tasks"].items():
            body.append(f"<tr{FEW if t['few_items'] else ''}><td>{_e(run['run'])}"
                        f"{' (DUMMY)' if run['dummy'] else ''}</td><td>{_e(name)}{_few_html(t)}</td>"
                        f"<td>{_e(t['lang'])}</td><td class=\"n\">{t['n']}{' ⚠' if t['few_items'] else ''}</td>"
                        + "".join(f'<td class="num">{_cell_html(_fmt(t["scores"].get(c), t["ci"].get(c)))}</td>'
                                  for c in COLUMNS)
                        + "</tr>")
    body.append("</table>")
    if report["deltas"]:
        body += [f"<h2>Deltas against {_e(runs[0]['run'])}</h2>", f"<p>{_e(DELTA_NOTE.format(n=n_boot))}</p>",
                 '<table class="deltas"><tr><th>run</th><th>task</th><th>n</th>'
                 + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr>"]
        for d in report["deltas"]:
            cells = []
            for c in COLUMNS:
                entry = d["metrics"].get(c)
                sure = entry is not None and (entry["ci"][0] > 0 or entry["ci"][1] < 0)
                cells.append(f'<td class="num{" sure" if sure else ""}">{_cell_html(_fmt_delta(entry))}</td>')
            body.append(f"<tr{FEW if d['few_items'] else ''}><td>{_e(d['run'])}</td><td>{_e(d['task'])}"
                        f"{_few_html(d)}</td><td class=\"n\">{d['n']}{' ⚠' if d['few_items'] else ''}</td>"
                        + "".join(cells) + "</tr>")
        body.append("</table>")
    if report["quadrant_png"]:
        body += ["<h2>Culture x language</h2>", f"<p>{_e(QUADRANT_NOTE)}</p>"]
        if report["unplaced"]:
            body.append("<p>Not on the plot: "
                        + _e(", ".join(f"{k} ({v})" for k, v in report["unplaced"].items())) + ".</p>")
        body.append(_embed(out / report["quadrant_png"], "culture x language quadrant"))
    if report["fidelity_png"]:
        body += ["<h2>Language fidelity</h2>", f"<p>{_e(FIDELITY_NOTE)}</p>",
                 _embed(out / report["fidelity_png"], "language fidelity per task and run")]
    body.append("<h2>Examples</h2>")
    lang_of = {name: t["lang"] for r in runs for name, t in r["tasks"].items()}
    for name, rows in report["examples"].items():
        run_names = list(rows[0]["outputs"]) if rows else []
        lang = lang_of.get(name, "")
        body += [f"<h3>{_e(name)}</h3>", f'<table class="examples" data-task="{_e(name)}"><tr><th>image</th>'
                 "<th>reference</th>" + "".join(f"<th>{_e(r)}</th>" for r in run_names) + "</tr>"]
        for ex in rows:
            alt = " ".join(ex["reference"].split())[:120]
            body.append(f'<tr data-id="{_e(ex["id"])}"><td class="img">{_img_html(ex["source"], alt)}</td>'
                        f'<td class="text reference" dir="auto" lang="{_e(lang)}">{_e(ex["reference"])}</td>'
                        + "".join(f'<td class="text output" dir="auto" data-run="{_e(r)}">{_e(ex["outputs"][r])}</td>'
                                  for r in run_names) + "</tr>")
        body.append("</table>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;vertical-align:top}th{background:#eee}"
             "td.num{text-align:right;white-space:nowrap}td.sure{font-weight:bold}"
             ".ci{display:block;font-size:11px;color:#555;font-weight:normal}"
             "td.text{text-align:start;max-width:26em;unicode-bidi:plaintext}tr.few td{background:#fff8e6}"
             ".warn{color:#8a5300}.few-note{font-size:11px;min-width:14em}"
             "p.warn{background:#fff3cd;border:1px solid #e0b44c;padding:.4em .8em}"
             "p.dummy{color:#a00}img.thumb{width:120px;height:120px;object-fit:cover;display:block}"
             ".noimg{display:inline-block;width:120px;font-size:11px;color:#777;overflow-wrap:anywhere}"
             "img.plot{max-width:100%}")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mella report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _public(runs: list[dict]) -> list[dict]:
    return [{**r, "tasks": {n: {k: v for k, v in t.items() if not k.startswith("_")} for n, t in r["tasks"].items()}}
            for r in runs]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_report(run_dirs: list[str | Path], out: str | Path, n_boot: int = 1000) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / "thumbs").glob("*.jpg"):  # this report's own thumbnails from an earlier build
        stale.unlink()
    runs = [score_run(Path(r), n_boot) for r in run_dirs]
    points = quadrant_points(runs)
    unplaced = unplaced_languages(runs)
    scored = any(r["tasks"] for r in runs)
    dummy = {r["run"] for r in runs if r["dummy"]}
    quadrant = None
    if scored:
        note = ("Not on the plot: " + ", ".join(f"{k} ({v})" for k, v in unplaced.items())) if unplaced else ""
        plot_quadrant(points, out / "quadrant.png", note)
        quadrant = "quadrant.png"
    fidelity = plot_fidelity(fidelity_rows(runs), out / "fidelity.png", dummy)
    report = {"runs": runs, "n_boot": n_boot, "deltas": run_deltas(runs, n_boot), "quadrant_png": quadrant,
              "fidelity_png": fidelity, "unplaced": unplaced, "warnings": _warnings(runs),
              "examples": examples(runs, out)}
    _write(out / "report.md", render_markdown(report))
    _write(out / "report.html", render_html(report, out))
    public = {"runs": _public(runs), "deltas": report["deltas"], "quadrant": points, "not_on_quadrant": unplaced,
              "min_items": MIN_ITEMS, "warnings": report["warnings"],
              "bootstrap": {"resamples": n_boot, "seed": SEED}}
    _write(out / "scores.json", json.dumps(public, ensure_ascii=False, indent=2))
    return public
