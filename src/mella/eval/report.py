"""`mella eval report RUN...`: per-language scores with bootstrap intervals, deltas between runs, the
culture x language ("thick vs thin") quadrant, and outputs side by side. Markdown + HTML + PNG."""

from __future__ import annotations

import base64
import html
import json
import os
import random
from pathlib import Path

from mella.eval import metrics
from mella.eval.keywords import KeywordMatcher, stemmer
from mella.eval.meteor import sentence_meteor
from mella.eval.runner import read_outputs
from mella.eval.tasks import load_task
from mella.eval.tokenize import MellaTokenizer, normalised_words

PER_ITEM = ("keyword_acc", "meteor", "rouge_l", "chrf", "lang_fidelity")


def item_scores(outputs: list[str], items: list[dict], lang: str) -> dict[str, list[float]]:
    """Per-item values (0..100) of the metrics that average over items, for bootstrap intervals."""
    import sacrebleu
    from rouge_score.rouge_scorer import RougeScorer

    base = metrics.base_lang(lang)
    stem = stemmer(base)
    synonyms = metrics.english_synonyms() if base == "en" else None
    rouge = RougeScorer(["rougeL"], tokenizer=MellaTokenizer(base))
    matcher = KeywordMatcher(base)
    out: dict[str, list[float]] = {k: [] for k in PER_ITEM}
    for text, item in zip(outputs, items):
        ref = item["reference"]
        if item.get("keywords"):
            out["keyword_acc"].append(100 * matcher.accuracy(text, item["keywords"]))
        out["meteor"].append(100 * sentence_meteor(normalised_words(text, base), normalised_words(ref, base),
                                                   stem=stem, synonyms=synonyms))
        out["rouge_l"].append(100 * rouge.score(ref, text)["rougeL"].fmeasure)
        out["chrf"].append(sacrebleu.sentence_chrf(text, [ref]).score)
        out["lang_fidelity"].append(100.0 * metrics.in_language(text, lang))
    return {k: v for k, v in out.items() if v}


