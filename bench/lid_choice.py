"""Measure candidate language identifiers on alt-text-length strings (what docs/lid.md reports).

Usage: python bench/lid_choice.py [NTREX_DIR]   (default: tests/data/ntrex)
Each NTREX line is cut to its first 6 words (Thai/Korean: 24 characters), the typical alt-text length.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

FILES = {"ar": "arb", "cs": "ces", "hu": "hun", "ko": "kor", "ru": "rus", "sr": "srp-Cyrl", "th": "tha",
         "vi": "vie", "en": "eng"}


def load(ntrex: Path, n: int = 300) -> list[tuple[str, str]]:
    out = []
    for lang, code in FILES.items():
        name = "newstest2019-src.eng.txt" if lang == "en" else f"newstest2019-ref.{code}.txt"
        lines = (ntrex / name).read_text(encoding="utf-8").splitlines()[:n]
        for line in lines:
            short = line[:24] if lang in ("th", "ko") else " ".join(line.split()[:6])
            out.append((lang, short))
    return out


def run(name, fn, data):
    t = time.perf_counter()
    ok = sum(fn(text) == lang for lang, text in data)
    dt = time.perf_counter() - t
    print(f"{name:12s} accuracy {ok / len(data):.3f}  {len(data) / dt:8.0f} strings/s")


def main() -> None:
    ntrex = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ntrex")
    data = load(ntrex)
    from mella.lid import load_fasttext_lite

    ft = load_fasttext_lite()
    run("fasttext-lite", lambda s: ft.predict(s.replace("\n", " "))[0][0][9:], data)
    import py3langid

    run("py3langid", lambda s: py3langid.classify(s)[0], data)
    try:
        from lingua import Language, LanguageDetectorBuilder

        langs = [Language.ARABIC, Language.CZECH, Language.HUNGARIAN, Language.KOREAN, Language.RUSSIAN,
                 Language.SERBIAN, Language.THAI, Language.VIETNAMESE, Language.ENGLISH, Language.SLOVAK,
                 Language.CROATIAN, Language.BOSNIAN, Language.UKRAINIAN, Language.BULGARIAN, Language.POLISH]
        det = LanguageDetectorBuilder.from_languages(*langs).build()

        def lg(s):
            r = det.detect_language_of(s)
            return r.iso_code_639_1.name.lower() if r else "und"

        run("lingua(15)", lg, data)
    except ImportError:
        print("lingua not installed")


if __name__ == "__main__":
    main()
