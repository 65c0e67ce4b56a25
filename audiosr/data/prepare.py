"""Preparing a data set: recordings -> random clips -> TFRecord shards + manifest.json.

1. Scan (parallel): read each file's header and hash it; files that are
   empty, unreadable or too short are skipped with the reason.
2. Plan: train gets ``num_clips`` clips, val and test the same number of
   clips per second of audio; clips go to recordings in proportion to their
   length and are packed into shards of ``shard_size``.
3. Cut (parallel): workers decode, resample to 16 kHz (soxr), draw random
   non-silent clips and simulate their low-res inputs; the main process
   writes each shard atomically and records it in manifest.json.
4. Top up: clips lost to files that turn out truncated, NaN-holding or
   silent are drawn again from the other files of their split.

Everything is seeded, so running the same preparation again after an
interruption redoes only the unfinished shards and yields the same bytes.
The manifest (:class:`audiosr.data.records.Manifest`) says ``complete`` only at
the very end, and :mod:`audiosr.data.pipeline` reads nothing else.
"""

import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import math
import multiprocessing
import os
import shutil
import time

import numpy as np
from tqdm.auto import tqdm

from audiosr.data import corpora
from audiosr.atomic import remove_stale_partials, write_json_atomic
from audiosr.audio_io import write_audio_atomic
from audiosr.data.clips import ChunkTask, ClipSettings, process_chunk, scan_source
from audiosr.data.corpora import SPLITS, NoAudioError, Source
from audiosr.lowres import SAMPLE_RATE, SUPPORTED_RATIOS
from audiosr.data.records import MANIFEST_NAME, Manifest, Shard, Split, encode_clip, write_shard_atomic
from audiosr.data.synthetic import generate_clip

log = logging.getLogger(__name__)

MAX_ROUNDS = 4  # the first pass plus up to three top-ups


class _Workers:
    """``imap`` over worker processes, started on first use.

    Processes are spawned, never forked: the parent may hold TensorFlow,
    which does not survive a fork. One worker or fewer runs inline.
    """

    def __init__(self, num_workers):
        self.num_workers = int(num_workers)
        self._pool = None

    def imap(self, fn, items, chunksize=1):
        if self.num_workers <= 1:
            return map(fn, items)
        if self._pool is None:
            self._pool = multiprocessing.get_context("spawn").Pool(self.num_workers)
        return self._pool.imap(fn, items, chunksize)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()


def _stored_path(path, out_dir):
    """Paths inside the output folder are kept relative, so the folder can move."""
    path = os.path.abspath(path)
    inside = os.path.commonpath([path, out_dir]) == out_dir
    return os.path.relpath(path, out_dir) if inside else path


