"""Dataset card (README.md with Hugging Face YAML front matter) for a mined D_know directory."""

from __future__ import annotations

import os
from pathlib import Path

from mella.languages import Language
from mella.shards import iter_rows


def _examples(out: Path, per_lang: int = 3) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in iter_rows(out, ["lang", "script", "text", "image_url", "page_url"]):
        bucket = found.setdefault(row["lang"], [])
        if len(bucket) < per_lang:
            bucket.append(row)
    return found


def _cell(text: str | None, limit: int = 90) -> str:
    text = (text or "").replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_card(out: Path, summary: dict, languages: dict[str, Language], inputs: list[str]) -> str:
    kept = summary["kept_by_lang"]
    dropped = summary["dropped_by_lang"]
    lines = ["---", "language:"]
    lines += [f"- {code}" for code in languages]
    lines += ["task_categories:", "- image-to-text", "tags:", "- mella", "- alt-text", "- d_know",
              "configs:", "- config_name: default", "  data_files:", "  - split: train", "    path: train-*.parquet",
              "---", "", "# D_know candidates mined by mella", "",
              "Image URLs with the alt-text native speakers wrote for them on web pages, filtered by `mella mine` "
              "(MELLA's culture source, D_know). Images are not fetched yet. Every dropped record is in `excluded/` "
              "with its reason; `stats.json` has all counters.", "",
              f"Inputs: {', '.join(f'`{Path(i).name}`' for i in inputs[:10])}"
              + (f" and {len(inputs) - 10} more" if len(inputs) > 10 else ""), "",
              "## Per language", "", "| language | kept | dropped | top drop reasons |", "|---|---:|---:|---|"]
    for code, lang in languages.items():
        reasons = dropped.get(code, {})
        top = ", ".join(f"{r} {n}" for r, n in list(reasons.items())[:4])
        lines.append(f"| {lang.name} (`{code}`) | {kept.get(code, 0)} | {sum(reasons.values())} | {top} |")
    lines += ["", f"Kept {summary['kept_total']} records; dropped {summary['dropped_total']}.", "",
              "## Drop reasons", "", "| reason | records |", "|---|---:|"]
    lines += [f"| `{reason}` | {n} |" for reason, n in summary["dropped_by_reason"].items()]
    lines += ["", "What each reason means: mella's docs/mining.md.", "", "## Examples", ""]
    for code, rows in _examples(out).items():
        lines += [f"**{code}**", "", "| alt-text | image | page |", "|---|---|---|"]
        lines += [f"| {_cell(r['text'])} | {_cell(r['image_url'], 60)} | {_cell(r['page_url'], 60)} |" for r in rows]
        lines.append("")
    lines += ["## Licence", "", "Alt-texts and images remain their publishers'; check each page's terms before "
              "redistributing. This card was written by mella.", ""]
    return "\n".join(lines)


def write_card(out: Path, summary: dict, languages: dict[str, Language], inputs: list[str]) -> Path:
    path = out / "README.md"
    tmp = out / ".README.md.tmp"
    tmp.write_text(render_card(out, summary, languages, inputs), encoding="utf-8")
    os.replace(tmp, path)
    return path


# -- the composed dataset's card -----------------------------------------------------------------------

def _stage_stats(dataset: Path) -> dict[str, dict]:
    import json

    from mella.table import stage_folders

    out = {}
    for stage, folder in stage_folders(dataset):
        if (folder / "stats.json").is_file():
            out[stage] = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    return out


