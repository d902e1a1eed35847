"""Latin-script Serbian cannot be told from Croatian/Bosnian by text: page signals decide, recorded."""

from __future__ import annotations

from helpers import ListSink, record, run_steps
from mella.steps.lid import LanguageAnnotator, LanguageFilter

ALT = "Pogled na Kalemegdan i ušće Save u Dunav"


def run(languages, **meta):
    sink = ListSink()
    doc = record(ALT, **meta)
    kept = run_steps([LanguageAnnotator(languages), LanguageFilter(languages, exclusion_writer=sink)], [doc])
    return doc, (kept[0] if kept else None), sink


def test_latin_serbian_with_rs_domain_is_serbian(languages):
    doc, kept, _ = run(languages, page__url="https://www.b92.rs/foto/kalemegdan")
    assert kept is not None and doc.metadata["lid.lang"] == "sr" and doc.metadata["lid.script"] == "Latn"
    assert "cctld=sr" in doc.metadata["lid.evidence"]


def test_latin_serbian_with_html_lang(languages):
    doc, kept, _ = run(languages, page__url="https://example.com/a", page__lang="sr-Latn")
    assert kept is not None and "html_lang=sr" in doc.metadata["lid.evidence"]


def test_croatian_page_is_not_serbian(languages):
    doc, kept, sink = run(languages, page__url="https://www.index.hr/vijesti", page__lang="hr")
    assert kept is None and sink.reasons() == ["wrong_language"] and doc.metadata["lid.lang"] == "hr"


def test_no_page_evidence_is_ambiguous(languages):
    doc, kept, sink = run(languages, page__url="https://example.com/a")
    assert kept is None and sink.reasons() == ["lang_ambiguous"]
    assert doc.metadata["lid.lang"].startswith("ambiguous:")


def test_cyrillic_serbian_needs_no_page(languages):
    sink = ListSink()
    doc = record("Поглед на Калемегдан и ушће Саве у Дунав")
    kept = run_steps([LanguageAnnotator(languages), LanguageFilter(languages, exclusion_writer=sink)], [doc])
    assert kept and doc.metadata["lid.lang"] == "sr" and doc.metadata["lid.script"] == "Cyrl"


def test_a_script_not_configured_for_the_language_is_named():
    from mella.languages import build_table, resolve_langs

    cyrillic_only = resolve_langs(["sr"], build_table({"sr": {"scripts": ["Cyrl"]}}))
    sink = ListSink()
    doc = record(ALT, page__url="https://www.b92.rs/foto")
    run_steps([LanguageAnnotator(cyrillic_only), LanguageFilter(cyrillic_only, exclusion_writer=sink)], [doc])
    assert sink.reasons() == ["wrong_script"]
