"""Alt-text extraction from inline HTML: URL choice, named drops, page context."""

from __future__ import annotations

from datatrove.data import Document

from helpers import ListSink
from mella.steps.alt_text import AltTextExtractor
from mella.steps.read import page_media

PAGE = "https://www.example.cz/clanek/praha"


def extract(body: str, url: str | None = PAGE, head: str = "", **kwargs):
    sink = ListSink()
    step = AltTextExtractor(exclusion_writer=sink, **kwargs)
    html = f"<html lang='cs'><head><title>Praha dnes | Example</title>{head}</head><body>{body}</body></html>"
    page = Document(text="", id="p1", media=[page_media(html, url)], metadata={"page.url": url})
    kept = list(step.run(iter([page]), 0, 1))
    return kept, sink


def test_lazy_loading_takes_the_real_url_not_the_placeholder():
    kept, _ = extract('<img alt="Karlův most" src="data:image/gif;base64,R0lGOD" data-src="/img/most.jpg">'
                      '<img alt="Vltava" src="/static/blank.gif" data-lazy-src="https://cdn.cz/vltava.jpg">')
    assert [d.media[0].url for d in kept] == ["https://www.example.cz/img/most.jpg", "https://cdn.cz/vltava.jpg"]


def test_largest_srcset_candidate_and_picture_sources():
    kept, _ = extract(
        '<img alt="A" src="a-320.jpg" srcset="a-320.jpg 320w, a-1280.jpg?fl=res,1280,,1 1280w, a-640.jpg 640w">'
        '<picture><source srcset="p-800.webp 800w, p-1600.webp 1600w"><img alt="B" src="p-400.jpg"></picture>'
        '<img alt="C" src="c.jpg" srcset="c.jpg 1x, c@2x.jpg 2x">')
    assert [d.media[0].url.rsplit("/", 1)[1] for d in kept] == ["a-1280.jpg?fl=res,1280,,1", "p-1600.webp",
                                                                 "c@2x.jpg"]


def test_base_href_and_protocol_relative_urls():
    kept, _ = extract('<img alt="x" src="foto.jpg"><img alt="y" src="//d39-a.sdn.cz/y.jpeg">',
                      head='<base href="https://static.example.cz/media/">')
    assert [d.media[0].url for d in kept] == ["https://static.example.cz/media/foto.jpg", "https://d39-a.sdn.cz/y.jpeg"]


def test_named_drops():
    _, sink = extract(
        '<img alt="pixel" src="https://example.cz/p.gif" width="1" height="1">'
        '<img alt="Яндекс.Метрика" src="https://mc.yandex.ru/watch/123">'
        '<img alt="ikona" src="/icons/home.svg">'
        '<img alt="inline" src="data:image/png;base64,iVBOR">'
        '<img alt="nothing">'
        '<img alt="favicon" src="/favicon.ico">'
        '<img alt="ftp" src="ftp://example.cz/a.jpg">')
    assert sink.reasons() == ["tracking_pixel", "tracker_host", "svg_image", "data_uri_only", "no_image_url",
                              "icon_image", "bad_image_url"]


def test_relative_url_without_page_url_is_a_named_drop():
    _, sink = extract('<img alt="Karlův most" src="/img/most.jpg">', url=None)
    assert sink.reasons() == ["relative_url_no_base"]


def test_images_without_alt_make_no_record():
    kept, sink = extract('<img src="/a.jpg"><img alt="" src="/b.jpg"><img alt="   " src="/c.jpg">')
    assert kept == [] and sink.docs == []


def test_page_fields_context_and_figcaption():
    kept, _ = extract('<figure><img alt="Karlův most za úsvitu" title="Most" src="/m.jpg" width="800" height="600">'
                      '<figcaption>Karlův most, nejstarší most přes Vltavu</figcaption></figure>'
                      '<p>Text článku, který obklopuje obrázek a popisuje historii mostu v Praze.</p>')
    meta = kept[0].metadata
    assert meta["page.lang"] == "cs" and meta["page.title"] == "Praha dnes | Example"
    assert meta["img.title"] == "Most" and meta["img.width_attr"] == 800 and meta["img.height_attr"] == 600
    assert meta["img.figcaption"] == "Karlův most, nejstarší most přes Vltavu"
    assert "nejstarší most" in meta["page.context"]
    assert meta["alt.page_count"] == 1


def test_repeated_alt_is_counted_per_page():
    kept, _ = extract("".join(f'<img alt="Sdílet na Facebooku" src="/s{i}.png">' for i in range(4)))
    assert {d.metadata["alt.page_count"] for d in kept} == {4}


def test_entities_and_double_escaping_are_decoded():
    kept, _ = extract('<img alt="&amp;quot;Praha&amp;quot; &amp; Brno" src="/a.jpg">')
    assert kept[0].text == '"Praha" & Brno'


def test_huge_alt_is_dropped_and_truncated_in_the_exclusion_record():
    kept, sink = extract(f'<img alt="{"a" * 10_000_000}" src="/a.jpg"><img alt="Karlův most" src="/b.jpg">')
    assert [d.text for d in kept] == ["Karlův most"]
    assert sink.reasons() == ["alt_oversized"] and len(sink.docs[0].text) <= 200


def test_broken_markup_still_yields_records():
    kept, _ = extract('<div><p><img alt="Karlův most" src="/a.jpg"<img alt="Vltava" src=/b.jpg><table><td>'
                      '<img alt=Hrad src="/c.jpg"></span></div></div></html>')
    assert {d.text for d in kept} >= {"Hrad"}


def test_pair_records_get_the_same_url_checks():
    from datatrove.data import Media, MediaType

    def pair(text, url, page="https://vi.wikipedia.org/wiki/Hu"):
        return Document(text=text, id=text, media=[Media(id="0", type=MediaType.IMAGE, url=url)],
                        metadata={"page.url": page})

    sink = ListSink()
    step = AltTextExtractor(exclusion_writer=sink)
    docs = [pair("Hủ tiếu Mỹ Tho với tôm", "https://upload.wikimedia.org/a.jpg"),
            pair("Bản đồ", "https://upload.wikimedia.org/map.svg"), pair("x", "ftp://a/b.jpg"),
            pair("  ", "https://upload.wikimedia.org/b.jpg"), pair("Phố cổ", "/wiki/c.jpg")]
    kept = list(step.run(iter(docs), 0, 1))
    assert [d.media[0].url for d in kept] == ["https://upload.wikimedia.org/a.jpg", "https://vi.wikipedia.org/wiki/c.jpg"]
    assert sink.reasons() == ["svg_image", "bad_image_url", "empty_text"]


def test_placeholder_without_a_real_url_is_named():
    _, sink = extract('<img alt="Karlův most" src="/static/img/blank.gif">'
                      '<img alt="Vltava" src="https://cdn.cz/lazy-placeholder.png">')
    assert sink.reasons() == ["placeholder_only", "placeholder_only"]


def test_wikipedia_citation_markers_are_removed_from_texts():
    from mella.steps.alt_text import _clean

    assert _clean("حديقة قرب محطة طوكيو[105]") == "حديقة قرب محطة طوكيو"
    assert _clean("Quang cảnh thành phố[104][a] năm 2010") == "Quang cảnh thành phố năm 2010"
    assert _clean("[사진 = 한수진 기자]") == "[사진 = 한수진 기자]"  # a bracketed credit is no citation
