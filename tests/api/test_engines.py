"""STT model choice: the bundled multilingual fallback, its integrity check, English-only
refusals that tell the whole truth, and clear failures."""

from __future__ import annotations

import hashlib
import logging
import shutil

import pytest

from hams.engines import models as model_module
from hams.engines.models import SttModels
from hams.engines.stt.bundled import (
    WHISPER_BASE,
    ModelIntegrityError,
    PackagedFile,
    SplitModel,
    prepare_split_model,
    tiny_en_path,
)
from hams.errors import EngineUnavailable, UnsupportedLanguage
from hams.runtime import build_runtime
from hams.services.transcription import check_model_and_language
from hams.worker.runner import Worker
from tests.conftest import make_settings
from tests.factories import load_job, make_job, make_principal


@pytest.fixture
def broken_model_dir(tmp_path):
    """A directory that looks like a model but is not one: loading it fails locally."""
    path = tmp_path / "broken-model"
    path.mkdir()
    (path / "model.bin").write_bytes(b"not a ctranslate2 model")
    (path / "config.json").write_text("{}")
    return path


def test_unloadable_model_falls_back_to_the_multilingual_bundled_model(
        tmp_path, broken_model_dir, caplog):
    models = SttModels(make_settings(tmp_path, stt_model=str(broken_model_dir)))
    with caplog.at_level(logging.WARNING, logger="hams.engines.models"):
        engine = models.get(str(broken_model_dir))
    assert engine.name == "whisper-base (bundled)" and engine.multilingual is True
    assert "falling back to whisper-base (bundled)" in caplog.text
    status = models.status(str(broken_model_dir))
    assert status.state == "fallback" and status.served_by == "whisper-base (bundled)"
    assert "could not be read as a CTranslate2 Whisper model" in status.reason
    assert models.english_only(str(broken_model_dir)) is False
    told = " ".join([status.configured, status.reason, status.fix, status.explain()])
    assert str(tmp_path) not in told  # no server path in anything a user reads


def test_the_bundled_model_is_joined_into_the_data_dir_and_verified(tmp_path):
    directory = prepare_split_model(WHISPER_BASE, tmp_path / "models")
    assert directory == tmp_path / "models" / "bundled-whisper-base"
    digest = hashlib.sha256((directory / "model.bin").read_bytes()).hexdigest()
    assert digest == WHISPER_BASE.model_sha256
    assert {p.name for p in directory.iterdir()} == {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]


@pytest.fixture
def small_split(tmp_path, monkeypatch):
    """A split model of three small files in an importable package of this test's own."""
    package = tmp_path / "site" / "hams_test_split_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    contents = {"part1": b"first half of the weights|", "part2": b"second half",
                "config.json": b'{"ok": true}'}
    for name, data in contents.items():
        (package / name).write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))

    def packaged(name: str) -> PackagedFile:
        return PackagedFile("hams_test_split_model", name,
                            hashlib.sha256(contents[name]).hexdigest())

    spec = SplitModel(
        name="test model", directory="test-model", parts=(packaged("part1"), packaged("part2")),
        files=(packaged("config.json"),),
        model_sha256=hashlib.sha256(contents["part1"] + contents["part2"]).hexdigest(),
        install_hint="hams-test-split-model")
    return spec, package


def test_a_corrupted_part_is_refused_and_nothing_is_loaded(tmp_path, small_split):
    spec, package = small_split
    (package / "part2").write_bytes(b"second HALF")  # one flipped byte range, same size
    with pytest.raises(ModelIntegrityError) as refused:
        prepare_split_model(spec, tmp_path / "models")
    assert "part 2 of 2" in refused.value.message and "SHA-256" in refused.value.message
    assert "pip install --force-reinstall" in refused.value.message
    assert str(tmp_path) not in refused.value.message
    assert not (tmp_path / "models" / "test-model").exists()


def test_a_damaged_joined_copy_is_joined_again(tmp_path, small_split):
    spec, _ = small_split
    directory = prepare_split_model(spec, tmp_path / "models")
    assert (directory / "model.bin").read_bytes() == b"first half of the weights|second half"
    (directory / "model.bin").write_bytes(b"bit rot")
    again = prepare_split_model(spec, tmp_path / "models")
    assert (again / "model.bin").read_bytes() == b"first half of the weights|second half"
    assert (again / "config.json").read_bytes() == b'{"ok": true}'


