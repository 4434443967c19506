"""The FFI contract from Python, against the local emulator (scripts/interop/40-bindings-python.sh).

Small on purpose: behaviour is tested in Rust; here we check that a session can be driven
from Python with Python services (token provider, tool handler, listener), that errors arrive
typed, and that dropping a listener handle stops delivery.
"""

import asyncio
import gc
import json
import os
import threading
import time

import pytest

import voicewire_ffi as vw

API_BASE = os.environ["VW_API_BASE"]
API_KEY = os.environ["VW_TEST_API_KEY"]
TIMEOUT = 30  # generous, only to avoid hangs


class BackendTokens(vw.TokenProvider):
    """Stands in for the app's backend call: returns {value, expires_at}."""

    def __init__(self, key):
        self.key = key
        self.calls = 0

    async def fetch_token(self):
        self.calls += 1
        await asyncio.sleep(0)  # a real provider awaits its HTTP call here
        return vw.ClientToken(value=self.key, expires_at=int(time.time()) + 600)


class WeatherTool(vw.ToolHandler):
    def __init__(self):
        self.calls = []

    async def call_tool(self, call):
        self.calls.append(call)
        city = json.loads(call.arguments)["city"]
        return json.dumps({"city": city, "sky": "sunny"})


class Collector(vw.SessionEventListener):
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def on_event(self, event):
        with self.lock:
            self.events.append(event)

    def snapshot(self):
        with self.lock:
            return list(self.events)


def use_this_loop_for_callbacks():
    # Rust awaits Python coroutines (token provider, tool handler) on the test's loop.
    vw.uniffi_set_event_loop(asyncio.get_running_loop())


def options():
    return vw.SessionOptions(
        endpoint=vw.EndpointConfig(api_base=API_BASE, relay_url=None, model=None),
        transport=vw.TransportKind.WEB_SOCKET,
        session=vw.SessionConfig(
            instructions="You are a test agent.",
            voice=None,
            output_modalities=[vw.OutputModality.TEXT],
            turn_detection=None,
            input_transcription_model=None,
            tools=[
                vw.FunctionToolConfig(
                    name="get_weather",
                    description="Weather for a city",
                    parameters_json='{"type":"object","properties":{"city":{"type":"string"}}}',
                )
            ],
        ),
        reconnect=vw.ReconnectConfig(enabled=False, max_attempts=0, connect_timeout_ms=10_000),
        tool_timeout_ms=None,
        levels_interval_ms=0,
    )


async def next_event(session):
    return await asyncio.wait_for(session.next_event(), TIMEOUT)


async def events_until(session, done):
    seen = []
    while True:
        event = await next_event(session)
        assert event is not None, f"stream ended early after {seen}"
        seen.append(event)
        if done(event):
            return seen


def is_final_answer(event):
    return isinstance(event, vw.SessionEvent.ASSISTANT_TRANSCRIPT_FINAL) and "sunny" in event.text


@pytest.mark.asyncio
async def test_text_turn_with_a_python_tool_handler():
    use_this_loop_for_callbacks()
    tokens, tool = BackendTokens(API_KEY), WeatherTool()
    session = vw.RealtimeVoiceSession(options(), tokens, tool, vw.AudioChoice.NO_DEVICE())

    first = await next_event(session)
    assert first == vw.SessionEvent.STATE_CHANGED(state=vw.SessionState.IDLE())

    await asyncio.wait_for(session.start(), TIMEOUT)
    assert session.state() == vw.SessionState.LIVE()
    assert tokens.calls == 1

    await session.send_text("What is the weather in Paris?")
    seen = await events_until(session, is_final_answer)

    states = [e.state for e in seen if isinstance(e, vw.SessionEvent.STATE_CHANGED)]
    assert vw.SessionState.LIVE() in states
    assert any(isinstance(e, vw.SessionEvent.ASSISTANT_TRANSCRIPT_DELTA) for e in seen)
    assert any(isinstance(e, vw.SessionEvent.TOOL_CALL) and e.call.name == "get_weather" for e in seen)
    assert len(tool.calls) == 1 and json.loads(tool.calls[0].arguments) == {"city": "Paris"}

    await asyncio.wait_for(session.stop(), TIMEOUT)
    assert session.state() == vw.SessionState.CLOSED(reason=vw.CloseReason.STOPPED)


@pytest.mark.asyncio
async def test_a_bad_token_is_a_typed_auth_error():
    use_this_loop_for_callbacks()
    session = vw.RealtimeVoiceSession(options(), BackendTokens("sk-wrong"), WeatherTool(), vw.AudioChoice.NO_DEVICE())
    with pytest.raises(vw.VoiceError.Auth):
        await asyncio.wait_for(session.start(), TIMEOUT)
    assert isinstance(session.state(), vw.SessionState.FAILED)
    # The event carries the stable snake_case code apps switch on, not a Rust type name.
    seen = await events_until(session, lambda e: isinstance(e, vw.SessionEvent.ERROR))
    assert seen[-1].code == "auth"
    assert seen[-1].recoverable is False


def test_a_token_never_prints_its_key():
    key = "ek_secret_value_0123456789"
    token = vw.ClientToken(value=key, expires_at=1_900_000_000)
    for text in (str(token), repr(token), f"{token}", str([token]), str({"token": token})):
        assert key not in text and "0123456789" not in text, text
    assert "redacted" in str(token)
    assert token.expires_at() == 1_900_000_000
    assert not hasattr(token, "value"), "the key must not be readable back"


@pytest.mark.asyncio
async def test_dropping_the_listener_handle_stops_delivery():
    use_this_loop_for_callbacks()
    session = vw.RealtimeVoiceSession(options(), BackendTokens(API_KEY), WeatherTool(), vw.AudioChoice.NO_DEVICE())
    collector = Collector()
    handle = session.subscribe(collector)
    await asyncio.wait_for(session.start(), TIMEOUT)

    deadline = time.monotonic() + TIMEOUT
    while vw.SessionEvent.STATE_CHANGED(state=vw.SessionState.LIVE()) not in collector.snapshot():
        assert time.monotonic() < deadline, collector.snapshot()
        await asyncio.sleep(0.01)
    assert collector.snapshot()[0] == vw.SessionEvent.STATE_CHANGED(state=vw.SessionState.IDLE())

    del handle
    gc.collect()
    delivered = len(collector.snapshot())

    # The turn's events now stay queued for the pull API instead of reaching the listener.
    await session.send_text("What is the weather in Paris?")
    await events_until(session, is_final_answer)
    assert len(collector.snapshot()) == delivered

    await asyncio.wait_for(session.stop(), TIMEOUT)
