"""Credits and bylines split off into `credit` (issue 11), on texts from the shared real pages."""

from __future__ import annotations

import pytest

from mella.steps.credits import split_credit


@pytest.mark.parametrize("text, expected", [
    # football.ua (html-trafilatura/football.ua.podolski.html)
    ("Уэйн Руни, Getty Images", ("Уэйн Руни", "Getty Images")),
    ("Мадонна на Велодроме, Football.ua", ("Мадонна на Велодроме", "Football.ua")),
    ("Лассина Траоре, фото Шахтер", ("Лассина Траоре", "фото Шахтер")),
    ("Динамо — Бенфика, фото ФК Динамо Киев", ("Динамо — Бенфика", "фото ФК Динамо Киев")),
    ("Getty Images", ("", "Getty Images")),
    ("Фото из Инстаграма Лукаша Подольски", ("", "Фото из Инстаграма Лукаша Подольски")),
    ("Автор арта: instagram.com/inside_global", ("", "Автор арта: instagram.com/inside_global")),
    ("https://twitter.com/Glimt/", ("", "https://twitter.com/Glimt/")),
    # MBN and Hankook Ilbo (html-fundus/kr)
    ("대선을 하루 앞둔 지난 2일 시민들이 풍선을 흔들며 이 후보를 연호하고 있다. [사진 = 한수진 기자]",
     ("대선을 하루 앞둔 지난 2일 시민들이 풍선을 흔들며 이 후보를 연호하고 있다.", "사진 = 한수진 기자")),
    ("1978년 ‘대양실업’ 소년공 시절의 이재명 대통령 당선인 모습. [사진 출처 = 이재명 더불어민주당 캠프]",
     ("1978년 ‘대양실업’ 소년공 시절의 이재명 대통령 당선인 모습.", "사진 출처 = 이재명 더불어민주당 캠프")),
    ("이재명 후보가 순천시에서 연설하고 있다. 연합뉴스", ("이재명 후보가 순천시에서 연설하고 있다.", "연합뉴스")),
    ("이재명 후보가 큰절을 올리고 있다. 고영권 기자", ("이재명 후보가 큰절을 올리고 있다.", "고영권 기자")),
    # other conventions
    ("Premiér Petr Fiala na tiskové konferenci (Foto: ČTK)", ("Premiér Petr Fiala na tiskové konferenci", "Foto: ČTK")),
    ("Budapest, MTI/Koszticsák Szilárd", ("Budapest", "MTI/Koszticsák Szilárd")),
    ("Kim Ngân và bạn - Ảnh: Tuổi Trẻ", ("Kim Ngân và bạn", "Ảnh: Tuổi Trẻ")),
])
def test_credit_is_split_off(text, expected):
    assert split_credit(text) == expected


@pytest.mark.parametrize("text", [
    "Фото Карлова моста",  # "a photo of the Charles Bridge": a description
    "Photo of the Charles Bridge at dawn",
    "Thành phố Huế, ảnh b",
    "Месут Озил, Фенербахче",  # a club, not a known credit form: left in the text
    "فنجان أرسنال يشعل غضب جماهير توتنهام (صورة)",
    "Praha - Karlův most",
])
def test_descriptions_are_left_alone(text):
    assert split_credit(text) == (text, None)


def test_credit_only_records_are_dropped_with_a_reason():
    from helpers import ListSink, record, run_steps
    from mella.steps.credits import CreditSplitter

    sink = ListSink()
    kept = run_steps([CreditSplitter(exclusion_writer=sink)],
                     [record("Getty Images"), record("Уэйн Руни, Getty Images")])
    assert [d.text for d in kept] == ["Уэйн Руни"] and kept[0].metadata["text.credit"] == "Getty Images"
    assert sink.reasons() == ["credit_only"]


@pytest.mark.parametrize("text, expected", [
    ("صورة من داخل المسجد.", ("صورة من داخل المسجد.", None)),  # "a picture from inside the mosque"
    ("منظر المجرة، بإذن من ناسا", ("منظر المجرة", "بإذن من ناسا")),  # the Arabic comma; "courtesy of NASA"
    ("Chân dung Martin Luther King, ảnh do Gordon Parks chụp",
     ("Chân dung Martin Luther King", "ảnh do Gordon Parks chụp")),
])
def test_arabic_and_vietnamese_credit_forms(text, expected):
    from mella.steps.credits import split_credit

    assert split_credit(text) == expected
