"""Language ID on professional translations (NTREX-128 newstest2019 references, line-aligned with English):
per target language, the share identified as that language by text alone and with the language as a prior
(how translation QA and the evaluation's fidelity ask), and how many texts of the other languages (and the
English source) the prior wrongly accepts.

Usage: python bench/lid.py [NTREX_DIR] [--lines N]
(default: ../shared/real-data/ntrex if present, else tests/data/ntrex, 300 lines per file)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = {"ar": "arb", "cs": "ces", "hu": "hun", "ko": "kor", "ru": "rus", "sr-Cyrl": "srp-Cyrl",
         "sr-Latn": "srp-Latn", "th": "tha", "vi": "vie"}


def load(root: Path, limit: int | None) -> dict[str, list[str]]:
    texts = {}
    for lang, code in FILES.items() | {("en", None)}:
        name = "newstest2019-src.eng.txt" if code is None else f"newstest2019-ref.{code}.txt"
        lines = [line for line in (root / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        texts[lang] = lines[:limit] if limit else lines
    return texts


def measure(texts: dict[str, list[str]]) -> dict[str, dict]:
    from mella.languages import default_table
    from mella.lid import Identifier, identify_as

    table = default_table()
    plain = Identifier()
    out = {}
    for lang in FILES:
        code, _, script = lang.partition("-")
        target = table[code]
        group = set(target.lid_labels) | set(target.confusable.get(script or target.scripts[0], []))
        wrong: Counter = Counter()
        alone = 0
        for text in texts[lang]:
            d = plain(text)
            if d.label in group and (not script or d.script == script):
                alone += 1
            else:
                wrong[d.label] += 1
        with_prior = sum(identify_as(t, target, script or None)[0] for t in texts[lang])
        accepted = {other: sum(identify_as(t, target, script or None)[0] for t in lines)
                    for other, lines in texts.items() if other.split("-")[0] != code}
        n = len(texts[lang])
        out[lang] = {"n": n, "text_alone": alone / n, "with_prior": with_prior / n, "confused_with": dict(wrong.most_common(4)),
                     "accepted_from_others": {k: v for k, v in accepted.items() if v}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?", type=Path)
    ap.add_argument("--lines", type=int, default=None, help="first N lines per file (default: all)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    root = args.root or next(p for p in (ROOT.parent / "shared" / "real-data" / "ntrex", ROOT / "tests" / "data" / "ntrex")
                             if p.is_dir())
    result = measure(load(root, args.lines))
    print(f"NTREX references from {root}")
    print(f"{'lang':8s} {'n':>5s} {'text alone':>10s} {'with prior':>10s}  confused with (text alone) / others accepted under the prior")
    for lang, r in result.items():
        print(f"{lang:8s} {r['n']:5d} {r['text_alone']:10.4f} {r['with_prior']:10.4f}  {r['confused_with']} / "
              f"{r['accepted_from_others']}")


if __name__ == "__main__":
    main()
