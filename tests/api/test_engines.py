"""STT model choice: fallback to the bundled model, English-only refusals, clear failures."""

from __future__ import annotations

import logging

import pytest

from hams.db.models import Job
from hams.engines import models as model_module
from hams.engines.models import SttModels
from hams.errors import UnsupportedLanguage
from hams.runtime import build_runtime
from hams.services.transcription import check_model_and_language
from hams.worker.runner import Worker
from tests.conftest import make_settings
from tests.factories import make_job, make_principal


@pytest.fixture
def broken_model_dir(tmp_path):
    """A directory that looks like a model but is not one: loading it fails locally."""
    path = tmp_path / "broken-model"
    path.mkdir()
    (path / "model.bin").write_bytes(b"not a ctranslate2 model")
    (path / "config.json").write_text("{}")
    return path


def test_unloadable_model_falls_back_to_bundled_with_a_warning(tmp_path, broken_model_dir,
                                                                caplog):
    models = SttModels(make_settings(tmp_path, stt_model=str(broken_model_dir)))
    assert models.english_only(str(broken_model_dir)) is False  # unknown before loading
    with caplog.at_level(logging.WARNING, logger="hams.engines.models"):
        engine = models.get(str(broken_model_dir))
    assert "falling back to the bundled tiny.en" in caplog.text
    assert engine.multilingual is False
    assert models.english_only(str(broken_model_dir)) is True  # known once loaded


def test_english_only_mapping_refuses_arabic_at_submission(tmp_path):
    settings = make_settings(tmp_path, stt_model="bundled")
    models = SttModels(settings)
    with pytest.raises(UnsupportedLanguage, match="HAMS_STT_MODEL"):
        check_model_and_language(settings, models, "Hamsa-General-V2.0", "ar")
    check_model_and_language(settings, models, "Hamsa-General-V2.0", "en")
    named = make_settings(tmp_path, stt_model="small.en")
    with pytest.raises(UnsupportedLanguage):
        check_model_and_language(named, SttModels(named), "Hamsa-Conversational-V1.0", "ar")


def test_no_loadable_model_fails_the_job_with_what_to_configure(
        tmp_path, broken_model_dir, media_server, speech, monkeypatch):
    monkeypatch.setattr(model_module, "bundled_model_path", lambda: None)  # offline extra absent
    runtime = build_runtime(make_settings(tmp_path, stt_model=str(broken_model_dir)))
    url = media_server.add_file("for-broken-model.wav", speech.read_bytes())
    job = make_job(runtime, make_principal(runtime), media_url=url)
    worker = Worker(runtime)
    assert worker.run_once()
    with runtime.db.session() as session:
        failed = session.get(Job, job.id)
    assert failed.status == "FAILED" and failed.attempts == 1
    assert "HAMS_STT_MODEL" in failed.error and "offline" in failed.error


def test_fallback_is_retried_and_replaced_by_the_real_model(tmp_path, broken_model_dir):
    import shutil

    from hams.engines.models import bundled_model_path

    models = SttModels(make_settings(tmp_path, stt_model=str(broken_model_dir)))
    assert models.get(str(broken_model_dir)).name == "tiny.en (bundled)"
    for item in bundled_model_path().iterdir():  # the model directory becomes loadable
        shutil.copy(item, broken_model_dir / item.name)
    assert models.get(str(broken_model_dir)).name == "tiny.en (bundled)"  # not yet retried
    models._retry_real_at[str(broken_model_dir)] = 0.0  # the retry time has come
    assert models.get(str(broken_model_dir)).name == str(broken_model_dir)