def _fingerprint(params, sources):
    """Identifies a preparation: its parameters and the exact input files."""
    listing = []
    for source in sources:
        stat = os.stat(source.path) if os.path.exists(source.path) else None
        listing.append([source.path, source.split, source.group,
                        stat.st_size if stat else None, stat.st_mtime_ns if stat else None])
    blob = json.dumps({"params": params, "sources": listing}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _existing_manifest(out_dir, fingerprint, overwrite):
    """The manifest of an earlier run of this same preparation, or None for a fresh start."""
    path = os.path.join(out_dir, MANIFEST_NAME)
    if not os.path.exists(path):
        return None
    manifest = Manifest.load(out_dir, complete=False)
    if manifest.fingerprint == fingerprint:
        return manifest
    if not overwrite:
        raise FileExistsError(
            f"{out_dir} holds a different preparation (other parameters or input files); "
            "choose another output folder or pass overwrite=True"
        )
    for entry in manifest.splits.values():
        for shard in entry.shards:
            shard_path = os.path.join(out_dir, shard.file)
            if os.path.exists(shard_path):
                os.remove(shard_path)
    os.remove(path)
    return None


def _scan(sources, out_dir, settings, workers, progress):
    """Source records (header facts, hash) and skipped entries for unusable files."""
    scan = functools.partial(scan_source, settings=settings)
    results = workers.imap(scan, [s.path for s in sources], chunksize=8)
    records, skipped = [], []
    for source, facts in tqdm(zip(sources, results), total=len(sources), desc="scan", unit="file",
                              disable=not progress):
        stored = _stored_path(source.path, out_dir)
        if "error" in facts:
            skipped.append({"path": stored, "reason": facts["error"]})
            facts = {}
        records.append({"path": stored, "split": source.split, "group": source.group, **source.info, **facts})
    return records, skipped


def _requested_clips(num_clips, records):
    """Clips per split: an explicit dict, or ``num_clips`` for train and the same density elsewhere."""
    if isinstance(num_clips, dict):
        unknown = set(num_clips) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown splits {sorted(unknown)}; use {SPLITS}")
        return {split: int(num_clips.get(split, 0)) for split in SPLITS}
    seconds = {split: sum(r.get("seconds", 0.0) for r in records if r["split"] == split) for split in SPLITS}
    if seconds["train"] == 0:
        raise NoAudioError("no usable training audio: every train file was skipped (see the log)")
    density = int(num_clips) / seconds["train"]
    return {split: int(num_clips) if split == "train" else round(density * seconds[split]) for split in SPLITS}


def _plan_round(round_index, needed, viable, records, source_paths, settings, seed, shard_size, next_shard):
    """Shards (with their chunk tasks) that draw ``needed[split]`` clips from ``viable[split]``."""
    shards = []
    for split_index, split in enumerate(SPLITS):
        indices = viable[split]
        if needed[split] <= 0 or not indices:
            continue
        rng = np.random.default_rng([seed, round_index, split_index])
        weights = np.array([records[i]["samples"] - settings.clip_samples + 1 for i in indices], float)
        counts = rng.multinomial(needed[split], weights / weights.sum())
        chunk_numbers = {}
        current = None
        for position in rng.permutation(len(indices)):
            index, remaining = indices[position], int(counts[position])
            while remaining > 0:
                if current is None or current["planned"] == shard_size:
                    current = {"file": f"{split}-{next_shard[split]:05d}.tfrecord", "split": split,
                               "round": round_index, "planned": 0, "tasks": []}
                    next_shard[split] += 1
                    shards.append(current)
                take = min(remaining, shard_size - current["planned"])
                chunk = chunk_numbers[index] = chunk_numbers.get(index, -1) + 1
                current["tasks"].append(ChunkTask(index, source_paths[index], records[index]["samples"], take,
                                                  (seed, round_index, index, chunk)))
                current["planned"] += take
                remaining -= take
    return shards


def _write_shard(out_dir, shard, results, settings):
    """Encode the chunk results of one shard, write it atomically; return its :class:`Shard` record."""
    records, failed, silent, rejected = [], {}, [], 0
    for task, result in zip(shard["tasks"], results):
        rejected += result["rejected"]
        if result["error"] is not None:
            failed[str(task.source_index)] = result["error"]
            continue
        count = len(result["starts"])
        if count == 0:
            silent.append(task.source_index)
        for i in range(count):
            lowres = {r: result["lowres"][r][i] for r in settings.ratios}
            records.append(encode_clip(result["high"][i], lowres, result["scales"][i],
                                       task.source_index, result["starts"][i]))
    size = write_shard_atomic(os.path.join(out_dir, shard["file"]), records)
    return Shard(file=shard["file"], round=shard["round"], clips=len(records), bytes=size, failed=failed,
                 silent=silent, rejected_silent_draws=rejected)


def _cut(manifest, out_dir, source_paths, settings, workers, progress):
    """Run (or finish) every round of shards; updates and saves ``manifest`` after each shard."""
    params, records, splits = manifest.params, manifest.sources, manifest.splits
    skipped_paths = {item["path"] for item in manifest.skipped}
    process = functools.partial(process_chunk, settings=settings)
    bar = tqdm(total=sum(e.requested for e in splits.values()), desc=manifest.name, unit="clip",
               disable=not progress)
    bar.update(sum(e.clips for e in splits.values()))
    next_shard = {split: 0 for split in SPLITS}
    excluded = set()  # sources that failed or gave no clip: never drawn from again
    for round_index in range(MAX_ROUNDS):
        earlier = [s for e in splits.values() for s in e.shards if s.round < round_index]
        for shard in earlier:
            excluded.update(int(i) for i in shard.failed)
            excluded.update(shard.silent)
        needed = {split: entry.requested - sum(s.clips for s in entry.shards if s.round < round_index)
                  for split, entry in splits.items()}
        if not any(n > 0 for n in needed.values()):
            break
        viable = {split: [i for i, r in enumerate(records) if r["split"] == split and "samples" in r
                          and r["path"] not in skipped_paths and i not in excluded] for split in SPLITS}
        plan = _plan_round(round_index, needed, viable, records, source_paths, settings,
                           params["seed"], params["shard_size"], next_shard)
        finished = {s.file for e in splits.values() for s in e.shards}
        pending = [shard for shard in plan if shard["file"] not in finished]
        results = workers.imap(process, [task for shard in pending for task in shard["tasks"]])
        for shard in pending:
            chunk_results = []
            for _ in shard["tasks"]:
                chunk_results.append(next(results))
                bar.update(len(chunk_results[-1].get("starts", ())))
            manifest.add_shard(shard["split"], _write_shard(out_dir, shard, chunk_results, settings))
            manifest.save(out_dir)
    bar.close()


def _skipped_after_cut(manifest):
    """Files found unusable while cutting, with their reasons, for the manifest's skipped list."""
    records = manifest.sources
    reasons = {}
    for entry in manifest.splits.values():
        for shard in entry.shards:
            for index, reason in shard.failed.items():
                reasons[int(index)] = reason
            for index in shard.silent:
                reasons.setdefault(index, "silent: no clip above the silence threshold in "
                                          f"{manifest.params['max_tries']} draws")
    return [{"path": records[i]["path"], "reason": reasons[i]} for i in sorted(reasons)]


def prepare_corpus(sources, out_dir, num_clips, *, name=None, clip_seconds=0.5, sample_rate=SAMPLE_RATE,
                   ratios=(2, 4), seed=0, num_workers=2, shard_size=500, silence_db=-30.0, skipped=(),
                   info=None, overwrite=False, progress=True):
    """Cut random clips from ``sources`` (:class:`audiosr.data.corpora.Source`) into shards in ``out_dir``.

    ``num_clips``: clips for train (val and test get as many per second of
    audio), or a dict of clips per split. ``skipped``: files the layout
    already passed over, recorded in the manifest. Re-running with the same
    arguments resumes an interrupted run, or returns at once when complete.
    Returns the :class:`audiosr.data.records.Manifest` (also written to ``out_dir/manifest.json``).
    """
    sources = [dataclasses.replace(s, path=os.path.abspath(s.path)) for s in sources]
    if not sources:
        raise NoAudioError(f"nothing to prepare into {out_dir}: no source files")
    bad_splits = {s.split for s in sources} - set(SPLITS)
    if bad_splits:
        raise ValueError(f"unknown splits {sorted(bad_splits)}; use {SPLITS}")
    ratios = tuple(sorted({int(r) for r in ratios}))
    unsupported = set(ratios) - set(SUPPORTED_RATIOS)
    if not ratios or unsupported:
        raise ValueError(f"ratios must be among {SUPPORTED_RATIOS}, got {ratios}")
    settings = ClipSettings(sample_rate=int(sample_rate), clip_samples=round(clip_seconds * sample_rate),
                            ratios=ratios, silence_db=float(silence_db))
    if settings.clip_samples <= 2 * settings.grid:
        raise ValueError(f"clip_seconds={clip_seconds} is too short")
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    params = {"num_clips": num_clips, "seed": int(seed), "shard_size": int(shard_size),
              "resampler": "soxr_hq (audiosr.audio_io.resample)",
              "lowres": "audiosr.lowres.simulate_lowres (order-8 Chebyshev decimation, zero phase; cubic spline)",
              **dataclasses.asdict(settings)}
    fingerprint = _fingerprint({**params, "info": info}, sources)
    manifest = _existing_manifest(out_dir, fingerprint, overwrite)
    if manifest is not None and manifest.complete:
        return manifest
    remove_stale_partials(out_dir)  # shards a killed run was writing
    started = time.perf_counter()
    with _Workers(num_workers) as workers:
        if manifest is None:
            records, scan_skipped = _scan(sources, out_dir, settings, workers, progress)
            layout_skipped = [{**item, "path": _stored_path(item["path"], out_dir)} for item in skipped]
            manifest = Manifest(
                name=name or os.path.basename(out_dir), fingerprint=fingerprint, created=_now(),
                sample_rate=settings.sample_rate, clip_samples=settings.clip_samples, clip_seconds=clip_seconds,
                ratios=list(ratios), params=params, info=info or {},
                splits={split: Split(requested=n) for split, n in _requested_clips(num_clips, records).items()},
                sources=records, skipped=[*layout_skipped, *scan_skipped],
            )
            manifest.save(out_dir)
        _cut(manifest, out_dir, [s.path for s in sources], settings, workers, progress)
    _finish(manifest, out_dir, time.perf_counter() - started)
    return manifest


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _finish(manifest, out_dir, run_seconds):
    """List the files found unusable while cutting, check the counts, mark the set complete."""
    manifest.skipped = [*manifest.skipped, *_skipped_after_cut(manifest)]
    for item in manifest.skipped:
        log.warning("skipped %s: %s", item["path"], item["reason"])
    train = manifest.splits["train"]
    if train.clips == 0 and train.requested > 0:
        raise NoAudioError(f"{out_dir}: no usable training audio: every train file failed to decode or is "
                           f"silent ({len(manifest.skipped)} files skipped)")
    for split, entry in manifest.splits.items():
        entry.seconds = round(entry.clips * manifest.clip_seconds, 3)
        if entry.clips < entry.requested:
            log.warning("%s: %d of %d %s clips (too little usable audio)", out_dir, entry.clips,
                        entry.requested, split)
    manifest.complete, manifest.finished, manifest.last_run_seconds = True, _now(), round(run_seconds, 2)
    manifest.save(out_dir)


def prepare_folder(folder, out_dir, num_clips, ratios=(2, 4), seed=0, val_fraction=0.1, test_fraction=0.0,
                   group_by="file", **options):
    """Any folder of recordings -> train/val(/test) shards, split by file (or sub-folder).

    ``options`` go to :func:`prepare_corpus` (clip_seconds, num_workers, ...).
    """
    sources, skipped = corpora.folder_sources(folder, val_fraction, test_fraction, seed, group_by)
    info = {"corpus": "folder", "folder": os.path.abspath(folder), "group_by": group_by,
            "val_fraction": val_fraction, "test_fraction": test_fraction}
    return prepare_corpus(sources, out_dir, num_clips, ratios=ratios, seed=seed, skipped=skipped, info=info,
                          **options)


def prepare_vctk(root, out_dir, num_clips=50000, mode="multi", ratios=(2, 4), seed=0,
                 test_speakers=corpora.KULESHOV_TEST_SPEAKERS, num_val_speakers=4, speaker="p225",
                 num_val_utterances=8, num_test_utterances=8, mic="mic1", **options):
    """VCTK (0.92 or 0.80 layout) split as in Kuleshov et al.; see :func:`audiosr.data.corpora.vctk_sources`."""
    sources, skipped, info = corpora.vctk_sources(
        root, mode=mode, test_speakers=test_speakers, num_val_speakers=num_val_speakers, speaker=speaker,
        num_val_utterances=num_val_utterances, num_test_utterances=num_test_utterances, mic=mic, seed=seed)
    return prepare_corpus(sources, out_dir, num_clips, ratios=ratios, seed=seed, skipped=skipped, info=info,
                          **options)


def prepare_fma(root, out_dir, num_clips=50000, subset=None, metadata_dir=None, ratios=(2, 4), seed=0,
                val_fraction=0.1, test_fraction=0.1, **options):
    """FMA (fma_small / medium / large folders of MP3s) split by track; see :func:`audiosr.data.corpora.fma_sources`."""
    sources, skipped, info = corpora.fma_sources(root, subset, metadata_dir, val_fraction, test_fraction, seed)
    return prepare_corpus(sources, out_dir, num_clips, ratios=ratios, seed=seed, skipped=skipped, info=info,
                          **options)


def _write_synthetic_utterance(job):
    """Worker: one synthetic recording as 16-bit FLAC (kept if already written: writes are atomic)."""
    path, seed, num_samples, rate = job
    if not os.path.exists(path):
        write_audio_atomic(path, generate_clip(np.random.default_rng(seed), num_samples, rate), rate,
                           subtype="PCM_16")
    return path


def _reset_if_changed(folder, generation):
    """Keep utterances written by an earlier run only if they were made the same way."""
    stamp = os.path.join(folder, "generation.json")
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as f:
            if json.load(f) == generation:
                return
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    write_json_atomic(stamp, generation)


def prepare_synthetic(out_dir, num_clips=3000, utterance_seconds=4.0, val_fraction=0.1, test_fraction=0.1,
                      ratios=(2, 4), seed=0, num_workers=2, clip_seconds=0.5, sample_rate=SAMPLE_RATE,
                      progress=True, **options):
    """The embedded default data set, made without any download.

    Writes speech-like and chirp recordings (:mod:`audiosr.data.synthetic`) as
    FLAC files under ``out_dir/utterances/<split>/`` -- enough audio that
    ``num_clips`` training clips rarely overlap -- then prepares them like
    any corpus, so the val/test files serve whole-utterance evaluation.
    """
    train_fraction = 1.0 - val_fraction - test_fraction
    total = math.ceil(num_clips * clip_seconds / utterance_seconds / train_fraction)
    num_val, num_test = round(total * val_fraction), round(total * test_fraction)
    splits = ["val"] * num_val + ["test"] * num_test + ["train"] * (total - num_val - num_test)
    num_samples = round(utterance_seconds * sample_rate)
    folder = os.path.join(os.path.abspath(out_dir), "utterances")
    _reset_if_changed(folder, {"seed": seed, "num_samples": num_samples, "sample_rate": sample_rate})
    jobs = [(os.path.join(folder, split, f"{split}_{i:05d}.flac"), (seed, i), num_samples, sample_rate)
            for i, split in enumerate(splits)]
    with _Workers(num_workers) as workers:
        paths = list(tqdm(workers.imap(_write_synthetic_utterance, jobs, chunksize=4), total=len(jobs),
                          desc="synthesise", unit="file", disable=not progress))
    sources = [Source(path, split, os.path.basename(path)) for path, split in zip(paths, splits)]
    info = {"corpus": "synthetic", "generator": "audiosr.data.synthetic.generate_clip",
            "utterance_seconds": utterance_seconds, "utterances": {s: splits.count(s) for s in SPLITS}}
    return prepare_corpus(sources, out_dir, num_clips, ratios=ratios, seed=seed, num_workers=num_workers,
                          clip_seconds=clip_seconds, sample_rate=sample_rate, info=info, progress=progress,
                          **options)
