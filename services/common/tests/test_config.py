"""Settings: flags over env over defaults; a bad value names the setting and the accepted range."""

from __future__ import annotations

import pytest
from doc2slm_common.config import ConfigError, load_settings
from doc2slm_common.server import ServerSettings


def test_flags_override_env_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(ServerSettings).max_workers == 16
    monkeypatch.setenv("DOC2SLM_MAX_WORKERS", "4")
    assert load_settings(ServerSettings).max_workers == 4
    assert load_settings(ServerSettings, max_workers=8).max_workers == 8
    assert load_settings(ServerSettings, max_workers=None).max_workers == 4


def test_bad_value_names_setting_env_and_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOC2SLM_PORT", "70000")
    with pytest.raises(ConfigError) as caught:
        load_settings(ServerSettings)
    message = str(caught.value)
    assert "port" in message and "DOC2SLM_PORT" in message and "<= 65535" in message and "70000" in message