def test_english_only_model_refuses_arabic_at_submission_saying_what_to_do(tmp_path):
    settings = make_settings(tmp_path, stt_model="bundled-tiny.en")
    models = SttModels(settings)
    with pytest.raises(UnsupportedLanguage) as refused:
        check_model_and_language(settings, models, "Hamsa-General-V2.0", "ar")
    assert "tiny.en (bundled)" in refused.value.message
    assert "large-v3-turbo" in refused.value.message and "HAMS_STT_MODEL" in refused.value.message
    check_model_and_language(settings, models, "Hamsa-General-V2.0", "en")
    check_model_and_language(settings, models, "Hamsa-General-V2.0", "auto")
    named = make_settings(tmp_path, stt_model="small.en")
    with pytest.raises(UnsupportedLanguage):
        check_model_and_language(named, SttModels(named), "Hamsa-Conversational-V1.0", "ar")
    with pytest.raises(UnsupportedLanguage, match="'ar', 'en' or 'auto'"):
        check_model_and_language(settings, models, "Hamsa-General-V2.0", "fr")


def test_the_default_install_accepts_arabic(tmp_path):
    for model in ("bundled", "large-v3-turbo"):
        settings = make_settings(tmp_path, stt_model=model)
        check_model_and_language(settings, SttModels(settings), "Hamsa-General-V2.0", "ar")


def test_a_fallback_to_english_only_tells_why_in_the_refusal(tmp_path, broken_model_dir,
                                                             monkeypatch):
    monkeypatch.setattr(model_module, "WHISPER_BASE", _missing_split())
    settings = make_settings(tmp_path, stt_model=str(broken_model_dir))
    models = SttModels(settings)
    assert models.get(str(broken_model_dir)).name == "tiny.en (bundled)"
    with pytest.raises(UnsupportedLanguage) as refused:
        check_model_and_language(settings, models, "Hamsa-General-V2.0", "ar")
    message = refused.value.message
    assert "local model 'broken-model' could not be loaded" in message
    assert "tiny.en (bundled) serves instead" in message and "to fix:" in message
    assert str(tmp_path) not in message


def _missing_split() -> SplitModel:
    return SplitModel(name="whisper-base (bundled)", directory="absent",
                      parts=(PackagedFile("hams_no_such_package", "part", "0" * 64),), files=(),
                      model_sha256="0" * 64, install_hint="none")


def test_no_loadable_model_fails_the_job_with_what_to_configure(
        tmp_path, broken_model_dir, media_server, speech, monkeypatch):
    monkeypatch.setattr(model_module, "WHISPER_BASE", _missing_split())  # offline extra absent
    monkeypatch.setattr(model_module, "tiny_en_path", lambda: None)
    runtime = build_runtime(make_settings(tmp_path, stt_model=str(broken_model_dir)))
    url = media_server.add_file("for-broken-model.wav", speech.read_bytes())
    job = make_job(runtime, make_principal(runtime), media_url=url)
    worker = Worker(runtime)
    assert worker.run_once()
    failed = load_job(runtime, job.id)
    assert failed.status == "FAILED" and failed.attempts == 1
    assert "HAMS_STT_MODEL" in failed.error and "offline" in failed.error
    assert str(tmp_path) not in failed.error
    assert runtime.models.status(str(broken_model_dir)).state == "unavailable"
    with pytest.raises(EngineUnavailable):
        runtime.models.get(str(broken_model_dir))
    runtime.db.dispose()


def test_fallback_is_retried_and_replaced_by_the_real_model(tmp_path, broken_model_dir):
    models = SttModels(make_settings(tmp_path, stt_model=str(broken_model_dir)))
    assert models.get(str(broken_model_dir)).name == "whisper-base (bundled)"
    for item in tiny_en_path().iterdir():  # the model directory becomes loadable
        shutil.copy(item, broken_model_dir / item.name)
    assert models.get(str(broken_model_dir)).name == "whisper-base (bundled)"  # not yet retried
    models._retry_real_at[str(broken_model_dir)] = 0.0  # the retry time has come
    assert models.get(str(broken_model_dir)).name == "local model 'broken-model'"
    assert models.status(str(broken_model_dir)).state == "loaded"


def test_a_model_that_cannot_be_downloaded_says_so(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # as on a machine without network
    models = SttModels(make_settings(tmp_path, stt_model="large-v3-turbo"))
    assert models.get("large-v3-turbo").name == "whisper-base (bundled)"
    status = models.status("large-v3-turbo")
    assert "no network to download large-v3-turbo" in status.reason
    assert "hams models download large-v3-turbo" in status.fix
