"""Cut the test corpus (tests/corpus/) from the larger corpus of real recordings.

    python tests/corpus/make_corpus.py --shared_data=../shared/data

The tests run on these few MB of real speech and music, so that a bare clone
passes its suite; only the tests that need the larger corpus (the shipped
models' held-out scores) read it, through AUDIOSR_SHARED_DATA (tests/conftest.py).
CLIPS says what is cut from where; licences were chosen to allow
redistribution with attribution (CC BY 4.0) or without (CC0). The README.md
beside this script, with every file's source, speaker or author, licence and
the attribution its licence asks for, is written from CLIPS, COLLECTIONS and
the larger corpus' MANIFEST.csv. FLAC output is 16-bit at the source's own
rate and channel count; the Ogg Vorbis file is a lossy re-encoding (its bytes
differ between runs: the Ogg stream serial number is random).
"""

import argparse
import csv
import pathlib

import soundfile

HERE = pathlib.Path(__file__).resolve().parent

# (source in the larger corpus, output here, start second, seconds kept or None for the rest, collection)
CLIPS = [
    # VCTK at 48 kHz: p225 (8 utterances, VCTK-layout fixtures' single-speaker split), p257, and six more
    # speakers (two of them stand in for Kuleshov et al.'s test speakers p347 and p360: tests/corpus_fixtures.py).
    *[(f"speech/vctk/nuwave_single_x{x}__sample_{n}.flac", f"speech/vctk/nuwave_single_x{x}__sample_{n}.flac",
       0.0, 1.2, "VCTK") for x, n in [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4)]],
    ("speech/vctk/p257_166.flac", "speech/vctk/p257_166.flac", 0.5, 1.5, "VoiceBank-DEMAND"),
    ("speech/vctk/p257_167.flac", "speech/vctk/p257_167.flac", 0.5, 1.5, "VoiceBank-DEMAND"),
    ("speech/vctk-extra/p228_023.flac", "speech/vctk/p228_023.flac", 1.4, 1.5, "VCTK"),
    ("speech/vctk-extra/p230_023.flac", "speech/vctk/p230_023.flac", 2.1, 1.5, "VCTK"),
    ("speech/vctk-extra/p233_023.flac", "speech/vctk/p233_023.flac", 1.2, 1.5, "VCTK"),
    ("speech/vctk-extra/p243_023.flac", "speech/vctk/p243_023.flac", 1.0, 1.5, "VCTK"),
    ("speech/vctk-extra/p254_023.flac", "speech/vctk/p254_023.flac", 1.2, 1.5, "VCTK"),
    ("speech/vctk-extra/p258_023.flac", "speech/vctk/p258_023.flac", 1.3, 1.5, "VCTK"),
    # LibriSpeech at 16 kHz (no content above 8 kHz): 2 F, 2 M.
    ("speech/librispeech/1502-122615-0000.flac", "speech/librispeech/1502-122615-0000.flac", 0.0, 6.0,
     "LibriSpeech"),
    ("speech/librispeech/1926-143879-0000.flac", "speech/librispeech/1926-143879-0000.flac", 3.6, 3.0,
     "LibriSpeech"),
    ("speech/librispeech/103-1240-0000.flac", "speech/librispeech/103-1240-0000.flac", 0.4, 3.0, "LibriSpeech"),
    ("speech/librispeech/1034-121119-0000.flac", "speech/librispeech/1034-121119-0000.flac", 0.2, 3.0,
     "LibriSpeech"),
    # Speakers the shipped models never trained on (audiosr.train.recipe's test split): their quality tests.
    *[(f"speech/librispeech/{name}.flac", f"speech/held-out/{name}.flac", 1.0, 3.0, "LibriSpeech")
      for name in ("1098-133695-0000", "163-121908-0000", "2843-152918-0000", "8770-295462-0000")],
    ("speech/vctk-extra/p273_023.flac", "speech/held-out/p273_023.flac", 1.0, 3.0, "VCTK"),
    # Speech at other rates: 24 kHz and 44.1 kHz.
    ("speech/tts/libritts_24k.flac", "speech/tts/libritts_24k.flac", 0.1, 3.0, "LibriTTS"),
    ("speech/tts/hifitts_44k.flac", "speech/tts/hifitts_44k.flac", 0.0, 3.0, "HiFi-TTS"),
    # Music: stereo 44.1 kHz (one as Ogg Vorbis), mono 96 kHz piano.
    ("music/loop_breakbeat.flac", "music/loop_breakbeat.flac", 0.0, None, "Sonic Pi"),
    ("music/loop_amen_full.flac", "music/loop_amen_full.ogg", 0.0, None, "Sonic Pi"),
    ("music/Kimiko_Ishizaka_-_Bach_WTC1_Prelude_01_C_major_BWV846.flac", "music/Kimiko_Ishizaka_-_Prelude_01.flac",
     1.5, 2.0, "Open Well-Tempered Clavier"),
]

# Authors the larger corpus' MANIFEST.csv names only through another file.
WHO = {"music/loop_breakbeat.flac": "Snapper4298 (freesound.org), a Sonic Pi sample",
       "music/loop_amen_full.flac": "gowers (freesound.org), a Sonic Pi sample"}

