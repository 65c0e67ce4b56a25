"""Reading and writing audio files, with errors that name the file.

Data preparation and the command line both read audio here, so bad input is
judged the same way everywhere: :class:`AudioFileError` carries the path and
a one-line reason, and callers decide whether to skip the file or stop.
"""

import contextlib
import math
import os
import pathlib
import warnings

import numpy as np
import soundfile

from audiosr.atomic import atomic_path

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".au", ".opus", ".m4a")


class AudioFileError(Exception):
    """A file that cannot be used as audio; ``str()`` names file and reason."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def is_audio_path(path):
    return str(path).lower().endswith(AUDIO_EXTENSIONS)


def broken_link(path):
    """Why ``path`` cannot be read although it is listed: a symbolic link to nothing (else None)."""
    path = pathlib.Path(path)
    if path.is_symlink() and not path.exists():
        return f"broken symbolic link (to {os.readlink(path)}, which does not exist)"
    return None


def list_audio_files(folder):
    """What ``folder`` holds, searched recursively: ``(audio, other, broken)``, each sorted.

    ``audio`` and ``other`` are the files with and without an audio
    extension; ``broken`` pairs each broken symbolic link with its reason,
    so callers can report it instead of losing it. Hidden files and folders
    are left out. Paths start with ``folder`` as given.
    """
    folder = pathlib.Path(folder)
    audio, other, broken = [], [], []
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        reason = broken_link(path)
        if reason is not None:
            broken.append((path, reason))
        elif path.is_file():
            (audio if is_audio_path(path) else other).append(path)
    return audio, other, broken


def _decode(path):
    """Decode to float32 (channels, samples): soundfile first, librosa for the rest."""
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
        return data.T, int(rate)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as sf_error:
        first_error = sf_error
    try:
        import librosa

        with warnings.catch_warnings():  # librosa warns that it falls back to audioread
            warnings.simplefilter("ignore")
            data, rate = librosa.load(path, sr=None, mono=False)
    except Exception as error:  # librosa surfaces many backend-specific errors
        reasons = [getattr(first_error, "error_string", None) or str(first_error), str(error) or type(error).__name__]
        raise AudioFileError(path, f"not readable as audio ({'; '.join(reasons)})") from error
    return np.atleast_2d(data).astype(np.float32), int(rate)


def resample(x, orig_rate, target_rate):
    """High-quality (soxr HQ) resampling along the last axis, to ``ceil(samples * target / orig)`` samples
    (librosa's convention; soxr itself rounds)."""
    x = np.asarray(x, dtype=np.float32)
    if int(orig_rate) == int(target_rate):
        return x
    import soxr

    length = math.ceil(x.shape[-1] * int(target_rate) / int(orig_rate))
    y = soxr.resample(np.ascontiguousarray(x.T), int(orig_rate), int(target_rate), quality="HQ").T[..., :length]
    padding = [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])]
    return np.pad(y, padding).astype(np.float32)


