"""Translation QA calibrated per language on professional translations (issue 12): NTREX references pass
every check, made failures are caught. bench/ling_qa.py prints the full table (1,997 sentences)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mella.ling.numbers import numbers_preserved
from mella.ling.qa import copy_ratio, ends_complete

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ling_qa_bench", ROOT / "bench" / "ling_qa.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table(bench, data_dir):
    return bench.measure(bench.load(data_dir / "ntrex", 300), similarity=False)


@pytest.mark.parametrize("lang", ["ar", "cs", "hu", "ko", "ru", "sr", "sr-Latn", "th", "vi"])
def test_professional_translations_pass_and_failures_are_caught(table, lang):
    row = table[lang]
    for check, rate in row["pass"].items():
        assert rate >= 0.97, (lang, check, rate)
    for check, (rate, n) in row["catch"].items():
        if check == "truncated" and lang == "th":
            assert rate >= 0.75, (lang, check, rate)  # without the similarity half of Thai's rule: next test
            continue
        assert rate >= (0.95 if n >= 40 else 0.9), (lang, check, rate, n)


@pytest.mark.parametrize("lang", ["cs", "sr", "ko"])
def test_mismatched_pairs_fall_under_the_similarity_threshold(bench, data_dir, lang):
    # 300 lines are a handful of articles: a mismatched pair here is often on the same story, harder to
    # tell than across the whole of NTREX (bench/ling_qa.py: cs 0.98, sr 0.99, ko 0.97 caught)
    texts = bench.load(data_dir / "ntrex", 300)
    refs = bench.verdicts(list(zip(texts["en"], texts[lang])), lang, similarity=True)
    assert sum(v["mismatched"] for v in refs) / len(refs) >= 0.97
    made = bench.verdicts(bench.failures(texts, lang)["mismatched"], lang, similarity=True)
    assert sum(not v["mismatched"] for v in made) / len(made) >= 0.93


def test_thai_truncation_uses_the_whole_last_word_and_the_similarity(bench, data_dir):
    # Thai ends sentences without punctuation: a cut is a last word that is no word, or a short output
    # less similar to its source (bench/ling_qa.py on all 1,997 lines: pass 0.982, catch 0.974)
    texts = bench.load(data_dir / "ntrex", 300)
    refs = bench.verdicts(list(zip(texts["en"], texts["th"])), "th", similarity=True)
    assert sum(v["truncated"] for v in refs) / len(refs) >= 0.97
    made = bench.verdicts(bench.failures(texts, "th")["truncated"], "th", similarity=True)
    assert sum(not v["truncated"] for v in made) / len(made) >= 0.9
    assert not ends_complete("", "นายกรัฐมนตรีกล่าวสุนทรพจน์ในงานเฉลิมฉลอ", "th")  # cut inside เฉลิมฉลอง
    assert ends_complete("", "นายกรัฐมนตรีกล่าวสุนทรพจน์ในงานเฉลิมฉลอง", "th")


@pytest.mark.parametrize("source, target, lang", [
    ("There are more than 350,000 people living there.", "Žije tam více než 350 000 lidí.", "cs"),
    ("It costs $3.5 million.", "Stojí 3,5 milionu dolarů.", "cs"),
    ("This Morning presenter, 37, took to Instagram.", "Тридцатисемилетняя ведущая написала в Instagram.", "ru"),
    ("The presenter, 37, left.", "Ведущая, которой тридцать семь лет, ушла.", "ru"),
    ("in the 19th century", "в XIX веке", "ru"),
    ("at 3 p.m. on Wednesday", "ve středu v 15 hodin", "cs"),
    ("in the 1930s", "v 30. letech", "cs"),
    ("about 30 yards out", "asi 27 metrů", "cs"),  # translators convert imperial units
    ("More than 300,000 people", "أكثر من 300 ألف نسمة", "ar"),
    ("Thirty-two percent (32%) supported it.", "أيد ٣٢٪ ذلك.", "ar"),
])
def test_numbers_written_another_way_are_found(source, target, lang):
    assert numbers_preserved(source, target, lang) == 1.0


@pytest.mark.parametrize("source, target, lang", [
    ("There are more than 350,000 people living there.", "Žije tam více než 360 000 lidí.", "cs"),
    ("Dyteon Simpson, 20, has been arrested.", "30세인 다이티온 심슨은 2급 살인 혐의로 체포되었다.", "ko"),
    ("It costs $3.5 million.", "Stojí to miliony dolarů.", "cs"),
])
def test_changed_or_lost_numbers_are_caught(source, target, lang):
    assert numbers_preserved(source, target, lang) < 1.0


def test_names_and_acronyms_are_not_untranslated_words():
    src = "She averaged viewership across CBS, ABC, NBC, CNN, Fox News Channel and MSNBC."
    assert copy_ratio(src, "Ona je računala prosečnu gledanost televizija CBS, ABC, NBC, CNN, Fox News Channel i MSNBC.") == 0.0
    assert copy_ratio(src, src) > 0.9


def test_a_cut_off_translation_does_not_end_its_sentence():
    assert ends_complete("He left the room.", "Odešel z místnosti.")
    assert not ends_complete("He left the room and went home.", "Odešel z místnosti a")