def funnel(stats: dict[str, dict], dataset_stats: dict) -> dict[str, list[tuple[str, int, dict]]]:
    """Per language: (step, records after it, drop reasons at it) from mining to samples."""
    mine = stats.get("mine", {})
    langs = sorted(set(dataset_stats.get("samples_by_lang", {})) | set(mine.get("kept_by_lang", {}))
                   | set(dataset_stats.get("decisions_by_source", {}).get("d_know", {}))
                   | {lang for lang in mine.get("dropped_by_lang", {}) if lang in mine.get("langs", ())})
    out: dict[str, list] = {}
    for lang in langs:
        rows = []
        mine = stats.get("mine")
        if mine:
            kept = mine.get("kept_by_lang", {}).get(lang, 0)
            reasons = mine.get("dropped_by_lang", {}).get(lang, {})
            rows.append(("texts found (by identified language, or the page's before identification)",
                         kept + sum(reasons.values()), {}))
            rows.append(("kept by mining", kept, reasons))
        fetch = stats.get("fetch")
        if fetch:
            rows.append(("images fetched and kept", fetch.get("kept_by_lang", {}).get(lang, 0),
                         fetch.get("dropped_by_lang", {}).get(lang, {})))
        for source, label in (("d_know", "usable as D_know"), ("d_ling", "usable as D_ling")):
            reasons = dict(dataset_stats.get("decisions_by_source", {}).get(source, {}).get(lang, {}))
            usable = reasons.pop("usable", 0)
            if usable or reasons:
                rows.append((label, usable, reasons))
        samples = dataset_stats.get("samples_by_lang", {}).get(lang, {})
        left_out = dataset_stats.get("not_sampled", {}).get(lang, {})
        for source in ("d_know", "d_ling"):
            n = sum(samples.get(source, {}).values())
            if n or left_out.get(source):
                mixing = {"mixing (one sample per image, quota, share)": left_out[source]} if left_out.get(source) else {}
                rows.append((f"{source} samples (all splits, after mixing)", n, mixing))
        out[lang] = rows
    return out


def keyword_coverage(samples: list[dict], top: int = 20, min_count: int = 2) -> dict[str, dict]:
    """Per language: the keywords (content words, names) most frequent in D_know samples, with their share
    of D_know and of D_ling samples. What is frequent in native text but rare in translated captions is
    the culture that translation alone would miss."""
    from collections import Counter

    from mella.eval.keywords import keywords, stemmer
    from mella.eval.tokenize import MissingDependency, normalise

    by_lang: dict[str, dict[str, list[str]]] = {}
    for s in samples:
        by_lang.setdefault(s["lang"], {}).setdefault(s["source"], []).append(s["response"])
    out: dict[str, dict] = {}
    for lang, texts in sorted(by_lang.items()):
        know, ling = texts.get("d_know", []), texts.get("d_ling", [])
        if not know:
            continue
        stem = stemmer(lang)

        def key(word: str) -> str:
            norm = normalise(word, lang)
            return " ".join(stem(w) for w in norm.split()) if stem else norm

        try:
            know_df, surface = Counter(), {}
            for text in know:
                keys = set()
                for kw in keywords(text, lang):
                    k = key(kw)
                    keys.add(k)
                    surface.setdefault(k, kw)
                know_df.update(keys)
            ling_df = Counter()
            for text in ling:
                ling_df.update({key(kw) for kw in keywords(text, lang)})
        except MissingDependency as e:
            out[lang] = {"error": str(e)}
            continue
        frequent = [(k, n) for k, n in know_df.most_common() if n >= min_count][:top]
        rows = [(surface[k], n / len(know), ling_df.get(k, 0) / len(ling) if ling else 0.0) for k, n in frequent]
        absent = [k for k, _ in know_df.most_common(100) if not ling_df.get(k)]
        out[lang] = {"rows": rows, "d_know": len(know), "d_ling": len(ling),
                     "absent_share_top100": len(absent) / max(1, min(100, len(know_df)))}
    return out


