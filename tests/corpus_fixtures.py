"""Corpus folders built for the tests from the test corpus (tests/corpus/, the ``test_corpus`` fixture).

VCTK-layout and FMA-layout trees link or re-encode those recordings under
new names; the planted bad files cover every way a file can be unusable.
Everything goes to pytest's tmp dirs.
"""

import csv
import os
import pathlib

import numpy as np
import soundfile

# The test corpus' VCTK recordings (file name prefix) -> the speaker they are filed under.
# Each is its real speaker, except two that stand in for p347 and p360, Kuleshov
# et al.'s test speakers (the corpus holds none of the held-out speakers).
VCTK_SPEAKERS = {
    "nuwave_single_": "p225",
    "p257_": "p257",
    "p228_": "p347",
    "p243_": "p360",
    "p230_": "p230",
    "p233_": "p233",
    "p254_": "p254",
    "p258_": "p258",
}


def _speaker_files(test_corpus):
    files = sorted((test_corpus / "speech" / "vctk").glob("*.flac"))
    by_speaker = {}
    for path in files:
        speaker = next(s for prefix, s in VCTK_SPEAKERS.items() if path.name.startswith(prefix))
        by_speaker.setdefault(speaker, []).append(path)
    return by_speaker


def make_vctk_092(root, test_corpus):
    """``root/VCTK-Corpus-0.92/wav48_silence_trimmed/pXXX/pXXX_NNN_mic{1,2}.flac`` (symlinks)."""
    audio_dir = pathlib.Path(root) / "VCTK-Corpus-0.92" / "wav48_silence_trimmed"
    for speaker, files in _speaker_files(test_corpus).items():
        folder = audio_dir / speaker
        folder.mkdir(parents=True)
        for number, path in enumerate(files, start=1):
            for mic in ("mic1", "mic2"):
                os.symlink(path, folder / f"{speaker}_{number:03d}_{mic}.flac")
    (audio_dir / "p225" / "log.txt").write_text("recording notes\n")
    (pathlib.Path(root) / "VCTK-Corpus-0.92" / "README.txt").write_text("VCTK\n")
    return pathlib.Path(root)


def make_vctk_080(root, test_corpus, speakers=("p225", "p347", "p257", "p230")):
    """``root/VCTK-Corpus/wav48/pXXX/pXXX_NNN.wav`` (re-encoded as WAV)."""
    audio_dir = pathlib.Path(root) / "VCTK-Corpus" / "wav48"
    for speaker, files in _speaker_files(test_corpus).items():
        if speaker not in speakers:
            continue
        folder = audio_dir / speaker
        folder.mkdir(parents=True)
        for number, path in enumerate(files, start=1):
            audio, rate = soundfile.read(path)
            soundfile.write(folder / f"{speaker}_{number:03d}.wav", audio, rate)
    return pathlib.Path(root)


def plant_bad_files(folder, test_corpus):
    """Every kind of unusable file, and the reason text the manifest must give for it."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = test_corpus / "speech" / "vctk" / "p257_166.flac"
    audio, rate = soundfile.read(good)
    data = good.read_bytes()
    (folder / "truncated.flac").write_bytes(data[: len(data) // 2])
    soundfile.write(folder / "whole.mp3", audio, rate)
    mp3 = (folder / "whole.mp3").read_bytes()
    (folder / "whole.mp3").unlink()
    (folder / "truncated.mp3").write_bytes(mp3[: len(mp3) // 2])
    (folder / "empty.wav").write_bytes(b"")
    (folder / "text.flac").write_text("this is not audio\n" * 20)
    nan = audio.astype(np.float32).copy()
    nan[1000:1010] = np.nan
    soundfile.write(folder / "nan.wav", nan, rate, subtype="FLOAT")
    soundfile.write(folder / "short.wav", audio[: rate // 5], rate)
    soundfile.write(folder / "silent.wav", np.zeros(2 * rate, np.float32), rate)
    (folder / "notes.txt").write_text("not audio\n")
    return {
        "truncated.flac": "not readable as audio",
        "truncated.mp3": "truncated",
        "empty.wav": "empty file",
        "text.flac": "not readable as audio",
        "nan.wav": "NaN",
        "short.wav": "too short",
        "silent.wav": "silent",
        "notes.txt": "not an audio file",
    }


FMA_TRACKS = {  # track id -> (FMA split, genre); 3 more tracks are left out of tracks.csv
    2: ("training", "Hip-Hop"), 5: ("training", "Hip-Hop"), 10: ("training", "Pop"),
    140: ("training", "Folk"), 141: ("training", "Folk"), 148: ("validation", "Experimental"),
    182: ("test", "Rock"), 190: ("validation", "Folk"), 1039: ("test", "Electronic"),
}
FMA_UNLISTED = (1040, 1082, 1083)


def make_fma(root, test_corpus, seconds=2.0):
    """``root/fma_medium/NNN/NNNNNN.mp3`` cut from the test corpus' stereo Vorbis music, and
    ``root/fma_metadata/tracks.csv``: track n starts n * 0.4 s later (wrapping around)."""
    root = pathlib.Path(root)
    source = test_corpus / "music" / "loop_amen_full.ogg"
    info = soundfile.info(source)
    track_ids = [*FMA_TRACKS, *FMA_UNLISTED]
    for n, track in enumerate(track_ids):
        start = int((0.4 * n) % (info.duration - seconds) * info.samplerate)
        audio, rate = soundfile.read(source, start=start, frames=int(seconds * info.samplerate))
        path = root / "fma_medium" / f"{track // 1000:03d}" / f"{track:06d}.mp3"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, audio, rate)
    (root / "fma_medium" / "checksums").write_text("sha1 list\n")
    metadata = root / "fma_metadata"
    metadata.mkdir()
    with open(metadata / "tracks.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["", "album", "set", "set", "track", "track"])
        writer.writerow(["", "title", "split", "subset", "genre_top", "title"])
        writer.writerow(["track_id", "", "", "", "", ""])
        for track, (split, genre) in FMA_TRACKS.items():
            writer.writerow([track, "An album,\nwith a newline", split, "medium", genre, f"Track {track}"])
    return root
