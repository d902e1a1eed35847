"""What a page says about its pictures: figure captions, teaser headlines, logos, icons, placeholders,
overlays and galleries (issue 11). Inline HTML shaped like the real pages these cases come from."""

from __future__ import annotations

from test_extract import extract


def texts(docs):
    return [d.text for d in docs]


def test_empty_alt_takes_the_figure_caption():
    kept, _ = extract('<figure><img src="/f/redl.jpg" alt=""><figcaption>Michal Redl u soudu v Praze.</figcaption></figure>'
                      '<div class="editor-img-box"><div class="img-box"><img src="/f/a.jpg" alt=""></div>'
                      '<div class="caption"><p>정청래 대표가 의원총회에서 대화하고 있다.</p></div></div>'
                      '<div class="thumb"><div class="thumbinner"><img src="/f/b.jpg">'
                      '<div class="thumbcaption">Hrad Karlštejn v zimě</div></div></div>')
    assert texts(kept) == ["Michal Redl u soudu v Praze.", "정청래 대표가 의원총회에서 대화하고 있다.", "Hrad Karlštejn v zimě"]
    assert {d.metadata["text.kind"] for d in kept} == {"figcaption"}


def test_alt_and_caption_both_kept_alt_is_the_text():
    kept, _ = extract('<figure><img src="/f/most.jpg" alt="Karlův most za úsvitu">'
                      '<figcaption>Most v roce 1890</figcaption></figure>')
    assert kept[0].text == "Karlův most za úsvitu" and kept[0].metadata["img.figcaption"] == "Most v roce 1890"
    assert kept[0].metadata["text.kind"] == "alt"


def test_a_box_with_several_pictures_lends_its_caption_to_none():
    kept, _ = extract('<div class="gallery-images"><img src="/g/1.jpg" alt=""><img src="/g/2.jpg" alt="">'
                      '<p class="caption">Galerie: Praha v zimě</p></div>')
    assert kept == []


def test_teaser_headline_is_flagged():
    headline = "Vláda podala demisi, prezident ji přijme ve středu"
    kept, _ = extract(f'<div class="card"><a href="/clanek/demise"><img src="/t/1.jpg" alt="{headline}"></a>'
                      f'<h3><a href="/clanek/demise">{headline}</a></h3></div>'
                      '<div class="card"><a href="/clanek/most"><img src="/t/2.jpg" alt="Karlův most v mlze"></a>'
                      '<h3><a href="/clanek/most">Praha chystá opravu mostu</a></h3></div>')
    assert [(d.text, d.metadata["alt.headline"]) for d in kept] == [(headline, True), ("Karlův most v mlze", False)]


def test_headline_of_the_page_title_is_flagged():
    from datatrove.data import Document

    from helpers import ListSink
    from mella.steps.alt_text import AltTextExtractor
    from mella.steps.read import page_media

    html = ("<html><head><title>Vláda podala demisi, prezident ji přijme | Seznam Zprávy</title></head><body>"
            "<img src='/t/lead.jpg' alt='Vláda podala demisi, prezident ji přijme'>"
            "<img src='/t/b.jpg' alt='Seznam Zprávy'></body></html>")
    page = Document(text="", id="p", media=[page_media(html, "https://www.seznamzpravy.cz/clanek/1")],
                    metadata={"page.url": "https://www.seznamzpravy.cz/clanek/1"})
    kept = list(AltTextExtractor(exclusion_writer=ListSink()).run(iter([page]), 0, 1))
    assert [d.metadata["alt.headline"] for d in kept] == [True, False]  # the site name is not a headline


