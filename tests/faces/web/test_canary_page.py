"""The web page's "In service" shows a running canary (share, calls and error rate per arm) and stops it
with a confirmed button, for the page opened with its token only (issue 26)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from tests.support import web_runs as ws
from tests.support.tui_fixtures import two_models
from vectortrainer.config import Config
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.web import __file__ as web_package
from vectortrainer.web.access import ACCESS_TOKEN_ENV

APP = Path(web_package).with_name("app.py")
TOKEN = "this-start-token-0123456789"


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models directory whose function has m002 in canary at 10 %; the page's arguments point at it."""
    st.cache_data.clear()
    monkeypatch.setenv(ACCESS_TOKEN_ENV, TOKEN)
    directory = tmp_path / "models"
    two_models(Config().with_overrides(**{"models.dir": directory}), ws.FUNCTION)
    ModelRegistry(directory, ws.FUNCTION).start_canary("m002", 0.1)
    monkeypatch.setattr(sys, "argv", [str(APP), "--output-dir", str(tmp_path / "out"), "--store",
                                      str(tmp_path / "store"), "--hooks-dir", str(tmp_path / "hooks"),
                                      "--models-dir", str(directory)])
    return directory


def _in_service(token: str | None = TOKEN) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if token is not None:
        at.query_params["token"] = token
    at.run()
    at.sidebar.radio(key="page").set_value("In service").run()
    assert not at.exception, at.exception
    return at


def test_the_canary_is_shown_and_stopped_after_a_confirmation(models):
    at = _in_service()
    assert "**canary:** m002 ft:gpt-4o-mini-2024-07-18:acme:vt:bbb222 serves 10% of calls beside m001" \
        in at.markdown[0].value
    assert at.subheader[0].value == "Canary"
    arms = at.dataframe[0].value
    assert arms["arm"].tolist() == ["m002 (candidate)", "m001 (promoted)"]
    with pytest.raises(AppTestError, match="disabled"):
        at.button(key="canary_button").click()
    at.checkbox(key="canary_confirm").check().run()
    at.button(key="canary_button").click().run()
    assert not at.exception
    assert at.success[0].value.startswith(f"The canary of {ws.FUNCTION} is stopped: m001 serves every call")
    registry = ModelRegistry(models, ws.FUNCTION)
    assert registry.canary() is None and registry.list()[1].canary["decided_by"] == "person"
    assert "**last canary:** m002 canary stopped by a person" in at.markdown[0].value


def test_without_the_token_the_canary_cannot_be_stopped(models):
    at = _in_service(token=None)
    assert not {w.key for w in [*at.button, *at.checkbox]} & {"canary_button", "canary_confirm"}
    assert any("stop the canary" in info.value for info in at.info)
    assert ModelRegistry(models, ws.FUNCTION).canary() is not None