def write_dataset_card(dataset: str | Path) -> Path:
    """DATASET/README.md (Hugging Face card) + DATASET/plots/*.png."""
    import json

    from mella.dataset.folder import open_dataset

    ds = open_dataset(dataset, "card")
    stats = _stage_stats(ds.path)
    dstats = json.loads((ds.path / "stats.json").read_text(encoding="utf-8"))
    samples = ds.samples()
    coverage = keyword_coverage(samples)
    plots = _plots(ds, stats, dstats, coverage)
    text = render_dataset_card(ds, stats, dstats, samples, plots, coverage)
    path = ds.path / "README.md"
    tmp = ds.path / ".README.md.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _plots(ds, stats: dict, dstats: dict, coverage: dict) -> dict[str, str]:
    from mella.report import plots

    folder = ds.path / "plots"
    lid, align, length = {}, {}, {}
    for row in iter_rows(ds.records):
        lang = row.get("lang") or "und"
        if row.get("lid_score") is not None:
            lid.setdefault(lang, []).append(row["lid_score"])
        if row.get("align_score") is not None:
            align.setdefault(lang, []).append(row["align_score"])
        unit = "alt_letters" if lang in ("ar", "ko", "th") else "alt_words"
        if row.get(unit) is not None:
            length.setdefault(f"{lang} ({unit.removeprefix('alt_')})", []).append(row[unit])
    made = {
        "lid": plots.histograms(lid, "Language-ID score of the native text", "probability", folder / "lid_score.png",
                                value_range=(0, 1)),
        "align": plots.histograms(align, "Image-text alignment of the native text", "cosine similarity",
                                  folder / "align_score.png"),
        "length": plots.histograms(length, "Native text length", "length", folder / "text_length.png", bins=30),
        "download": plots.bars(stats.get("fetch", {}).get("dropped_by_reason", {}), "Images refused, by reason",
                               folder / "download_errors.png"),
    }
    rates = _qa_pass_rates(dstats)
    made["qa"] = plots.pass_rates(rates, "Caption and translation QA: pass rate per check", folder / "qa_pass_rates.png")
    for lang, cov in coverage.items():
        if cov.get("rows"):
            made[f"coverage_{lang}"] = plots.coverage(cov["rows"], lang, folder / f"keyword_coverage_{lang}.png")
    return {k: f"plots/{v}" for k, v in made.items() if v}


QA_CHECKS = ("caption_refusal", "caption_not_english", "caption_too_short", "caption_repetition",
             "caption_low_alignment", "mt_wrong_language", "mt_untranslated", "mt_repetition", "mt_truncated",
             "mt_numbers_lost", "mt_low_similarity")


def _qa_pass_rates(dstats: dict) -> dict[str, dict[str, float]]:
    """Per caption and translation QA check, the share of each language's captioned records that it did not
    reject (a record counts against its first failing check)."""
    from mella.steps.select import QA_REASONS

    checks = tuple(c for c in QA_CHECKS if c.startswith("caption_")) + tuple(QA_REASONS.values())
    rates: dict[str, dict[str, float]] = {}
    for lang, reasons in dstats.get("decisions_by_source", {}).get("d_ling", {}).items():
        translated = sum(n for r, n in reasons.items() if r == "usable" or r in checks)
        if not translated:
            continue
        for check in checks:
            rates.setdefault(check, {})[lang] = 1 - reasons.get(check, 0) / translated
    return rates


