"""Finding the recordings of a corpus and assigning them to splits.

Each layout (any folder, VCTK 0.92 / 0.80, FMA) yields a list of
:class:`Source` (file, split, group) plus the files it passed over and why.
A *group* is the unit that never straddles two splits: a speaker for
multi-speaker VCTK, a track for FMA, a file (or a folder) for a plain folder.
"""

import csv
import dataclasses
import os
import pathlib
import re

import numpy as np

from audiosr.audio_io import AUDIO_EXTENSIONS, broken_link, is_audio_path, list_audio_files

SPLITS = ("train", "val", "test")

# The speakers Kuleshov et al. held out of multi-speaker VCTK training
# (data/vctk/multispeaker/val-speakers.txt in kuleshov/audio-super-res).
KULESHOV_TEST_SPEAKERS = ("p347", "p351", "p360", "p361", "p362", "p363", "p364", "p374", "p376")
FMA_SUBSETS = ("fma_small", "fma_medium", "fma_large", "fma_full")
FMA_SPLIT_NAMES = {"training": "train", "validation": "val", "test": "test"}


class NoAudioError(ValueError):
    """A folder that holds no usable audio at all."""


@dataclasses.dataclass(frozen=True)
class Source:
    """One recording and the split it belongs to; ``info`` holds extra metadata (e.g. genre)."""

    path: str
    split: str
    group: str
    info: dict = dataclasses.field(default_factory=dict)


