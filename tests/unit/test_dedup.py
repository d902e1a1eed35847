"""Exact and near-duplicate dedup keep the first occurrence and name the rest; the Bloom filter holds."""

from __future__ import annotations

import numpy as np

from helpers import ListSink, record, run_steps
from mella.bloom import Bloom
from mella.steps.dedup import ExactDedupFilter, NearDupFilter


def test_bloom_has_no_false_negatives_and_its_false_positive_rate_holds():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**63, size=50_000, dtype=np.uint64)
    bloom = Bloom(50_000, 1e-4)
    bloom.add_many(keys)
    assert bloom.contains_many(keys).all()
    probes = rng.integers(0, 2**63, size=200_000, dtype=np.uint64)
    assert bloom.contains_many(probes).mean() < 3e-4
    assert not bloom.over_capacity


def test_exact_duplicates_keep_the_first(tmp_path):
    sink = ListSink()
    docs = [record("Karlův most", url="https://a.cz/1.jpg"), record("Karlův most", url="https://a.cz/2.jpg"),
            record("KARLŮV MOST", url="https://a.cz/1.jpg"), record("Karlův most", url="https://a.cz/1.jpg")]
    docs[0].id, docs[3].id = "first", "again"
    kept = run_steps([ExactDedupFilter(capacity=1000, batch_size=2, exclusion_writer=sink)], docs)
    assert [d.media[0].url for d in kept] == ["https://a.cz/1.jpg", "https://a.cz/2.jpg"]
    assert sink.reasons() == ["dup_exact", "dup_exact"] and sink.docs[1].id == "again"


def test_near_duplicates_keep_the_first_across_and_within_batches():
    sink = ListSink()
    texts = ["Karlův most v Praze za úsvitu, pohled z Malé Strany",
             "Karlův most v Praze za úsvitu - pohled z Malé Strany",  # punctuation only
             "Karlův most v Praze za úsvitu, pohled z Malé Strany (2)",  # a digit added
             "Pražský hrad a katedrála svatého Víta v noci",
             "Budapešťský parlament na břehu Dunaje"]
    for size in (1, 2, 64):
        sink.docs.clear()
        kept = run_steps([NearDupFilter(capacity=1000, batch_size=size, exclusion_writer=sink)],
                         [record(t) for t in texts])
        assert [d.text for d in kept] == [texts[0], texts[3], texts[4]]
        assert sink.reasons() == ["dup_near", "dup_near"]


def test_minhash_estimates_jaccard():
    f = NearDupFilter()
    a = f.signature("Hlavní nádraží v Brně bude mít novou halu pro cestující")
    b = f.signature("Hlavní nádraží v Brně bude mít novou halu pro cestující")
    c = f.signature("Festival světla v Ostravě přilákal tisíce návštěvníků")
    assert (a == b).all() and (a == c).mean() < 0.1


def test_phash_equals_imagehash():
    imagehash = __import__("pytest").importorskip("imagehash")
    from PIL import Image

    from mella.images.validate import phash_hex

    rng = np.random.default_rng(0)
    for n in range(5):
        arr = (rng.random((90 + 10 * n, 160, 3)) * 255).astype("uint8")
        arr[: 40 + n] //= 3
        img = Image.fromarray(arr)
        assert phash_hex(img) == str(imagehash.phash(img))


def test_dedup_past_its_capacity_keeps_every_unique_record(data_dir):
    """A fixed 1,000-key filter once dropped most of 15k unique sentences as duplicates (issue 13): the exact
    set and the growing Bloom filter keep every unique one at any size."""
    from helpers import ListSink, record, run_steps
    from mella.steps.dedup import ExactDedupFilter, NearDupFilter

    lines = []
    for name in ("ces", "hun", "rus", "srp-Cyrl", "srp-Latn", "vie", "arb", "kor", "tha"):
        lines += (data_dir / "ntrex" / f"newstest2019-ref.{name}.txt").read_text(encoding="utf-8").splitlines()
    unique = list(dict.fromkeys(line for line in lines if len(line) >= 40))
    assert len(unique) > 2500
    docs = [record(t, url=f"https://img.example/{i}.jpg") for i, t in enumerate(unique)]
    docs += [record(unique[i], url=f"https://img.example/{i}.jpg") for i in range(0, 300, 3)]  # 100 exact repeats
    sink = ListSink()
    kept = run_steps([ExactDedupFilter(capacity=100, exclusion_writer=sink),
                      NearDupFilter(capacity=100, exclusion_writer=sink)], docs)
    exact = [d for d in sink.docs if d.metadata["filter_reason"] == "dup_exact"]
    near = [d for d in sink.docs if d.metadata["filter_reason"] == "dup_near"]
    assert len(exact) == 100
    assert len(near) <= 0.01 * len(unique)  # only real near duplicates (NTREX repeats a few headlines)
    assert len(kept) == len(unique) - len(near)


def test_growing_bloom_keeps_its_rate_past_capacity():
    import numpy as np

    from mella.bloom import ScalableBloom

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**63, size=400_000, dtype=np.uint64)
    bloom = ScalableBloom(1000, 1e-6)
    false = 0
    for i in range(0, len(keys), 4096):
        batch = keys[i:i + 4096]
        false += int(bloom.contains_many(batch).sum())
        bloom.add_many(batch)
    assert bloom.contains_many(keys).all() and len(bloom.filters) > 3
    assert false / len(keys) < 1e-4  # a fixed 1,000-key filter is past 0.9 here


def test_a_template_filled_with_each_pages_subject_is_a_placeholder_a_reused_photo_is_not():
    from mella.steps.alt_quality import normalise
    from mella.steps.dedup import _fills_a_template

    def group(pairs):
        return {normalise(t): normalise(s) for t, s in pairs}

    assert _fills_a_template(group([("Location of Viggiù in Lombardy", "Viggiù"),
                                    ("Location of Bisuschio in Lombardy", "Bisuschio"),
                                    ("Location of Cuasso al Monte in Lombardy", "Cuasso al Monte")]))
    # one photo, three captions: the common part is the subject, the rest differs (or extends another)
    assert not _fills_a_template(group([("Destiny's Child in 2001", "Beyoncé"),
                                        ("Destiny's Child performing", "Kelly Rowland"),
                                        ("Destiny's Child live", "Michelle Williams")]))
    assert not _fills_a_template(group([("Nhà thờ Giáo xứ Kẻ Sặt", "Kẻ Sặt"),
                                        ("Nhà thờ Giáo xứ Kẻ Sặt nhìn từ xa", "Hải Dương"),
                                        ("Nhà thờ Giáo xứ Kẻ Sặt năm 2010", "Bình Giang")]))


def test_texts_that_differ_in_a_number_are_not_near_duplicates():
    from datatrove.data import Document

    f = NearDupFilter()
    a, b, c = (Document(text=t, id=str(n)) for n, t in enumerate((
        "Hình ảnh của KV46 trong Thung lũng các vị vua, Ai Cập", "Hình ảnh của KV13 trong Thung lũng các vị vua, Ai Cập",
        "Hình ảnh của KV46 trong Thung lũng các vị vua, Ai Cập.")))
    assert not set(f.keys(a)) & set(f.keys(b))
    assert set(f.keys(a)) == set(f.keys(c))
