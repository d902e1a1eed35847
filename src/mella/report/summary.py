"""Plain-text per-language summary table of a mining run."""

from __future__ import annotations


def format_summary(summary: dict, langs: list[str], top_reasons: int = 3) -> str:
    kept = summary.get("kept_by_lang", {})
    dropped = summary.get("dropped_by_lang", {})
    rows = [("lang", "kept", "dropped", "top drop reasons")]
    others = sorted(set(dropped) - set(langs), key=lambda lang: (-sum(dropped[lang].values()), lang))
    for lang in list(langs) + others:
        reasons = dropped.get(lang, {})
        n_dropped = sum(reasons.values())
        if lang not in langs and not n_dropped:
            continue
        top = ", ".join(f"{r} {n}" for r, n in list(reasons.items())[:top_reasons])
        rows.append((lang if lang in langs else f"({lang})", str(kept.get(lang, 0)), str(n_dropped), top))
    rows.append(("total", str(summary.get("kept_total", 0)), str(summary.get("dropped_total", 0)), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in
                               enumerate(zip(row[:3], widths))) + "  " + row[3])
        if i == 0 or i == len(rows) - 2:
            lines.append("-" * (sum(widths) + 6 + max(len(r[3]) for r in rows)))
    lines.append("(languages in parentheses are not targets: their records were dropped)")
    return "\n".join(lines)


def decisions_table(decisions: dict) -> str:
    lines = [f"{'lang':8s} {'source':7s} {'usable':>7s}  not usable (reason)"]
    for source in ("know", "ling"):
        for lang, reasons in sorted(decisions.get(source, {}).items()):
            usable = reasons.get("ok", reasons.get("usable", 0))
            rest = ", ".join(f"{r} {n}" for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
                             if r not in ("ok", "usable"))
            lines.append(f"{lang:8s} d_{source:5s} {usable:7d}  {rest}")
    return "\n".join(lines)


def samples_table(summary: dict) -> str:
    lines = [f"{'lang':8s} {'source':7s} {'train':>7s} {'val':>6s} {'test':>6s}"]
    for lang, by_source in sorted(summary["samples_by_lang"].items()):
        for source, n in sorted(by_source.items()):
            lines.append(f"{lang:8s} {source:7s} {n.get('train', 0):7d} {n.get('validation', 0):6d} {n.get('test', 0):6d}")
    for lang, entry in summary["splits"]["by_lang"].items():
        if "warning" in entry:
            lines.append(f"warning ({lang}): {entry['warning']}")
    lines.append(f"total: {summary['samples']} samples from {summary['records']} records, "
                 f"{summary['splits']['groups']} leakage groups; decisions by {summary.get('decided_by', '?')}")
    return "\n".join(lines)
