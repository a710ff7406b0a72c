"""Audio out: resampling, μ-law and WAV headers, checked against wave, FFmpeg and G.711 values."""

from __future__ import annotations

import io
import struct
import wave

import av
import numpy as np
import pytest

from hams.media.wav import decode_mulaw, encode_mulaw, resample, to_wav_bytes, wav_header


def tone(freq: float, rate: int, seconds: float, amplitude: float = 12000) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def peak_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[np.argmax(spectrum)])


def chunks(data: bytes) -> dict[bytes, tuple[int, bytes]]:
    """RIFF chunk id -> (size field, first bytes of the body), parsed by hand."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    found, offset = {}, 12
    while offset + 8 <= len(data):
        cid, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        found[cid] = (size, data[offset + 8:offset + 8 + min(size, 64)])
        if cid == b"data":
            break
        offset += 8 + size + (size & 1)
    return found


def decode_with_ffmpeg(data: bytes) -> tuple[int, np.ndarray]:
    with av.open(io.BytesIO(data), format="wav") as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
        return stream.rate, np.concatenate(frames)


def test_pcm_wav_reads_back_with_wave() -> None:
    pcm = tone(440, 16000, 1.25)
    with wave.open(io.BytesIO(to_wav_bytes(pcm, 16000))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() == pcm.size
        assert np.array_equal(np.frombuffer(wav.readframes(pcm.size), "<i2"), pcm)


def test_stereo_wav_counts_frames_not_samples() -> None:
    pcm = np.stack([tone(440, 8000, 0.5), tone(880, 8000, 0.5)], axis=1)
    with wave.open(io.BytesIO(to_wav_bytes(pcm, 8000))) as wav:
        assert (wav.getnchannels(), wav.getnframes()) == (2, pcm.shape[0])


def test_pcm_header_is_the_canonical_44_bytes() -> None:
    header = wav_header(22050, data_size=1000)
    assert len(header) == 44
    assert struct.unpack("<I", header[4:8])[0] == 36 + 1000
    assert struct.unpack("<HHIIHH", header[20:36]) == (1, 1, 22050, 44100, 2, 16)
    assert header[36:40] == b"data" and struct.unpack("<I", header[40:44])[0] == 1000


def test_streaming_header_has_unknown_sizes_and_ffmpeg_plays_it() -> None:
    header = wav_header(16000)
    assert struct.unpack("<I", header[4:8])[0] == 0xFFFFFFFF
    assert struct.unpack("<I", header[40:44])[0] == 0xFFFFFFFF
    pcm = tone(300, 16000, 0.5)
    rate, decoded = decode_with_ffmpeg(header + pcm.tobytes())
    assert rate == 16000 and np.array_equal(decoded, pcm)


def test_mulaw_reference_values() -> None:
    samples = np.array([0, -1, 120, 32767, -32768, 32635, -32635], dtype=np.int16)
    assert encode_mulaw(samples) == bytes([0xFF, 0x7F, 0xF0, 0x80, 0x00, 0x80, 0x00])
    decoded = decode_mulaw(bytes([0xFF, 0x7F, 0xF0, 0x80, 0x00, 0x8F, 0x70]))
    assert decoded.tolist() == [0, 0, 120, 32124, -32124, 16764, -120]


def test_mulaw_round_trip_of_every_sample_is_monotonic_and_close() -> None:
    samples = np.arange(-32768, 32768, dtype=np.int16)
    back = decode_mulaw(encode_mulaw(samples)).astype(np.int32)
    assert np.all(np.diff(back) >= 0)
    error = np.abs(back - samples)
    assert error.max() <= 644  # at the clipped extremes
    magnitude = np.abs(samples.astype(np.int32))
    inside = magnitude <= 32635  # half a quantization step: 4 << segment <= |x| / 32 + 5
    assert np.all(error[inside] <= magnitude[inside] // 32 + 5)


def test_mulaw_sine_snr_above_30_db() -> None:
    pcm = tone(440, 8000, 1.0, amplitude=16000)
    noise = decode_mulaw(encode_mulaw(pcm)).astype(np.float64) - pcm
    snr = 10 * np.log10(np.sum(pcm.astype(np.float64) ** 2) / np.sum(noise**2))
    assert snr > 30


def test_mulaw_wav_header_parsed_by_hand_and_decoded_by_ffmpeg() -> None:
    pcm = tone(440, 8000, 0.25)[:1999]  # odd length: the data chunk needs a pad byte
    data = to_wav_bytes(pcm, 8000, mulaw=True)
    found = chunks(data)
    fmt_size, fmt = found[b"fmt "]
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", fmt[:16])
    assert (tag, channels, rate, byte_rate, align, bits) == (7, 1, 8000, 8000, 1, 8)
    assert fmt_size == 18 and struct.unpack("<I", found[b"fact"][1][:4])[0] == 1999
    assert found[b"data"][0] == 1999
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8 and len(data) % 2 == 0
    rate, decoded = decode_with_ffmpeg(data)
    assert rate == 8000 and np.array_equal(decoded, decode_mulaw(encode_mulaw(pcm)))


def test_mulaw_streaming_header() -> None:
    header = wav_header(8000, mulaw=True)
    found = chunks(header)
    assert struct.unpack("<I", header[4:8])[0] == 0xFFFFFFFF
    assert found[b"data"][0] == 0xFFFFFFFF
    assert struct.unpack("<H", found[b"fmt "][1][:2])[0] == 7


def test_resample_keeps_duration_and_pitch() -> None:
    pcm = tone(440, 22050, 2.0)
    out = resample(pcm, 22050, 16000)
    assert out.dtype == np.int16
    assert abs(out.size / 16000 - 2.0) < 0.02
    assert abs(peak_hz(out, 16000) - 440) < 2
    assert 0.9 < np.abs(out[1000:-1000]).max() / 12000 < 1.1


def test_resample_filters_what_the_new_rate_cannot_hold() -> None:
    out = resample(tone(6000, 22050, 1.0), 22050, 8000)  # would alias to 2 kHz
    assert np.sqrt(np.mean(out[200:-200].astype(np.float64) ** 2)) < 100


@pytest.mark.parametrize("to_rate", [8000, 16000, 24000])
def test_resample_per_chunk_keeps_total_duration_without_gaps(to_rate: int) -> None:
    pcm = tone(440, 22050, 3.0)
    pieces = np.array_split(pcm, [5000, 5001, 17000, 40000])
    joined = np.concatenate([resample(p, 22050, to_rate) for p in pieces])
    assert abs(joined.size - pcm.size * to_rate / 22050) <= len(pieces)
    assert abs(peak_hz(joined, to_rate) - 440) < 2


def test_resample_same_rate_and_empty() -> None:
    pcm = tone(440, 16000, 0.1)
    assert np.array_equal(resample(pcm, 16000, 16000), pcm)
    assert resample(np.zeros(0, np.int16), 22050, 16000).size == 0
    assert resample(pcm[:7], 16000, 8000).size == 4