def audio_in_folder(folder):
    """Audio files under ``folder`` (sorted, absolute) and skipped entries for everything else found there.

    Hidden files are ignored; files without an audio extension and broken
    symbolic links are skipped with their reason. Raises
    :class:`NoAudioError` naming the folder when it holds no audio file.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise NoAudioError(f"{folder}: no such folder")
    audio, other, broken = list_audio_files(folder)
    if not audio:
        raise NoAudioError(f"{folder}: no audio files found (looked for {', '.join(AUDIO_EXTENSIONS)})")
    skipped = not_audio(str(p.absolute()) for p in other)
    skipped += [{"path": str(p.absolute()), "reason": reason} for p, reason in broken]
    return [str(p.absolute()) for p in audio], skipped


def not_audio(paths):
    """Skipped-file entries for files without an audio extension."""
    return [{"path": p, "reason": "not an audio file (unknown extension)"} for p in paths]


def assign_groups(groups, val_fraction, test_fraction, seed):
    """Map each group to a split: a seeded shuffle, then val, test, rest train.

    A non-zero fraction always gets at least one group; train must keep one.
    """
    groups = sorted(set(groups))
    counts = {}
    for split, fraction in (("val", val_fraction), ("test", test_fraction)):
        if not 0 <= fraction < 1:
            raise ValueError(f"{split}_fraction must be in [0, 1), got {fraction}")
        counts[split] = max(1, round(fraction * len(groups))) if fraction > 0 else 0
    if counts["val"] + counts["test"] >= len(groups):
        raise ValueError(
            f"{len(groups)} groups cannot make train, val ({val_fraction}) and test ({test_fraction}) "
            "splits with at least one group each"
        )
    order = np.random.default_rng(seed).permutation(len(groups))
    shuffled = [groups[i] for i in order]
    val = shuffled[:counts["val"]]
    test = shuffled[counts["val"]:counts["val"] + counts["test"]]
    return {**{g: "train" for g in groups}, **{g: "val" for g in val}, **{g: "test" for g in test}}


def folder_sources(folder, val_fraction=0.1, test_fraction=0.0, seed=0, group_by="file"):
    """Sources of a plain folder of recordings, split by file or by parent folder.

    ``group_by="folder"`` keeps each sub-folder (e.g. a speaker) in one split.
    Returns (sources, skipped).
    """
    audio, skipped = audio_in_folder(folder)
    if group_by == "file":
        group_of = {p: os.path.relpath(p, folder) for p in audio}
    elif group_by == "folder":
        group_of = {p: os.path.relpath(os.path.dirname(p), folder) for p in audio}
    else:
        raise ValueError(f"group_by must be 'file' or 'folder', got {group_by!r}")
    split_of = assign_groups(group_of.values(), val_fraction, test_fraction, seed)
    sources = [Source(p, split_of[group_of[p]], group_of[p]) for p in audio]
    return sources, skipped


# ---------------------------------------------------------------------------- VCTK

def find_vctk_audio(root):
    """The folder of per-speaker audio folders in a VCTK tree, and its layout.

    Accepts the corpus root, a parent of it, or the audio folder itself:
    ``wav48_silence_trimmed`` (0.92, FLAC, ``pXXX_NNN_mic1.flac``) is
    preferred over ``wav48`` (0.80, ``pXXX_NNN.wav``).
    """
    root = pathlib.Path(root)
    if not root.is_dir():
        raise NoAudioError(f"{root}: no such folder")
    for name, layout in (("wav48_silence_trimmed", "0.92"), ("wav48", "0.80")):
        if root.name == name:
            return root, layout
        for candidate in [root / name, *sorted(root.glob(f"*/{name}"))]:
            if candidate.is_dir():
                return candidate, layout
    raise NoAudioError(f"{root}: not a VCTK folder (no wav48_silence_trimmed/ or wav48/ inside)")


def _vctk_speaker_files(audio_dir, layout, mic):
    """{speaker: sorted utterance files}, the other files found there and skipped entries for broken links."""
    pattern = re.compile(rf"^p?\w+_\d+_{mic}\.flac$" if layout == "0.92" else r"^p?\w+_\d+\.wav$")
    speakers, other, broken = {}, [], []
    for speaker_dir in sorted(p for p in pathlib.Path(audio_dir).iterdir() if p.is_dir()):
        for path in sorted(p for p in speaker_dir.iterdir() if not p.name.startswith(".")):
            reason = broken_link(path)
            if reason is not None:
                broken.append({"path": str(path.absolute()), "reason": reason})
            elif not path.is_file():
                continue
            elif pattern.match(path.name):
                speakers.setdefault(speaker_dir.name, []).append(str(path.absolute()))
            elif not is_audio_path(path):
                other.append(str(path.absolute()))
            # other audio (the second microphone of 0.92) is deliberately left out
    if not speakers:
        raise NoAudioError(f"{audio_dir}: no VCTK utterances found")
    return speakers, other, broken


def vctk_sources(root, mode="multi", test_speakers=KULESHOV_TEST_SPEAKERS, num_val_speakers=4,
                 speaker="p225", num_val_utterances=8, num_test_utterances=8, mic="mic1", seed=0):
    """VCTK split as in Kuleshov et al.; returns (sources, skipped, info).

    ``mode="multi"``: by speaker, never one speaker in two splits; the test
    speakers are Kuleshov et al.'s held-out ones, ``num_val_speakers`` others
    are drawn (seeded) for validation, the rest train.
    ``mode="single"``: one speaker's utterances in name order; the last
    ``num_test_utterances`` test (Kuleshov et al. used 8), the
    ``num_val_utterances`` before them validation, the rest train.
    """
    audio_dir, layout = find_vctk_audio(root)
    speakers, other, broken = _vctk_speaker_files(audio_dir, layout, mic)
    info = {"corpus": "vctk", "layout": layout, "audio_dir": str(audio_dir), "mode": mode}
    if mode == "multi":
        test = sorted(set(test_speakers) & set(speakers))
        if not test:
            raise ValueError(f"{audio_dir}: none of the test speakers {list(test_speakers)} is present")
        rest = sorted(set(speakers) - set(test))
        if num_val_speakers >= len(rest):
            raise ValueError(f"{audio_dir}: {len(rest)} non-test speakers cannot give {num_val_speakers} "
                             "validation speakers and keep one for training")
        val = sorted(np.random.default_rng(seed).choice(rest, size=num_val_speakers, replace=False).tolist())
        split_of = {**{s: "train" for s in rest}, **{s: "val" for s in val}, **{s: "test" for s in test}}
        sources = [Source(p, split_of[s], s) for s in sorted(speakers) for p in speakers[s]]
        info["speakers"] = {split: sorted(s for s in split_of if split_of[s] == split) for split in SPLITS}
    elif mode == "single":
        if speaker not in speakers:
            raise ValueError(f"{audio_dir}: speaker {speaker} not found")
        files = speakers[speaker]
        held_out = num_val_utterances + num_test_utterances
        if held_out >= len(files):
            raise ValueError(f"{speaker} has {len(files)} utterances, too few to hold out {held_out}")
        splits = ["train"] * (len(files) - held_out) + ["val"] * num_val_utterances + ["test"] * num_test_utterances
        sources = [Source(p, split, pathlib.Path(p).stem) for p, split in zip(files, splits)]
        info["speaker"] = speaker
    else:
        raise ValueError(f"mode must be 'multi' or 'single', got {mode!r}")
    return sources, [*not_audio(other), *broken], info


# ---------------------------------------------------------------------------- FMA

def find_fma_audio(root, subset=None):
    """The fma_* audio folder under (or at) ``root`` and the fma_metadata folder if present."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise NoAudioError(f"{root}: no such folder")
    if root.name in FMA_SUBSETS:
        audio_dir = root
    else:
        present = [name for name in FMA_SUBSETS if (root / name).is_dir()]
        if subset is not None:
            present = [name for name in present if name == subset]
        if not present:
            raise NoAudioError(f"{root}: no FMA audio folder ({subset or ', '.join(FMA_SUBSETS)}) inside")
        audio_dir = root / present[0]
    metadata = next((d for d in (audio_dir.parent / "fma_metadata", audio_dir / "fma_metadata")
                     if (d / "tracks.csv").is_file()), None)
    return audio_dir, metadata


