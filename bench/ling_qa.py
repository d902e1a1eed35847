"""Translation QA on professional translations (NTREX-128 newstest2019: English source, line-aligned
references): per language and check, the share of references that pass (goal >= 97%) and the share of
made failures each check catches (goal >= 95%).

Made failures, one kind per check, from the same references:
  wrong_language  the reference of the same sentence in another target language
  untranslated    the English source given as the translation
  truncated       the first half of the reference (words; characters for Thai), cut at a word boundary
  repeated        the reference followed by its last four words four more times (a decoding loop)
  numbers         one of the source's numbers changed by one digit, or dropped, in the reference
                  (sentences whose reference writes a source number in digits; alternately)
  mismatched      the reference of another sentence (a fixed derangement)

Thresholds come from the language table (`qa:` per language, src/mella/data/languages.yaml).

Usage: python bench/ling_qa.py [NTREX_DIR] [--lines N] [--no-similarity] [--percentiles]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = {"ar": "arb", "cs": "ces", "hu": "hun", "ko": "kor", "ru": "rus", "sr": "srp-Cyrl", "sr-Latn": "srp-Latn",
         "th": "tha", "vi": "vie"}
OTHER = {"ar": "ru", "cs": "sr-Latn", "hu": "cs", "ko": "th", "ru": "sr", "sr": "ru", "sr-Latn": "cs", "th": "ko",
         "vi": "hu"}  # the wrong-language failure of each: a close or a target language
CHECKS = ("wrong_language", "untranslated", "truncated", "repeated", "numbers", "mismatched")


def load(root: Path, limit: int | None) -> dict[str, list[str]]:
    out = {"en": (root / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()}
    for lang, code in FILES.items():
        out[lang] = (root / f"newstest2019-ref.{code}.txt").read_text(encoding="utf-8").splitlines()
    n = min(len(v) for v in out.values())
    keep = [i for i in range(n) if all(out[k][i].strip() for k in out)]
    if limit:
        keep = keep[:limit]
    return {k: [v[i] for i in keep] for k, v in out.items()}


def truncate(text: str, chars: bool) -> str:
    if chars:
        return text[: len(text) // 2]
    words = text.split()
    return " ".join(words[: max(1, len(words) // 2)])


def repeat(text: str) -> str:
    tail = " ".join(text.split()[-4:])
    return text + (" " + tail) * 4


def change_number(source: str, target: str, drop: bool) -> str | None:
    """The target with one of the source's numbers changed (one digit) or dropped; None when the target
    writes none of them in digits."""
    from mella.ling.numbers import _NUMBER, keys, source_numbers

    wanted = set().union(*(k for _, k in source_numbers(source))) if source_numbers(source) else set()
    for m in _NUMBER.finditer(target):
        if keys(m.group(0)) & wanted:
            if drop:
                return (target[: m.start()] + target[m.end():]).replace("  ", " ")
            token = m.group(0)
            i = next(i for i, c in enumerate(token) if c.isdigit() and c in "0123456789")
            changed = token[:i] + str((int(token[i]) + 1) % 10) + token[i + 1:]
            return target[: m.start()] + changed + target[m.end():]
    return None


def failures(texts: dict[str, list[str]], lang: str, seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """(source, made failure) pairs per check."""
    en, ref = texts["en"], texts[lang]
    chars = lang == "th"
    n = len(en)
    perm = list(range(n))
    random.Random(seed).shuffle(perm)
    perm = [p if p != i else (p + 1) % n for i, p in enumerate(perm)]  # no sentence paired with itself
    out = {"wrong_language": list(zip(en, texts[OTHER[lang]])), "untranslated": list(zip(en, en)),
           "truncated": [(s, truncate(r, chars)) for s, r in zip(en, ref) if len(r.split()) >= 4 or chars],
           "repeated": [(s, repeat(r)) for s, r in zip(en, ref) if len(r.split()) >= 4],
           "numbers": [(s, c) for i, (s, r) in enumerate(zip(en, ref)) if (c := change_number(s, r, drop=i % 2 == 1))],
           "mismatched": [(en[i], ref[perm[i]]) for i in range(n)]}
    return out


def verdicts(pairs: list[tuple[str, str]], lang: str, similarity: bool) -> list[dict[str, bool]]:
    """Per pair, which checks pass."""
    from mella.languages import default_table
    from mella.ling.qa import qa_scores, semantic_similarity
    from mella.steps.select import qa_checks

    code, _, script = lang.partition("-")
    target = default_table()[code]
    sims = semantic_similarity([s for s, _ in pairs], [t for _, t in pairs], lang) if similarity else [None] * len(pairs)
    out = []
    for (src, tgt), sim in zip(pairs, sims):
        scores = qa_scores(src, tgt, lang, script or target.scripts[0])
        scores["similarity"] = sim
        out.append(qa_checks(scores, target))
    return out


def short_ratio(lang: str) -> float:
    from mella.languages import default_table

    return default_table()[lang.partition("-")[0]].qa_threshold("short_ratio")


def measure(texts: dict[str, list[str]], similarity: bool = True, langs=None) -> dict[str, dict]:
    result = {}
    for lang in langs or FILES:
        refs = verdicts(list(zip(texts["en"], texts[lang])), lang, similarity)
        row = {"n": len(refs), "pass": {c: sum(v[c] for v in refs) / len(refs) for c in CHECKS},
               "pass_all": sum(all(v.values()) for v in refs) / len(refs), "catch": {}}
        for check, pairs in failures(texts, lang).items():
            if check == "mismatched" and not similarity:
                continue
            # similarity for the checks that use it: mismatched; truncated where a short output needs it
            uses_sim = check == "mismatched" or (check == "truncated" and short_ratio(lang) > 0)
            made = verdicts(pairs, lang, similarity and uses_sim)
            row["catch"][check] = (sum(not v[check] for v in made) / len(made), len(made))
        result[lang] = row
    return result


def percentiles(texts: dict[str, list[str]]) -> None:
    """Distributions of the scores on the references, to choose thresholds."""
    import numpy as np

    from mella.ling.qa import copy_ratio, length_ratio, repetition

    for lang in FILES:
        en, ref = texts["en"], texts[lang]
        ratio = np.array([length_ratio(s, t) for s, t in zip(en, ref)])
        copy = np.array([copy_ratio(s, t) for s, t in zip(en, ref)])
        rep = np.array([repetition(t, chars=lang == "th") for t in ref])
        p = lambda a, q: np.percentile(a, q).round(3)  # noqa: E731
        print(f"{lang:8s} length ratio p0.5 {p(ratio, 0.5)} p1 {p(ratio, 1)} p99 {p(ratio, 99)} p99.5 {p(ratio, 99.5)}"
              f" | copy p99 {p(copy, 99)} p99.5 {p(copy, 99.5)} | repetition p99 {p(rep, 99)} p99.5 {p(rep, 99.5)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?", type=Path)
    ap.add_argument("--lines", type=int, default=None)
    ap.add_argument("--no-similarity", action="store_true")
    ap.add_argument("--percentiles", action="store_true")
    ap.add_argument("--langs", default=None, help="comma-separated subset of the languages")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    root = args.root or next(p for p in (ROOT.parent / "shared" / "real-data" / "ntrex", ROOT / "tests" / "data" / "ntrex")
                             if p.is_dir())
    texts = load(root, args.lines)
    if args.percentiles:
        percentiles(texts)
        return
    result = measure(texts, not args.no_similarity, args.langs.split(",") if args.langs else None)
    print(f"NTREX {root}: {len(texts['en'])} sentences per language")
    print("pass = share of professional references passing the check; catch = share of made failures it catches")
    print(f"{'lang':8s} {'all':>6s} " + " ".join(f"{c[:12]:>12s}" for c in CHECKS))
    for lang, r in result.items():
        print(f"{lang:8s} {r['pass_all']:6.3f} " + " ".join(f"{r['pass'][c]:12.3f}" for c in CHECKS) + "  pass")
        print(f"{'':8s} {'':6s} " + " ".join(f"{r['catch'][c][0]:12.3f}" if c in r["catch"] else f"{'-':>12s}"
                                            for c in CHECKS) + "  catch")


if __name__ == "__main__":
    main()
