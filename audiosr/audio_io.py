"""Reading and writing audio files, with errors that name the file.

Data preparation and the command line both read audio here, so bad input is
judged the same way everywhere: :class:`AudioFileError` carries the path and
a one-line reason, and callers decide whether to skip the file or stop.
"""

import os
import tempfile

import numpy as np
import soundfile

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".au", ".opus", ".m4a")


class AudioFileError(Exception):
    """A file that cannot be used as audio; ``str()`` names file and reason."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def is_audio_path(path):
    return str(path).lower().endswith(AUDIO_EXTENSIONS)


def _decode(path):
    """Decode to float32 (channels, samples): soundfile first, librosa for the rest."""
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
        return data.T, int(rate)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as sf_error:
        first_error = sf_error
    try:
        import librosa

        data, rate = librosa.load(path, sr=None, mono=False)
    except Exception as error:  # librosa surfaces many backend-specific errors
        raise AudioFileError(path, f"not readable as audio ({first_error}; {error})") from error
    return np.atleast_2d(data).astype(np.float32), int(rate)


def resample(x, orig_rate, target_rate):
    """High-quality (soxr) resampling along the last axis."""
    if int(orig_rate) == int(target_rate):
        return np.asarray(x, dtype=np.float32)
    import librosa

    return librosa.resample(
        np.asarray(x, dtype=np.float32), orig_sr=orig_rate, target_sr=target_rate, res_type="soxr_hq"
    ).astype(np.float32)


def load_audio(path, target_rate=None, mono=True, min_samples=1):
    """Read ``path`` as float32 audio.

    Returns ``(audio, rate)``: audio is (samples,) when ``mono`` (channels
    averaged) and (channels, samples) otherwise; ``rate`` is ``target_rate``
    when given. Raises :class:`AudioFileError` for missing, unreadable,
    empty, too short or non-finite audio.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioFileError(path, "no such file")
    if os.path.getsize(path) == 0:
        raise AudioFileError(path, "empty file")
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
    """Write (samples,) or (channels, samples) audio so a reader never sees half a file.

    The data go to a temporary file in the target folder, then replace
    ``path`` in one rename.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    audio = np.asarray(audio, dtype=np.float32)
    frames = audio.T if audio.ndim == 2 else audio
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        soundfile.write(tmp, frames, int(rate), subtype=subtype)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