def read_fma_tracks(tracks_csv):
    """{track id: (split, genre)} from FMA's tracks.csv (two header rows, then ``track_id``)."""
    with open(tracks_csv, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        top, sub = next(rows), next(rows)
        columns = list(zip(top, sub))
        try:
            split_col = columns.index(("set", "split"))
            genre_col = columns.index(("track", "genre_top"))
        except ValueError:
            raise ValueError(f"{tracks_csv}: no ('set', 'split') or ('track', 'genre_top') column") from None
        tracks = {}
        for row in rows:
            if row and row[0].isdigit():
                tracks[int(row[0])] = (FMA_SPLIT_NAMES.get(row[split_col]), row[genre_col] or None)
    return tracks


def fma_sources(root, subset=None, metadata_dir=None, val_fraction=0.1, test_fraction=0.1, seed=0):
    """FMA tracks split by track; returns (sources, skipped, info).

    With fma_metadata/tracks.csv the split is FMA's own (``set.split``) and
    each source carries its top genre; tracks missing from it, or all tracks
    when there is no metadata, are split at random (seeded) by track.
    """
    audio_dir, found_metadata = find_fma_audio(root, subset)
    metadata = pathlib.Path(metadata_dir) if metadata_dir else found_metadata
    audio, skipped = audio_in_folder(audio_dir)
    tracks = read_fma_tracks(metadata / "tracks.csv") if metadata else {}
    track_of = {p: pathlib.Path(p).stem for p in audio}
    random_split = assign_groups(track_of.values(), val_fraction, test_fraction, seed)
    sources = []
    for path in audio:
        track = track_of[path]
        split, genre = tracks.get(int(track), (None, None)) if track.isdigit() else (None, None)
        sources.append(Source(path, split or random_split[track], track, {"genre": genre} if genre else {}))
    info = {"corpus": "fma", "subset": audio_dir.name, "audio_dir": str(audio_dir),
            "metadata": str(metadata) if metadata else None,
            "split_method": "fma_metadata set.split" if metadata else "random by track"}
    return sources, skipped, info