def bootstrap(values: list[float], n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean."""
    rng = random.Random(seed)
    k = len(values)
    means = sorted(sum(values[rng.randrange(k)] for _ in range(k)) / k for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def score_run(run: Path, n_boot: int = 1000) -> dict:
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
        per_item = item_scores(outs, items, task.lang)
        ci = {k: bootstrap(v, n_boot) for k, v in per_item.items()}
        result["tasks"][name] = {"kind": task.kind, "lang": task.lang, "n": len(items),
                                 "missing": len(task.items()) - len(answered),
                                 "skipped_too_long": len(answered) - len(items), "scores": scores, "ci": ci,
                                 "examples": [{"id": i["id"], "image": i.get("image_url") or i["image"],
                                               "reference": i["reference"], "output": o}
                                              for i, o in list(zip(items, outs))[:5]]}
    return result


def quadrant_points(runs: list[dict]) -> list[dict]:
    """Per run and language: culture = keyword accuracy (culture task); language = METEOR on the
    language task, or language fidelity of the culture outputs when the language has no language task."""
    points = []
    for run in runs:
        by_lang: dict[str, dict] = {}
        for task in run["tasks"].values():
            entry = by_lang.setdefault(task["lang"], {})
            if task["kind"] == "culture" and task["scores"].get("keyword_acc") is not None:
                entry["culture"] = task["scores"]["keyword_acc"]
                entry.setdefault("fidelity", task["scores"]["lang_fidelity"])
            elif task["kind"] == "language":
                entry["language"] = task["scores"]["meteor"]
        for lang, entry in sorted(by_lang.items()):
            if "culture" not in entry:
                continue
            proxy = "language" not in entry
            points.append({"run": run["run"], "dummy": run["dummy"], "lang": lang, "culture": entry["culture"],
                           "language": entry.get("language", entry.get("fidelity", 0.0)), "proxy": proxy})
    return points


def plot_quadrant(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    runs = sorted({p["run"] for p in points})
    dummy = {p["run"] for p in points if p.get("dummy")}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, run in enumerate(runs):
        pts = [p for p in points if p["run"] == run]
        for p in pts:
            ax.scatter(p["language"], p["culture"], s=60, color=colors[n % len(colors)],
                       facecolors="none" if p["proxy"] else colors[n % len(colors)],
                       label=(f"{run} (DUMMY backend)" if run in dummy else run) if p is pts[0] else None)
            ax.annotate(p["lang"], (p["language"], p["culture"]), textcoords="offset points", xytext=(5, 4),
                        fontsize=9)
    ax.axvline(50, color="grey", lw=0.8, ls="--")
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    for x, y, text in ((75, 95, "thick: fluent and knowing"), (75, 5, "thin: fluent, blind to culture"),
                       (25, 95, "knowing, not fluent"), (25, 5, "neither")):
        ax.text(x, y, text, ha="center", va="center", fontsize=8, color="grey")
    ax.set_xlim(-3, 103)
    ax.set_ylim(-3, 103)
    ax.set_xlabel("language score (METEOR on language task; hollow: language fidelity)")
    ax.set_ylabel("culture score (keyword accuracy on native alt-text)")
    ax.legend(loc="center left", fontsize=8)
    ax.set_title("Culture x language per language and run")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


def _fmt(value, ci=None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")


COLUMNS = ("keyword_acc", "meteor", "bleu", "rouge_l", "chrf", "lang_fidelity")


def render_markdown(runs: list[dict], png_name: str | None) -> str:
    lines = ["# mella evaluation report", ""]
    dummies = [r["run"] for r in runs if r["dummy"]]
    if dummies:
        lines += [f"**Runs {', '.join(dummies)} used the DUMMY test backend: their outputs are not a model's.**", ""]
    lines += ["Scores 0-100; [95% bootstrap interval of the mean over items] for metrics averaged per item. "
              "BLEU and chrF are corpus-level.", "", "| run | task | lang | n | " + " | ".join(COLUMNS) + " |",
              "|---|---|---|---:|" + "---:|" * len(COLUMNS)]
    for run in runs:
        for name, t in run["tasks"].items():
            cells = [_fmt(t["scores"].get(c), t["ci"].get(c) if c != "chrf" else None) for c in COLUMNS]
            lines.append(f"| {run['run']}{' (DUMMY)' if run['dummy'] else ''} | {name} | {t['lang']} | {t['n']} | "
                         + " | ".join(cells) + " |")
    if len(runs) > 1:
        base = runs[0]
        lines += ["", f"## Deltas against {base['run']}", "", "| run | task | " + " | ".join(COLUMNS) + " |",
                  "|---|---|" + "---:|" * len(COLUMNS)]
        for run in runs[1:]:
            for name, t in run["tasks"].items():
                if name not in base["tasks"]:
                    continue
                b = base["tasks"][name]["scores"]
                cells = ["-" if t["scores"].get(c) is None or b.get(c) is None else f"{t['scores'][c] - b[c]:+.1f}"
                         for c in COLUMNS]
                lines.append(f"| {run['run']} | {name} | " + " | ".join(cells) + " |")
    if png_name:
        lines += ["", "## Culture x language", "", f"![quadrant]({png_name})"]
    lines += ["", "## Examples", ""]
    for name in sorted({n for r in runs for n in r["tasks"]}):
        first = next(r["tasks"][name] for r in runs if name in r["tasks"])
        lines += [f"### {name}", ""]
        for n, ex in enumerate(first["examples"][:3]):
            lines += [f"- image: {ex['image']}", f"  - reference: {ex['reference']}"]
            for run in runs:
                if name in run["tasks"] and n < len(run["tasks"][name]["examples"]):
                    lines.append(f"  - {run['run']}: {run['tasks'][name]['examples'][n]['output']}")
        lines.append("")
    return "\n".join(lines)


def render_html(markdown_text: str, png: Path | None) -> str:
    """A self-contained page: the Markdown's tables and lists as HTML, the plot embedded."""
    body, in_table = [], False
    for line in markdown_text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-:"):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("![") and png is not None:
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            body.append(f'<img alt="culture x language" src="data:image/png;base64,{data}">')
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#eee}")
    return f"<!doctype html><meta charset='utf-8'><title>mella report</title><style>{style}</style>" + "\n".join(body)


def build_report(run_dirs: list[str | Path], out: str | Path, n_boot: int = 1000) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [score_run(Path(r), n_boot) for r in run_dirs]
    points = quadrant_points(runs)
    png = out / "quadrant.png" if points else None
    if png is not None:
        plot_quadrant(points, png)
    md = render_markdown(runs, png.name if png else None)
    for name, text in (("report.md", md), ("report.html", render_html(md, png)),
                       ("scores.json", json.dumps({"runs": runs, "quadrant": points}, ensure_ascii=False, indent=2))):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out / name)
    return {"runs": runs, "quadrant": points}