def _check_file(path):
    """``path`` as a string, if it names a non-empty file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioFileError(path, "no such file")
    if os.path.getsize(path) == 0:
        raise AudioFileError(path, "empty file")
    return path


def load_audio(path, target_rate=None, mono=True, min_samples=1):
    """Read ``path`` as float32 audio.

    Returns ``(audio, rate)``: audio is (samples,) when ``mono`` (channels
    averaged) and (channels, samples) otherwise; ``rate`` is ``target_rate``
    when given. Raises :class:`AudioFileError` for missing, unreadable,
    empty, too short or non-finite audio.
    """
    path = _check_file(path)
    audio, rate = _decode(path)
    if audio.shape[-1] == 0:
        raise AudioFileError(path, "no audio samples")
    if not np.all(np.isfinite(audio)):
        raise AudioFileError(path, "holds NaN or infinite samples")
    if mono:
        audio = audio.mean(axis=0)
    if target_rate is not None and rate != target_rate:
        audio = resample(audio, rate, target_rate)
        rate = int(target_rate)
    if audio.shape[-1] < min_samples:
        raise AudioFileError(
            path, f"too short: {audio.shape[-1]} samples at {rate} Hz, need at least {min_samples}"
        )
    return audio, rate


def write_audio_atomic(path, audio, rate, subtype=None):
    """Write (samples,) or (channels, samples) audio so a reader never sees half a file."""
    audio = np.asarray(audio, dtype=np.float32)
    block = audio if audio.ndim == 2 else audio.reshape(1, -1)
    with AtomicAudioWriter(path, rate, block.shape[0], subtype=subtype) as writer:
        writer.write(block)


class AudioReader:
    """Block-wise reading, so a long recording costs constant memory.

    soundfile streams what libsndfile decodes (WAV, FLAC, OGG, MP3, AIFF, ...)
    straight from disk; other formats are decoded whole by :func:`load_audio`
    (librosa), so their memory grows with their length. ``rate``,
    ``channels``, ``frames`` and ``subtype`` (libsndfile's sample format, None
    for librosa) are known on opening; blocks are float32
    (channels, n) arrays. Problems raise :class:`AudioFileError`, including a
    NaN found halfway through the file.
    """

    def __init__(self, path):
        self.path = _check_file(path)
        self._file = None
        self._audio = None
        try:
            self._file = soundfile.SoundFile(self.path)
            self.rate, self.channels, self.frames = self._file.samplerate, self._file.channels, self._file.frames
            self.subtype = self._file.subtype
        except (soundfile.LibsndfileError, RuntimeError, TypeError):
            self._audio, self.rate = load_audio(self.path, mono=False)
            self.channels, self.frames = self._audio.shape
            self.subtype = None
        if self.frames == 0:
            self.close()
            raise AudioFileError(self.path, "no audio samples")

    def blocks(self, block_frames):
        """Yield the whole file as consecutive (channels, <= block_frames) blocks."""
        if self._audio is not None:
            for start in range(0, self.frames, block_frames):
                yield self._audio[:, start:start + block_frames]
            return
        self._file.seek(0)
        while True:
            try:
                block = self._file.read(block_frames, dtype="float32", always_2d=True)
            except (soundfile.LibsndfileError, RuntimeError) as error:
                raise AudioFileError(self.path,
                                     f"decoding failed after {self._file.tell()} frames ({error})") from error
            if block.shape[0] == 0:
                return
            if not np.all(np.isfinite(block)):
                raise AudioFileError(self.path, "holds NaN or infinite samples")
            yield block.T

    def close(self):
        if self._file is not None:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class StreamResampler:
    """:func:`resample`'s soxr filter applied block by block with its state carried over.

    Rates may be fractional (16000 / 3). Blocks are (channels, n); call with
    ``last=True`` once at the end to flush the filter's delay line.
    """

    def __init__(self, orig_rate, target_rate, channels):
        self._stream = None
        if float(orig_rate) != float(target_rate):
            import soxr

            self._stream = soxr.ResampleStream(
                float(orig_rate), float(target_rate), int(channels), dtype="float32", quality="soxr_hq"
            )

    def __call__(self, block, last=False):
        block = np.asarray(block, dtype=np.float32)
        if self._stream is None:
            return block
        return self._stream.resample_chunk(np.ascontiguousarray(block.T), last=last).T


class AtomicAudioWriter:
    """A sound file written block by block through :func:`audiosr.atomic.atomic_path`.

    Leaving the ``with`` block normally renames it to ``path`` in one step;
    an exception deletes it, so ``path`` never holds half a file.
    ``format`` defaults to the one ``path``'s extension implies.
    """

    def __init__(self, path, rate, channels, subtype=None, format=None):
        self.path = os.fspath(path)
        with contextlib.ExitStack() as stack:  # an error below unwinds both: no temporary file is left
            tmp = stack.enter_context(atomic_path(self.path))
            self._file = stack.enter_context(soundfile.SoundFile(
                tmp, "w", samplerate=int(rate), channels=int(channels), subtype=subtype, format=format))
            self._stack = stack.pop_all()

    def write(self, block):
        """Append a (channels, n) float block."""
        self._file.write(np.ascontiguousarray(np.asarray(block, dtype=np.float32).T))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return self._stack.__exit__(*exc_info)  # close the file, then rename it (or delete it on error)
