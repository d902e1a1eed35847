"""Dataset card (README.md with Hugging Face YAML front matter) for a mined D_know directory."""

from __future__ import annotations

import os
from pathlib import Path

from mella.languages import Language
from mella.shards import iter_rows


def _examples(out: Path, per_lang: int = 3) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in iter_rows(out, ["lang", "script", "alt_text", "image_url", "page_url"]):
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
        lines += [f"| {_cell(r['alt_text'])} | {_cell(r['image_url'], 60)} | {_cell(r['page_url'], 60)} |" for r in rows]
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