def render_dataset_card(ds, stats: dict, dstats: dict, samples: list[dict], plots: dict[str, str],
                        coverage: dict) -> str:
    from mella.dataset.folder import SPLITS

    langs = sorted({s["lang"] for s in samples} | set(dstats.get("samples_by_lang", {})))
    n = len(samples)
    size = "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K" if n < 100_000 else "100K<n<1M"
    lines = ["---", "language:"] + [f"- {lang}" for lang in langs] + [
        "license: other", "task_categories:", "- image-to-text", "- visual-question-answering",
        f"size_categories:\n- {size}", "tags:", "- mella", "- d_know", "- d_ling", "- multilingual",
        "configs:", "- config_name: default", "  data_files:"]
    for split in SPLITS:  # only splits that have samples: datasets cannot load an empty one
        if any((ds.path / "samples").glob(f"{split}-*.parquet")):
            lines += [f"  - split: {split}", f"    path: samples/{split}-*.parquet"]
    lines += ["---", "", "# A MELLA dataset (made by mella)", "",
              "Instruction samples that teach a multimodal LLM both halves of a language, after the MELLA method "
              "(arXiv 2508.05502): **D_know** pairs images with the alt-text and captions native speakers wrote "
              "for them on the web (culture: names, places, dishes, events); **D_ling** pairs images with a "
              "detailed caption by an MLLM, machine-translated into the language (language: fluent, complete "
              "descriptions). Every sample keeps its `source`, `lang`, `script`, image hash and web domain.", "",
              f"Stages: {', '.join(ds.manifest.get('stages', []))}. Samples: `samples/<split>-*.parquet`; "
              "the records they come from (every column of every stage): `records/`; images: the content-"
              "addressed store named in `table.json`. Browse: `browse.html`.", "",
              "## Samples per language, source and split", "",
              "| language | source | train | validation | test |", "|---|---|---:|---:|---:|"]
    for lang, by_source in sorted(dstats.get("samples_by_lang", {}).items()):
        for source, counts in sorted(by_source.items()):
            lines.append(f"| {lang} | {source} | " + " | ".join(str(counts.get(s, 0)) for s in SPLITS) + " |")
    if not dstats.get("samples_by_lang"):
        lines.append("| (none) | | 0 | 0 | 0 |")
    split_report = dstats.get("splits", {})
    lines += ["", "## Splits without leakage", "",
              "Records that share what `group_by` names (`image`: the same image; `near_image`: pHash within "
              f"{split_report.get('phash_distance')} bits; `domain`: the same web site) form one group, and a group "
              f"is in one split only. Grouped by: {', '.join(split_report.get('group_by', []))}. "
              f"{split_report.get('groups', 0)} groups; the largest hold "
              f"{', '.join(map(str, split_report.get('largest_groups', [])))} records.", "",
              "| language | records | groups | largest group | train | validation | test | note |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    for lang, e in split_report.get("by_lang", {}).items():
        lines.append(f"| {lang} | {e['records']} | {e['groups']} | {e['largest_group']} | {e['train']} | "
                     f"{e['validation']} | {e['test']} | {e.get('warning', '')} |")
    reader = next((c for name, c in stats.get("mine", {}).get("steps", {}).items() if name.endswith("mella input")), {})
    lines += ["", "## From pages to samples", "",
              f"Read: {reader.get('input_files', 0)} input files, {reader.get('pages', 0)} HTML pages, "
              f"{reader.get('pairs', 0)} ready image-text pairs. "
              "Per language, the records left after each step and why the others were dropped "
              "(every reason: mella's docs/mining.md, docs/images.md, docs/dataset.md).", ""]
    for lang, rows in funnel(stats, dstats).items():
        lines += [f"**{lang}**", "", "| step | records | dropped here (reason: count) |", "|---|---:|---|"]
        for step, count, reasons in rows:
            why = ", ".join(f"`{r}` {c}" for r, c in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"| {step} | {count} | {why} |")
        lines.append("")
    lines += ["## Cultural keyword coverage", "",
              "Content words and names most frequent in D_know (native) samples, and how often the D_ling "
              "(translated) samples of the same language mention them: what translation alone would miss.", ""]
    for lang, cov in coverage.items():
        if "error" in cov:
            lines += [f"**{lang}**: not computed ({cov['error']})", ""]
            continue
        versus = (f"{cov['absent_share_top100']:.0%} of the top D_know keywords never appear in D_ling" if cov["d_ling"]
                  else "no D_ling samples to compare with: the keywords below are D_know's alone")
        lines += [f"**{lang}** ({cov['d_know']} D_know, {cov['d_ling']} D_ling samples; {versus})", "",
                  "| keyword | share of D_know | share of D_ling |", "|---|---:|---:|"]
        lines += [f"| {_cell(k, 40)} | {a:.1%} | {b:.1%} |" for k, a, b in cov["rows"]]
        if f"coverage_{lang}" in plots:
            lines += ["", f"![keyword coverage {lang}]({plots[f'coverage_{lang}']})"]
        lines.append("")
    lines += ["## Plots", ""]
    for key, title in (("lid", "Language-ID score"), ("align", "Alignment score"), ("length", "Text length"),
                       ("qa", "Translation QA pass rates"), ("download", "Download errors")):
        lines += [f"![{title}]({plots[key]})" if key in plots else f"{title}: nothing to plot (stage not run).", ""]
    lines += ["", "## Examples", ""]
    shown: dict[tuple, int] = {}
    lines += ["| lang | source | instruction | response |", "|---|---|---|---|"]
    for s in samples:
        k = (s["lang"], s["source"])
        if shown.get(k, 0) < 2:
            shown[k] = shown.get(k, 0) + 1
            lines.append(f"| {s['lang']} | {s['source']} | {_cell(s['instruction'], 60)} | {_cell(s['response'])} |")
    lines += ["", "## Licence", "", "Alt-texts and images remain their publishers'; D_ling captions and translations "
              "are model outputs (see `caption_model`, `translation_model` in `records/`). Check each source's terms "
              "before redistributing. This card was written by mella.", ""]
    return "\n".join(lines)
