"""Corpus downloads, without the network: file:// archives and a simulated offline machine."""

import hashlib
import os
import urllib.error
import urllib.request
import zipfile

import pytest

from audiosr.data import corpora, download

import corpus_fixtures


@pytest.fixture
def vctk_zip(tmp_path, test_corpus):
    """A VCTK-0.92-shaped zip archive built from the test corpus, with its md5."""
    tree = corpus_fixtures.make_vctk_092(tmp_path / "tree", test_corpus) / "VCTK-Corpus-0.92"
    archive = tmp_path / "VCTK-Corpus-0.92.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(tree.rglob("*")):
            if path.is_file() and "p225" in path.parts:
                zf.write(path, path.relative_to(tree))
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def offline(*args, **kwargs):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_offline_download_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(download.DownloadError) as caught:
        download.fetch_vctk(tmp_path / "downloads", progress=False)
    message = str(caught.value)
    assert download.VCTK_092["url"] in message and "offline" in message and "name resolution" in message
    assert not list((tmp_path / "downloads").glob("*.zip"))


def test_download_verify_and_extract_vctk(tmp_path, vctk_zip, monkeypatch):
    archive, md5 = vctk_zip
    monkeypatch.setitem(download.VCTK_092, "url", archive.as_uri())
    monkeypatch.setitem(download.VCTK_092, "md5", md5)
    downloads = tmp_path / "downloads"
    (downloads).mkdir()
    (downloads / "VCTK-Corpus-0.92.zip.partial").write_bytes(b"stale half download")
    corpus = download.fetch_vctk(downloads, progress=False)
    assert (downloads / "VCTK-Corpus-0.92.zip").read_bytes() == archive.read_bytes()
    assert not (downloads / "VCTK-Corpus-0.92.zip.partial").exists()
    sources, _, info = corpora.vctk_sources(corpus, mode="single", num_val_utterances=1, num_test_utterances=1)
    assert info["layout"] == "0.92" and len(sources) == 8

    # a second call finds everything in place and never goes to the network
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    stamp = os.stat(downloads / "VCTK-Corpus-0.92.zip").st_mtime_ns
    assert download.fetch_vctk(downloads, progress=False) == corpus
    assert os.stat(downloads / "VCTK-Corpus-0.92.zip").st_mtime_ns == stamp


def test_checksum_mismatch_is_refused(tmp_path, vctk_zip):
    archive, _ = vctk_zip
    dest = tmp_path / "out" / "archive.zip"
    with pytest.raises(download.DownloadError, match="expected 0+"):
        download.download(archive.as_uri(), dest, "0" * 32, "md5", progress=False)
    assert not dest.exists() and not dest.with_name("archive.zip.partial").exists()


def test_a_broken_archive_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK not really a zip")
    with pytest.raises(download.DownloadError, match="not a valid zip"):
        download.extract(broken, tmp_path / "out", progress=False)


def test_fma_archives_are_the_published_ones():
    assert set(download.FMA) == {"metadata", "small", "medium", "large", "full"}
    assert all(len(entry["sha1"]) == 40 and entry["url"].endswith(entry["file"]) for entry in download.FMA.values())
    with pytest.raises(ValueError, match="unknown FMA subset"):
        download.fetch_fma("unused", subset="huge")
