"""The test corpus (tests/corpus/): every file listed with its source and licence, small, and readable."""

import re

import soundfile

LICENCES = ("CC BY 4.0", "CC0 1.0")  # allow redistribution; CC BY's attribution is in the README


def listed_files(test_corpus):
    """{file: (rate, channels, licence)} from the table of tests/corpus/README.md."""
    rows = {}
    for line in (test_corpus / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| ") and re.match(r"(speech|music)/", cells[0]):
            rows[cells[0]] = (int(cells[1]), int(cells[2]), cells[7])
    return rows


def test_every_recording_is_listed_with_a_licence_that_allows_it(test_corpus):
    on_disk = {p.relative_to(test_corpus).as_posix() for p in test_corpus.rglob("*") if p.suffix in (".flac", ".ogg")}
    listed = listed_files(test_corpus)
    assert on_disk == set(listed)
    for path, (rate, channels, licence) in listed.items():
        assert licence in LICENCES, (path, licence)
        info = soundfile.info(test_corpus / path)
        assert (info.samplerate, info.channels) == (rate, channels), path
    attribution = (test_corpus / "README.md").read_text().split("## Licences and attribution")[1]
    assert all(f"`{path}`" in attribution for path in listed)  # each file under its collection's credit line


def test_the_corpus_stays_small(test_corpus):
    size = sum(p.stat().st_size for p in test_corpus.rglob("*") if p.is_file())
    assert size < 3 * 2 ** 20, f"tests/corpus/ holds {size / 2 ** 20:.1f} MiB: keep the recordings short"
