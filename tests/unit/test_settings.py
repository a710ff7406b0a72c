"""Settings: environment parsing, database URL defaults, and refused contradictions."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hams.settings import Settings


def test_defaults_give_sqlite_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'hams.db'}"
    assert settings.allow_private_urls is False


def test_postgres_urls_use_psycopg3():
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        assert Settings(database_url=url).resolved_database_url == "postgresql+psycopg://u@h/db"


def test_environment_is_read_with_the_prefix(monkeypatch):
    monkeypatch.setenv("HAMS_DATA_DIR", "/srv/hams")
    monkeypatch.setenv("HAMS_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("HAMS_URL_ALLOWLIST", '["media.internal:8080"]')
    monkeypatch.setenv("HAMS_STT_PRICE_PER_MINUTE", '{"Hamsa-General-V2.0": 0.02}')
    monkeypatch.setenv("HAMS_PUBLIC_URL", "https://speech.example.com/")
    settings = Settings()
    assert settings.data_dir == Path("/srv/hams") and settings.allow_private_urls
    assert settings.url_allowlist == ["media.internal:8080"]
    assert settings.stt_price_per_minute["Hamsa-General-V2.0"] == 0.02
    assert settings.public_url == "https://speech.example.com"


def test_model_mapping_per_public_model():
    settings = Settings(stt_model="large-v3", stt_model_conversational="/models/conv")
    assert settings.engine_model_for("Hamsa-General-V2.0") == "large-v3"
    assert settings.engine_model_for("Hamsa-Conversational-V1.0") == "/models/conv"


@pytest.mark.parametrize("field, value", [
    ("lease_seconds", 0), ("media_max_bytes", -1), ("max_attempts", 0),
    ("shutdown_grace_seconds", 7200), ("stt_device", "tpu"),
])
def test_contradictions_are_refused(field, value):
    with pytest.raises(ValidationError):
        Settings(**{field: value})
