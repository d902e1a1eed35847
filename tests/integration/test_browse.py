"""The sample browser in a real headless Chromium (Debian's `chromium`, driven by Playwright): it loads
without console errors, shows thumbnails, filters by language, source, split and reason, and renders
Arabic right to left."""

from __future__ import annotations

import os
import shutil

import pytest

from helpers import make_table
from mella.config import ComposeConfig
from mella.recipes.compose import run_compose
from mella.report.browse import write_browser

CHROMIUM = os.environ.get("MELLA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("browse")
    metas = [{"lid.lang": "ar", "lid.script": "Arab", "lid.score": 0.97} for _ in range(3)]
    metas += [{"lid.lang": "cs", "lid.script": "Latn", "lid.score": 0.9} for _ in range(3)]
    metas[5]["align.score"] = 0.01  # one record whose native text does not match its image
    texts = ["مسجد محمد علي في القاهرة", "سوق خان الخليلي", "نهر النيل عند الغروب",
             "Karlův most v Praze", "Staroměstský orloj", "Svíčková na smetaně"]
    folder = make_table(root / "aligned", metas, steps=("mine", "fetch", "align"), texts=texts)
    cfg = ComposeConfig.model_validate({"select": {"min_align_score": 0.1},
                                        "split": {"group_by": ["image"], "test_size": 1, "val_size": 0}})
    run_compose(folder, root / "ds", cfg)
    return write_browser(root / "ds")


def test_browser_page_filters_and_renders_right_to_left(page_path, tmp_path):
    assert CHROMIUM, "headless Chromium is needed: apt-get install chromium (make test installs it)"
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(page_path.as_uri())
        cards = page.locator(".card")
        assert cards.count() == 6  # 5 usable samples + 1 record excluded by its alignment score
        assert page.locator(".card img").count() == 6  # thumbnails embedded, no network
        assert page.locator("#count").inner_text() == "6 of 6 shown"
        page.select_option("#f-lang", "ar")
        assert cards.count() == 3 and page.locator(".card[data-lang=cs]").count() == 0
        direction = page.locator(".card .text").first.evaluate("e => getComputedStyle(e).direction")
        assert direction == "rtl"
        page.select_option("#f-lang", "cs")
        assert page.locator(".card .text").first.evaluate("e => getComputedStyle(e).direction") == "ltr"
        page.select_option("#f-source", "excluded")
        assert cards.count() == 1 and "d_know: low_alignment" in cards.first.inner_text()
        page.select_option("#f-source", "")
        page.select_option("#f-reason", "d_know: low_alignment")
        assert cards.count() == 1
        page.select_option("#f-reason", "")
        page.select_option("#f-lang", "")
        page.select_option("#f-split", "test")
        assert 0 < cards.count() < 6
        page.screenshot(path=str(tmp_path / "browse.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert (tmp_path / "browse.png").stat().st_size > 5000
