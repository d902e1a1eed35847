"""The sample browser: one static HTML file (no server, no network) with thumbnails embedded, the text
(``dir="auto"``: Arabic reads right to left), source, scores and split of samples, and excluded records
with their reason; filters by language, source, split and reason."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

from mella.shards import iter_rows

SCORES = ("lid_score", "align_score", "qa_similarity", "qa_length_ratio", "alt_page_count")


def thumbnail(path: Path | None, size: int = 160) -> str | None:
    """A small JPEG of the image as a data: URL (None if there is no readable image)."""
    if path is None:
        return None
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.thumbnail((size, size))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="JPEG", quality=70)
    except OSError:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _item(kind: str, row: dict, thumb: str | None, **extra) -> dict:
    # a record dropped before language ID is shown under its page's language, as the counts are
    lang = row.get("lang") or ((row.get("page_lang") or "").split("-")[0].lower() or "und")
    return {"kind": kind, "lang": lang, "thumb": thumb, "image_url": row.get("image_url"),
            "page_url": row.get("page_url"), **extra}


def collect(ds, per_group: int = 200) -> list[dict]:
    """Samples (up to ``per_group`` per language x source x split) and excluded or unusable records (up to
    ``per_group`` per reason)."""
    from mella.table import stage_folders

    items: list[dict] = []
    taken: dict[tuple, int] = {}

    def room(key) -> bool:
        taken[key] = taken.get(key, 0) + 1
        return taken[key] <= per_group

    records = {}
    for row in iter_rows(ds.records):
        records[row["id"]] = row
    for s in ds.samples():
        if not room(("sample", s["lang"], s["source"], s["split"])):
            continue
        row = records.get(s["record_id"], {})
        scores = {k: row.get(k) for k in SCORES if row.get(k) is not None}
        items.append(_item("sample", s, thumbnail(ds.image_path(s)), source=s["source"], split=s["split"],
                           instruction=s["instruction"], text=s["response"], template=s["template_id"],
                           scores=scores, native=row.get("text") if s["source"] == "d_ling" else None))
    for row in records.values():
        for source, key in (("d_know", "know_reason"), ("d_ling", "ling_reason")):
            reason = row.get(key)
            if reason and reason not in ("no_caption", "no_translation") and room(("unusable", reason)):
                image = ds.image_path({"sha256": row.get("sha256"), "image_ext": row.get("image_ext")})
                items.append(_item("excluded", row, thumbnail(image), source=source, split=row.get("split"),
                                   reason=f"{source}: {reason}", stage="select",
                                   text=row.get("text") if source == "d_know" else row.get("translation"),
                                   scores={k: row.get(k) for k in SCORES if row.get(k) is not None}))
    for stage, folder in stage_folders(ds.path):
        for row in iter_rows(folder / "excluded", prefix="excluded"):
            if room(("excluded", row.get("reason"))):
                items.append(_item("excluded", row, None, source="", split="", reason=row.get("reason"),
                                   stage=stage, text=row.get("text"),
                                   scores={k: row.get(k) for k in SCORES if row.get(k) is not None}))
    return items


def write_browser(dataset: str | Path, out: str | Path | None = None, per_group: int = 200) -> Path:
    from mella.dataset.folder import open_dataset

    ds = open_dataset(dataset, "browse")
    items = collect(ds, per_group)
    path = Path(out) if out else ds.path / "browse.html"
    if path.is_dir():
        path = path / "browse.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(items, ds.path.name), encoding="utf-8")
    os.replace(tmp, path)
    return path


def render(items: list[dict], title: str) -> str:
    data = json.dumps(items, ensure_ascii=False).replace("</", "<\\/")
    return PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mella browser: __TITLE__</title>
<style>
body{font-family:system-ui,sans-serif;margin:1em;background:#fafafa;color:#222}
header{position:sticky;top:0;background:#fafafa;padding:.5em 0;border-bottom:1px solid #ddd}
label{margin-right:1em;font-size:.9em}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:.8em;margin-top:.8em}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6em;display:flex;gap:.6em}
.card.excluded{border-color:#e0a0a0;background:#fff7f7}
.card img{width:120px;height:120px;object-fit:cover;border-radius:4px;flex:none}
.noimg{width:120px;height:120px;background:#eee;color:#888;font-size:.7em;display:flex;align-items:center;
justify-content:center;text-align:center;flex:none;overflow:hidden;word-break:break-all}
.meta{font-size:.75em;color:#555}.tag{display:inline-block;padding:0 .4em;border-radius:3px;margin-right:.3em;
background:#e8eef8}.tag.d_ling{background:#f8e8ee}.tag.reason{background:#f4d0d0}
.text{margin:.3em 0;font-size:.95em}.instr{font-size:.8em;color:#666}
.card>div{min-width:0}.card a{display:block;word-break:break-all;max-height:3.6em;overflow:hidden}
</style></head><body>
<header><strong>mella</strong> · __TITLE__ ·
<label>language <select id="f-lang"></select></label>
<label>source <select id="f-source"></select></label>
<label>split <select id="f-split"></select></label>
<label>reason <select id="f-reason"></select></label>
<span id="count"></span></header>
<div id="grid"></div>
<script id="data" type="application/json">__DATA__</script>
<script>
const items = JSON.parse(document.getElementById('data').textContent);
const filters = {lang: 'f-lang', source: 'f-source', split: 'f-split', reason: 'f-reason'};
function value(item, key) {
  if (key === 'source') return item.kind === 'excluded' ? 'excluded' : item.source;
  if (key === 'reason') return item.kind === 'excluded' ? item.reason : '(usable sample)';
  return item[key] || '';
}
for (const [key, id] of Object.entries(filters)) {
  const select = document.getElementById(id);
  const values = [...new Set(items.map(i => value(i, key)))].filter(v => v !== '').sort();
  select.add(new Option('all', ''));
  for (const v of values) select.add(new Option(v, v));
  select.addEventListener('change', render);
}
function readable(url) { try { return decodeURI(url); } catch (e) { return url; } }
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text; return e; }
function render() {
  const wanted = Object.fromEntries(Object.entries(filters).map(([k, id]) => [k, document.getElementById(id).value]));
  const grid = document.getElementById('grid');
  grid.replaceChildren();
  let shown = 0;
  for (const item of items) {
    if (Object.entries(wanted).some(([k, v]) => v && value(item, k) !== v)) continue;
    shown++;
    const card = el('div', 'card ' + item.kind);
    card.dataset.lang = item.lang; card.dataset.source = value(item, 'source');
    if (item.thumb) { const img = el('img'); img.src = item.thumb; img.alt = ''; card.append(img); }
    else card.append(el('div', 'noimg', item.image_url || 'no image'));
    const body = el('div');
    const meta = el('div', 'meta');
    meta.append(el('span', 'tag', item.lang));
    if (item.source) meta.append(el('span', 'tag ' + item.source, item.source));
    if (item.split) meta.append(el('span', 'tag', item.split));
    if (item.reason) meta.append(el('span', 'tag reason', item.reason + (item.stage ? ' (' + item.stage + ')' : '')));
    body.append(meta);
    if (item.instruction) { const q = el('div', 'instr', item.instruction); q.dir = 'auto'; body.append(q); }
    const t = el('div', 'text', item.text || ''); t.dir = 'auto'; body.append(t);
    if (item.native) { const n = el('div', 'instr', 'native: ' + item.native); n.dir = 'auto'; body.append(n); }
    const scores = Object.entries(item.scores || {}).map(([k, v]) => k + ' ' +
      (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v));
    if (scores.length) body.append(el('div', 'meta', scores.join(' · ')));
    if (item.page_url) { const a = el('a', 'meta', readable(item.page_url)); a.href = item.page_url; a.target = '_blank';
      a.rel = 'noopener noreferrer'; body.append(a); }
    card.append(body);
    grid.append(card);
  }
  document.getElementById('count').textContent = shown + ' of ' + items.length + ' shown';
}
render();
</script></body></html>
"""
