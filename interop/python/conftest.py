"""Shared fixtures: the emulator URLs (set by scripts/interop/10-python-openai.sh) and clients."""

import os
import wave
from pathlib import Path

import pytest
from openai import AsyncOpenAI

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


def _base(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.fail(f"{var} is not set; run scripts/interop/10-python-openai.sh")
    return value.rstrip("/")


@pytest.fixture
def echo_base() -> str:
    """http://127.0.0.1:P of the emulator running the default (echo) agent."""
    return _base("VOICEWIRE_ECHO_URL")


@pytest.fixture
def scenario_base() -> str:
    """http://127.0.0.1:P of the emulator running tool_scenario.yaml."""
    return _base("VOICEWIRE_SCENARIO_URL")


def make_client(base: str, api_key: str = "sk-interop") -> AsyncOpenAI:
    """An official client pointed at the emulator (REST and WebSocket)."""
    ws = base.replace("http://", "ws://", 1)
    return AsyncOpenAI(api_key=api_key, base_url=f"{base}/v1", websocket_base_url=f"{ws}/v1", max_retries=0)


def read_pcm16(name: str) -> bytes:
    """Raw PCM16 frames of a 24 kHz mono fixture."""
    with wave.open(str(FIXTURES / name), "rb") as wav:
        assert wav.getframerate() == 24000 and wav.getnchannels() == 1 and wav.getsampwidth() == 2
        return wav.readframes(wav.getnframes())
