"""The listening page of `audiosr evaluate --html`: self-contained, and every player loads in a real browser."""

import html.parser
import pathlib

import browser
import pytest
import soundfile

from audiosr import cli


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links.extend(value for name, value in attrs if name in ("src", "href"))


@pytest.fixture(scope="module")
def page(tmp_path_factory, test_corpus):
    """`audiosr evaluate --html` of two real recordings with the shipped speech-r2 (and sinc as a second baseline)."""
    folder = tmp_path_factory.mktemp("page")
    references = [str(test_corpus / "speech" / "vctk" / name) for name in ("p257_167.flac", "p257_166.flac")]
    status = cli.main(["evaluate", "-m", "speech-r2", *references, "--baseline", "spline", "--baseline", "sinc",
                       "--html", str(folder / "listen"), "-q"])
    assert status == 0
    return folder / "listen" / "index.html"


def test_page_is_self_contained_with_a_player_and_spectrogram_per_method(page):
    text = page.read_text()
    parser = _Links()
    parser.feed(text)
    assert parser.links and not any("://" in link or link.startswith("/") for link in parser.links)
    for link in parser.links:
        assert (page.parent / link).is_file(), link
    wavs = [link for link in parser.links if link.endswith(".wav")]
    assert len(wavs) == 2 * 5  # input, spline, sinc, speech-r2, reference
    rates = {pathlib.Path(w).stem.split("-", 1)[1]: soundfile.info(page.parent / w).samplerate for w in wavs[:5]}
    assert rates == {"Low-res_input": 8000, "Spline": 16000, "Sinc": 16000, "speech-r2": 16000, "Reference": 16000}
    assert text.count("<img ") == 10 and "Mean of 2 files" in text and "speech-r2" in text


@pytest.mark.skipif(not browser.available(), reason=f"no Chromium at {browser.CHROMIUM} (CI installs it: .ci/run)")
def test_every_player_loads_in_headless_chromium_without_console_errors(page, tmp_path):
    screenshot = tmp_path / "listening-page.png"
    state = browser.open_page(page, screenshot)
    print(f"screenshot of the listening page: {screenshot}")
    assert len(state["audio"]) == 10
    for audio in state["audio"]:
        assert audio["error"] is None and audio["readyState"] >= 1 and audio["duration"] > 1.0, audio
    assert all(image["width"] > 0 for image in state["images"]), state["images"]
    assert state["errors"] == []
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 50_000