CC_BY = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
CC0 = "CC0 1.0 (https://creativecommons.org/publicdomain/zero/1.0/)"
# collection -> (licence, attribution as its licence asks for it)
COLLECTIONS = {
    "VCTK": (CC_BY, "CSTR VCTK Corpus: English Multi-speaker Corpus for CSTR Voice Cloning Toolkit (version 0.92), "
             "Junichi Yamagishi, Christophe Veaux, Kirsten MacDonald, The Centre for Speech Technology Research "
             "(CSTR), University of Edinburgh, 2019, https://doi.org/10.7488/ds/2645."),
    "VoiceBank-DEMAND": (CC_BY, "Noisy speech database for training speech enhancement algorithms and TTS models "
                         "(clean test set; VCTK speaker p257), Cassia Valentini-Botinhao, University of Edinburgh, "
                         "2017, https://doi.org/10.7488/ds/2117."),
    "LibriSpeech": (CC_BY, "LibriSpeech ASR corpus, Vassil Panayotov, Guoguo Chen, Daniel Povey, Sanjeev Khudanpur "
                    "(ICASSP 2015), https://www.openslr.org/12/ (from LibriVox public-domain audiobooks)."),
    "LibriTTS": (CC_BY, "LibriTTS corpus, Heiga Zen, Viet Dang, Rob Clark, Yu Zhang, Ron J. Weiss, Ye Jia, Zhifeng "
                 "Chen, Yonghui Wu (Interspeech 2019), https://www.openslr.org/60/."),
    "HiFi-TTS": (CC_BY, "Hi-Fi Multi-Speaker English TTS Dataset, Evelina Bakhturina, Vitaly Lavrukhin, Boris "
                 "Ginsburg, Yang Zhang (Interspeech 2021), https://www.openslr.org/109/."),
    "Sonic Pi": (CC0, "Sonic Pi samples from freesound.org: loop_breakbeat by Snapper4298 "
                 "(https://freesound.org/people/Snapper4298/sounds/160354/), loop_amen_full by gowers "
                 "(https://freesound.org/people/gowers/sounds/202537/); no attribution required."),
    "Open Well-Tempered Clavier": (CC0, "Kimiko Ishizaka, Open Well-Tempered Clavier (J. S. Bach, WTC I, Prelude 1 "
                                   "in C major, BWV 846), https://www.welltemperedclavier.org/; no attribution "
                                   "required."),
}


def cut(source, dest, start, seconds):
    """Write ``seconds`` of ``source`` from ``start`` (to the end for None) to ``dest``; returns its info."""
    info = soundfile.info(source)
    first = int(round(start * info.samplerate))
    frames = -1 if seconds is None else int(round(seconds * info.samplerate))
    audio, rate = soundfile.read(source, start=first, frames=frames, always_2d=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.suffix == ".ogg":
        soundfile.write(dest, audio, rate, format="OGG", subtype="VORBIS")
    else:
        soundfile.write(dest, audio, rate, format="FLAC", subtype="PCM_16")
    return soundfile.info(dest)


def readme(rows):
    lines = [
        "# Test corpus",
        "",
        "Short excerpts of real recordings (people speaking and playing; nothing synthesised) that the",
        "tests read through the `test_corpus` fixture (tests/conftest.py). Cut by `make_corpus.py` from a",
        "larger corpus of public recordings; every file below is an excerpt (trimmed, re-encoded as 16-bit",
        "FLAC at its own rate, or as Ogg Vorbis for `loop_amen_full.ogg`), otherwise unchanged.",
        "",
        "| file | rate | channels | seconds | excerpt of | start s | speaker / author | licence | "
        "published in |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- | --- | --- |",
    ]
    for row in rows:
        lines.append("| {file} | {rate} | {channels} | {seconds:.2f} | {source} | {start:g} | {who} | {licence} | "
                     "{published} |".format(**row))
    lines += ["", "## Licences and attribution", ""]
    used = sorted({row["collection"] for row in rows}, key=list(COLLECTIONS).index)
    for name in used:
        licence, attribution = COLLECTIONS[name]
        files = ", ".join(f"`{row['file']}`" for row in rows if row["collection"] == name)
        lines += [f"- **{name}**, {licence}: {attribution} Files: {files}.", ""]
    lines += ["Changes made to every file: cut to the excerpt given above and re-encoded; no other processing "
              "here (the", "`speaker / author` column notes processing by the source, e.g. a mono downmix).", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared_data", required=True, help="the larger corpus (with its MANIFEST.csv)")
    args = parser.parse_args()
    shared = pathlib.Path(args.shared_data)
    with open(shared / "MANIFEST.csv", newline="", encoding="utf-8") as handle:
        manifest = {row["file"]: row for row in csv.DictReader(handle)}
    rows = []
    for source, dest, start, seconds, collection in CLIPS:
        info = cut(shared / source, HERE / dest, start, seconds)
        entry = manifest[source]
        published = f"{entry['source']} {entry['commit'][:12]} {entry['source_path']}".strip()
        rows.append(dict(file=dest, rate=info.samplerate, channels=info.channels, seconds=info.duration,
                         source=source, start=start, who=WHO.get(source, entry["who"]).replace("|", "/"),
                         licence=COLLECTIONS[collection][0].split(" (")[0], published=published,
                         collection=collection))
    (HERE / "README.md").write_text(readme(rows), encoding="utf-8")
    total = sum(path.stat().st_size for path in HERE.rglob("*") if path.suffix in (".flac", ".ogg"))
    print(f"{len(rows)} files, {total / 2 ** 20:.2f} MiB in {HERE}")


if __name__ == "__main__":
    main()