def test_logo_icon_and_placeholder_urls():
    _, sink = extract('<img alt="Боруссия Дортмунд" src="https://s.ill.in.ua/i/football/team/logo_sm/0x20/126.png">'
                      '<img alt="Стратегия пожарной безопасности" src="/logo.png">'
                      '<img alt="غائم جزئيا" src="/sites/all/modules/weather-7.x-2.4/weather/images/03n.png">'
                      '<img alt="نسخة للطباعة" src="/sites/all/modules/print/icons/print_icon.gif">'
                      '<img alt="وفاة هلي الرحباني" src="/uploadImages/DocumentImages/Default-T-Cat-123-6381.png">'
                      '<img alt="Děti si hrají v parku" src="/foto/children-play-in-the-park.jpg">')
    assert sink.reasons() == ["logo_image", "logo_image", "icon_image", "icon_image", "placeholder_image"]


def test_one_picture_under_many_headlines_is_a_placeholder():
    headlines = ("Vláda podala demisi", "Sněžení komplikuje dopravu", "Praha otevřela nový most")
    body = "".join(f'<img alt="{h}" src="/img/category-7.png">' for h in headlines)
    kept, sink = extract(body + '<img alt="Karlův most" src="/img/most.jpg">')
    assert texts(kept) == ["Karlův most"] and sink.reasons() == ["placeholder_image"] * 3


def test_play_icon_repeating_the_thumbnail_alt_is_an_overlay():
    kept, sink = extract('<a href="/video/1"><img alt="Ohňostroj nad Vltavou" src="/v/thumb1.jpg">'
                         '<img alt="Ohňostroj nad Vltavou" src="/static/v.png" width="40" height="40"></a>')
    assert texts(kept) == ["Ohňostroj nad Vltavou"] and sink.reasons() == ["overlay_icon"]


def test_gallery_caption_on_distinct_photos_is_counted():
    body = "".join(f'<img alt="Koncert Chance The Rapper v Praze" src="/g/concert_{i}.jpg">' for i in range(5))
    kept, _ = extract(body + "".join('<img alt="Sdílet" src="/s/share.png">' for _ in range(3)))
    gallery = [d for d in kept if d.text.startswith("Koncert")]
    assert len(gallery) == 5 and all(d.metadata["alt.gallery"] == 5 for d in gallery)
    assert all(d.metadata["alt.gallery"] is None for d in kept if d.text == "Sdílet")


def test_gallery_passes_the_repeat_filter_a_template_does_not(languages):
    from helpers import ListSink, record, run_steps
    from mella.steps.alt_quality import AltQualityAnnotator, AltQualityFilter

    sink = ListSink()
    docs = [record("Koncert v Praze", alt__page_count=5, alt__gallery=5),
            record("Sdílet na Facebooku", alt__page_count=5, alt__gallery=None),
            record("Koncert v Brně", alt__page_count=40, alt__gallery=40)]
    kept = run_steps([AltQualityAnnotator(languages), AltQualityFilter(exclusion_writer=sink)], docs)
    assert texts(kept) == ["Koncert v Praze"] and sink.reasons() == ["page_repeated_alt", "page_repeated_alt"]


def test_drop_headlines_switch(languages):
    from helpers import ListSink, record, run_steps
    from mella.steps.alt_quality import AltQualityAnnotator, AltQualityFilter

    for drop, expected in ((False, ["Vláda podala demisi"]), (True, [])):
        sink = ListSink()
        kept = run_steps([AltQualityAnnotator(languages), AltQualityFilter(exclusion_writer=sink, drop_headlines=drop)],
                         [record("Vláda podala demisi", alt__headline=True)])
        assert texts(kept) == expected and sink.reasons() == ([] if not drop else ["headline"])


def test_generic_alt_gives_way_to_its_caption(languages):
    from helpers import record, run_steps
    from mella.steps.alt_quality import AltQualityAnnotator

    doc = record("Ilustrační foto", text__kind="alt", img__figcaption="Hrad Karlštejn v zimě")
    run_steps([AltQualityAnnotator(languages)], [doc])
    assert doc.text == "Hrad Karlštejn v zimě" and doc.metadata["text.kind"] == "figcaption"
    assert doc.metadata["alt.attr"] == "Ilustrační foto" and not doc.metadata["alt.flags"]
