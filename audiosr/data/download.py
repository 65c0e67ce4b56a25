"""Downloading the public corpora (VCTK from Edinburgh DataShare, FMA from its archive).

Archives are streamed to a ``.partial`` file (resumed with an HTTP Range
request when the server allows), checked against the published checksum,
renamed, then unzipped once (a marker file records a finished extraction).
Any network failure becomes a :class:`DownloadError` that says what to do
offline: fetch the archive elsewhere and point the prep script at it.
"""

import hashlib
import os
import pathlib
import urllib.error
import urllib.request
import zipfile

from tqdm.auto import tqdm

VCTK_092 = {
    "url": "https://datashare.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip",
    "file": "VCTK-Corpus-0.92.zip",
    "md5": "8a6ba2946b36fcbef0212cad601f4bfa",
}
# sha1 sums published in the README of github.com/mdeff/fma
FMA = {
    name: {"url": f"https://os.unil.cloud.switch.ch/fma/fma_{name}.zip", "file": f"fma_{name}.zip", "sha1": sha1}
    for name, sha1 in {
        "metadata": "f0df49ffe5f2a6008d7dc83c6915b31835dfe733",
        "small": "ade154f733639d52e35e32f5593efe5be76c6d70",
        "medium": "c67b69ea232021025fca9231fc1c7c1a063ab50b",
        "large": "497109f4dd721066b5ce5e5f250ec604dc78939e",
        "full": "0f0ace23fbe9ba30ecb7e95f763e435ea802b8ab",
    }.items()
}
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that could not be completed or verified."""


def _digest(path, algorithm):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def download(url, dest, checksum=None, algorithm="sha1", timeout=60, progress=True):
    """Fetch ``url`` to ``dest`` (resuming a ``.partial`` file) and verify ``checksum``."""
    dest = pathlib.Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = getattr(response, "status", None) == 206
            total = response.headers.get("Content-Length")
            total = int(total) + (have if resumed else 0) if total else None
            with open(partial, "ab" if resumed else "wb") as out, tqdm(
                total=total, initial=have if resumed else 0, unit="B", unit_scale=True, desc=dest.name,
                disable=not progress,
            ) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"could not download {url} ({reason}). This machine may be offline: download the file "
            f"elsewhere, place it at {dest} (or unzip it and pass its folder to the prep script)"
        ) from error
    if checksum is not None:
        found = _digest(partial, algorithm)
        if found != checksum:
            partial.unlink()
            raise DownloadError(f"{url}: {algorithm} is {found}, expected {checksum}; the partial file was removed")
    os.replace(partial, dest)
    return dest


def extract(archive, out_dir, progress=True):
    """Unzip ``archive`` into ``out_dir`` once; an interrupted extraction is redone."""
    out_dir = pathlib.Path(out_dir)
    marker = out_dir / f".extracted-{pathlib.Path(archive).name}"
    if marker.exists():
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in tqdm(zf.infolist(), desc=f"unzip {pathlib.Path(archive).name}", unit="file",
                               disable=not progress):
                zf.extract(member, out_dir)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{archive}: not a valid zip archive ({error})") from error
    marker.write_text("done\n")
    return out_dir


def fetch_vctk(download_dir, progress=True):
    """VCTK 0.92 downloaded and unzipped under ``download_dir``; returns the corpus folder."""
    download_dir = pathlib.Path(download_dir)
    archive = download(VCTK_092["url"], download_dir / VCTK_092["file"], VCTK_092["md5"], "md5",
                       progress=progress)
    return extract(archive, download_dir / "VCTK-Corpus-0.92", progress)


def fetch_fma(download_dir, subset="medium", progress=True):
    """fma_<subset> and fma_metadata downloaded and unzipped under ``download_dir``; returns that folder."""
    if subset not in FMA or subset == "metadata":
        raise ValueError(f"unknown FMA subset {subset!r}; choose from {sorted(set(FMA) - {'metadata'})}")
    download_dir = pathlib.Path(download_dir)
    for name in ("metadata", subset):
        archive = download(FMA[name]["url"], download_dir / FMA[name]["file"], FMA[name]["sha1"], "sha1",
                           progress=progress)
        extract(archive, download_dir, progress)
    return download_dir

