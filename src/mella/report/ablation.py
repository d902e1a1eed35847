"""The ablation's report: per language, culture (keyword accuracy on native text) and language (METEOR on
translated captions) for base and each variant, with bootstrap intervals; gains over base with paired
bootstrap intervals (the same items for every run); and which source each gain comes from.
Markdown + HTML + PNG + JSON."""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

ORDER = ("base", "d_know", "d_ling", "both")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def interval(values: list[float], n: int, seed: int = 0) -> tuple[float, float]:
    rng = random.Random(seed)
    k = len(values)
    means = sorted(sum(values[rng.randrange(k)] for _ in range(k)) / k for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def paired_interval(a: list[float], b: list[float], n: int, seed: int = 0) -> tuple[float, float]:
    """95% interval of mean(a - b) over items resampled together (a and b score the same items)."""
    return interval([x - y for x, y in zip(a, b)], n, seed)


def item_table(runs: dict[str, Path]) -> dict:
    """{lang: {kind: {run: {"ids": [...], "values": [...]}}}} on the items every run answered."""
    from mella.eval.metrics import MAX_CHARS
    from mella.eval.report import item_scores
    from mella.eval.runner import read_outputs
    from mella.eval.tasks import load_task

    out: dict = {}
    meta = {name: json.loads((path / "run.json").read_text(encoding="utf-8")) for name, path in runs.items()}
    tasks = sorted({t for m in meta.values() for t in m["tasks"]})
    for task_name in tasks:
        task = load_task(next(m["tasks"][task_name] for m in meta.values() if task_name in m["tasks"]))
        produced = {name: read_outputs(path, task_name) for name, path in runs.items()}
        items = [i for i in task.items() if all(i["id"] in p and len(p[i["id"]]) <= MAX_CHARS for p in produced.values())]
        if not items:
            continue
        metric = "keyword_acc" if task.kind == "culture" else "meteor"
        lang = task.lang
        for name in runs:
            scores = item_scores([produced[name][i["id"]] for i in items], items, lang)
            out.setdefault(lang, {}).setdefault(task.kind, {})[name] = {"metric": metric, "values": scores[metric],
                                                                        "n": len(items)}
    return out


def summarise(table: dict, n_boot: int) -> dict:
    rows: dict = {}
    for lang, kinds in sorted(table.items()):
        for kind, per_run in kinds.items():
            base = per_run.get("base")
            for name, entry in per_run.items():
                values = entry["values"]
                row = {"metric": entry["metric"], "n": entry["n"], "mean": _mean(values), "ci": interval(values, n_boot)}
                if base is not None and name != "base":
                    row["gain"] = _mean(values) - _mean(base["values"])
                    row["gain_ci"] = paired_interval(values, base["values"], n_boot)
                rows.setdefault(lang, {}).setdefault(kind, {})[name] = row
    return rows


def attribution(rows: dict, table: dict, n_boot: int = 1000) -> dict[str, str]:
    """Per language, which source the culture and the language gains come from: the variant with the larger
    gain, and whether the paired interval of the two variants' difference excludes zero."""
    notes = {}
    for lang, kinds in rows.items():
        parts = []
        for kind, expected in (("culture", "d_know"), ("language", "d_ling")):
            runs = kinds.get(kind, {})
            gains = {n: r["gain"] for n, r in runs.items() if "gain" in r and n in ("d_know", "d_ling")}
            if len(gains) < 2:
                continue
            if abs(gains["d_know"] - gains["d_ling"]) < 1e-9:
                parts.append(f"{kind}: d_know and d_ling gain the same ({gains['d_know']:+.1f})")
                continue
            best = max(gains, key=gains.get)
            other = "d_ling" if best == "d_know" else "d_know"
            values = table[lang][kind]
            low, _ = paired_interval(values[best]["values"], values[other]["values"], n_boot)
            sure = "clearly" if low > 0 else "not clearly (the paired interval includes 0)"
            verdict = "as MELLA predicts" if best == expected else "unlike MELLA's prediction"
            parts.append(f"{kind} gain comes {sure} from {best} ({gains[best]:+.1f} vs {gains[other]:+.1f}), {verdict}")
        if parts:
            notes[lang] = "; ".join(parts)
    return notes


def write_ablation_report(runs: dict[str, Path], out: Path, n_boot: int = 1000, **context) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    table = item_table(runs)
    rows = summarise(table, n_boot)
    notes = attribution(rows, table, n_boot)
    png = _plot(rows, out / "ablation.png")
    md = _markdown(rows, notes, context, png.name if png else None)
    (out / "ablation.md").write_text(md, encoding="utf-8")
    (out / "ablation.html").write_text(_html(md, rows, notes, context, png), encoding="utf-8")
    result = {"rows": rows, "attribution": notes, **{k: v for k, v in context.items()}}
    (out / "ablation.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return {"markdown": str(out / "ablation.md"), "html": str(out / "ablation.html"),
            "png": str(png) if png else None}


def _cell(row: dict | None, gain: bool = True) -> str:
    if row is None:
        return "–"
    text = f"{row['mean']:.1f} [{row['ci'][0]:.1f}, {row['ci'][1]:.1f}]"
    if gain and "gain" in row:
        text += f" ({row['gain']:+.1f} [{row['gain_ci'][0]:+.1f}, {row['gain_ci'][1]:+.1f}])"
    return text


def _runs(rows: dict) -> list[str]:
    names = {n for kinds in rows.values() for per_run in kinds.values() for n in per_run}
    return [n for n in ORDER if n in names] + sorted(names - set(ORDER))


def _markdown(rows: dict, notes: dict, context: dict, png: str | None) -> str:
    names = _runs(rows)
    lines = ["# MELLA ablation: what each source teaches", "",
             f"Base model: `{context.get('base')}`. Every variant was trained on the same number of samples per "
             f"language ({', '.join(f'{k}: {v}' for k, v in context.get('budget', {}).items())}) for "
             f"{context.get('steps')} steps with the same seed; all runs answer the same test-split items.", "",
             "**Culture** = keyword accuracy against the native alt-text (test d_know samples); **language** = "
             "METEOR against the translated caption (test d_ling samples). Cells: mean [95% bootstrap interval] "
             "(gain over base [paired 95% interval]).", "",
             "| language | score | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for lang, kinds in rows.items():
        for kind in ("culture", "language"):
            if kind in kinds:
                n = next(iter(kinds[kind].values()))["n"]
                lines.append(f"| {lang} | {kind} (n={n}) | " + " | ".join(_cell(kinds[kind].get(m)) for m in names) + " |")
    lines += ["", "## Where the gains come from", ""]
    lines += [f"- **{lang}**: {note}" for lang, note in notes.items()] or ["- (needs both d_know and d_ling variants)"]
    small = sorted({lang for lang, kinds in rows.items() for k in kinds.values() for r in k.values() if r["n"] < 30})
    if small:
        lines += ["", f"Warning: fewer than 30 test items for {', '.join(small)}: the intervals are wide; read the "
                      "gains as indicative only."]
    if png:
        lines += ["", f"![culture and language per variant]({png})"]
    lines.append("")
    return "\n".join(lines)


def _html(md: str, rows: dict, notes: dict, context: dict, png: Path | None) -> str:
    import base64

    names = _runs(rows)
    body = ["<h1>MELLA ablation: what each source teaches</h1>",
            f"<p>Base model: <code>{html.escape(str(context.get('base')))}</code>; {context.get('steps')} steps per "
            "variant, equal samples per language, same seed and items.</p>",
            "<table><tr><th>language</th><th>score</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"]
    for lang, kinds in rows.items():
        for kind in ("culture", "language"):
            if kind in kinds:
                body.append(f"<tr><td>{html.escape(lang)}</td><td>{kind}</td>"
                            + "".join(f"<td>{html.escape(_cell(kinds[kind].get(m)))}</td>" for m in names) + "</tr>")
    body.append("</table><h2>Where the gains come from</h2><ul>")
    body += [f"<li><b>{html.escape(lang)}</b>: {html.escape(note)}</li>" for lang, note in notes.items()]
    body.append("</ul>")
    if png is not None:
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        body.append(f'<img alt="culture and language per variant" src="data:image/png;base64,{data}">')
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.3em .6em;font-size:.9em}img{max-width:100%}")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MELLA ablation</title>'
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


def _plot(rows: dict, path: Path) -> Path | None:
    from mella.report.plots import _plt, _save

    names = _runs(rows)
    langs = [lang for lang, kinds in rows.items() if kinds]
    if not langs:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5 + 0.2 * len(langs)), squeeze=False)
    for ax, kind, title in ((axes[0, 0], "culture", "culture (keyword accuracy)"),
                            (axes[0, 1], "language", "language (METEOR)")):
        width = 0.8 / max(1, len(names))
        for k, name in enumerate(names):
            xs, ys, errs = [], [], [[], []]
            for i, lang in enumerate(langs):
                row = rows[lang].get(kind, {}).get(name)
                if row is None:
                    continue
                xs.append(i + k * width)
                ys.append(row["mean"])
                errs[0].append(max(0.0, row["mean"] - row["ci"][0]))
                errs[1].append(max(0.0, row["ci"][1] - row["mean"]))
            if xs:
                ax.bar(xs, ys, width=width, yerr=errs, capsize=2, label=name)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(langs))], langs)
        ax.set_title(title)
    axes[0, 1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(fig, path)
    return path
