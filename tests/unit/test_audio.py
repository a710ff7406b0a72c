"""Decoding: any container PyAV reads becomes 16 kHz mono; non-audio is refused clearly."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hams.errors import PayloadTooLarge, UnsupportedMedia
from hams.media.audio import decode_audio
from tests.helpers.memory import traced_peak


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def write_media(path: Path, codec: str, rate: int, seconds: float, video: bool = False) -> Path:
    """Encode a 440 Hz tone (and optionally a video stream) with PyAV."""
    with av.open(str(path), "w") as container:
        if video:
            vstream = container.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = container.add_stream(codec, rate=rate)
        astream.layout = "stereo"
        samples = tone(seconds, rate)
        frame_size = 1024
        for start in range(0, len(samples), frame_size):
            chunk = samples[start:start + frame_size]
            stereo = np.vstack([chunk, chunk]).astype(np.float32)
            fmt = "fltp" if codec in ("aac", "libopus", "mp3", "libmp3lame") else "s16p"
            data = stereo if fmt == "fltp" else (stereo * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="stereo")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in astream.encode(frame):
                container.mux(packet)
        if video:
            for index in range(int(seconds * 10)):
                image = av.VideoFrame.from_ndarray(
                    np.zeros((48, 64, 3), dtype=np.uint8), format="rgb24")
                image.pts = index
                for packet in vstream.encode(image):
                    container.mux(packet)
            for packet in vstream.encode():
                container.mux(packet)
        for packet in astream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("name, codec, rate, video", [
    ("tone.wav", "pcm_s16le", 44100, False),
    ("tone.m4a", "aac", 48000, False),
    ("tone.mp4", "aac", 22050, True),
])
def test_decodes_to_16k_mono(tmp_path, name, codec, rate, video):
    path = write_media(tmp_path / name, codec, rate, 2.0, video)
    audio = decode_audio(path, max_seconds=60)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) / 16000 == pytest.approx(2.0, abs=0.1)
    assert 0.1 < float(np.abs(audio).max()) <= 1.0


def test_text_file_is_unsupported_media(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("definitely not audio\n" * 100)
    with pytest.raises(UnsupportedMedia) as caught:
        decode_audio(path, max_seconds=60)
    assert caught.value.status_code == 415 and "decoded" in caught.value.message


def test_video_without_audio_is_refused(tmp_path):
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(UnsupportedMedia, match="no audio stream"):
        decode_audio(path, max_seconds=60)


def test_too_long_media_is_refused(tmp_path):
    path = write_media(tmp_path / "long.wav", "pcm_s16le", 16000, 3.0)
    with pytest.raises(PayloadTooLarge, match="HAMS_MEDIA_MAX_SECONDS"):
        decode_audio(path, max_seconds=1.0)


def write_low_rate_flac(target, frame_size: int, frames: int, rate: int = 1) -> None:
    """A few KB of FLAC at ``rate`` Hz: each frame lasts ``frame_size / rate`` seconds."""
    with av.open(target, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono", format="s16",
                                      options={"frame_size": str(frame_size)})
        noise = np.random.default_rng(7).integers(-8000, 8000, (1, frame_size), np.int16)
        for index in range(frames):
            frame = av.AudioFrame.from_ndarray(noise, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, index * frame_size
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


class Unseekable(io.RawIOBase):
    """An output the FLAC muxer cannot seek back in, so the header declares no length."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def test_declared_duration_over_the_limit_is_refused_before_decoding(tmp_path):
    path = tmp_path / "liar.flac"
    write_low_rate_flac(str(path), frame_size=4608, frames=2)  # 9216 s in 25 KB
    assert path.stat().st_size < 32_000

    def decode():
        with pytest.raises(PayloadTooLarge, match="limit of 60 s") as caught:
            decode_audio(path, max_seconds=60)
        assert caught.value.status_code == 413

    assert traced_peak(decode) < 1_000_000  # one frame resampled is 4608 s × 16 kHz: 295 MB


def test_undeclared_stream_stops_at_the_first_frame_past_the_limit():
    out = Unseekable()
    write_low_rate_flac(out, frame_size=4608, frames=2)
    assert av.open(io.BytesIO(bytes(out.data))).duration is None  # nothing declared

    def decode():
        with pytest.raises(PayloadTooLarge, match="HAMS_MEDIA_MAX_SECONDS"):
            decode_audio(io.BytesIO(bytes(out.data)), max_seconds=60)

    assert traced_peak(decode) < 8_000_000  # the first, empty buffer (61 s); not 295 MB


def test_low_rate_audio_decodes_into_one_buffer(tmp_path):
    path = tmp_path / "slow.flac"
    write_low_rate_flac(str(path), frame_size=192, frames=2)  # 384 s, 16 000-fold expansion
    result = {}
    peak = traced_peak(lambda: result.update(audio=decode_audio(path, max_seconds=600)))
    audio = result["audio"]
    assert len(audio) == pytest.approx(384 * 16_000, abs=16)
    assert audio.dtype == np.float32 and np.isfinite(audio).all() and np.abs(audio).max() > 0.1
    assert peak < audio.nbytes * 1.05 + 2_000_000  # no list of chunks, no concatenate copies


def test_a_file_exactly_at_the_limit_decodes(tmp_path):
    path = write_media(tmp_path / "minute.wav", "pcm_s16le", 8000, 60.0)
    assert len(decode_audio(path, max_seconds=60)) == 60 * 16_000
