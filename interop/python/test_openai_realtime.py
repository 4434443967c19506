"""The official openai-python client (GA realtime API) against the VoiceWire emulator.

Every test talks to a real emulator process over 127.0.0.1 sockets: minting a client
secret over REST, connecting with it over WebSocket, and exercising session.update, a text
turn, an audio turn with server VAD, a tool-call round trip, and a truncate.
"""

import asyncio
import base64

import pytest

from conftest import make_client, read_pcm16

TIMEOUT = 20


async def next_event(conn, *types):
    """Reads events until one of `types`; returns (that event, all events read)."""
    seen = []
    while True:
        event = await asyncio.wait_for(conn.recv(), TIMEOUT)
        seen.append(event)
        if event.type == "error" and "error" not in types:
            pytest.fail(f"unexpected error event: {event.error}")
        if event.type in types:
            return event, seen


def audio_bytes(events) -> bytes:
    return b"".join(base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta")


async def mint(base: str, **session) -> str:
    client = make_client(base, api_key="sk-server-side")
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 600},
        session={"type": "realtime", "model": "gpt-realtime", **session},
    )
    assert secret.value.startswith("ek_")
    assert secret.expires_at > 0
    assert secret.session.type == "realtime"
    return secret.value


def test_mint_connect_update_and_text_turn(echo_base):
    async def run():
        secret = await mint(echo_base, instructions="Minted instructions.")
        client = make_client(echo_base, api_key=secret)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            created, _ = await next_event(conn, "session.created")
            assert created.session.instructions == "Minted instructions."
            await conn.session.update(
                session={"type": "realtime", "instructions": "Be brief.", "audio": {"output": {"voice": "cedar"}}}
            )
            updated, _ = await next_event(conn, "session.updated")
            assert updated.session.instructions == "Be brief."
            assert updated.session.audio.output.voice == "cedar"

            await conn.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello there"}]}
            )
            await conn.response.create()
            done, events = await next_event(conn, "response.done")
            kinds = [e.type for e in events]
            assert kinds.index("response.created") < kinds.index("response.output_item.added")
            assert kinds.index("response.content_part.added") < kinds.index("response.output_audio.delta")
            transcript = "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta")
            assert transcript == "You said: hello there"
            assert done.response.status == "completed"
            assert len(audio_bytes(events)) > 24000  # at least half a second of PCM16
            assert done.response.usage.total_tokens > 0

    asyncio.run(run())


def test_session_update_error_echoes_event_id(echo_base):
    async def run():
        client = make_client(echo_base)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await next_event(conn, "session.created")
            await conn.session.update(
                session={"type": "realtime", "audio": {"output": {"voice": "robot"}}}, event_id="evt_interop"
            )
            error, _ = await next_event(conn, "error")
            assert error.error.param == "session.audio.output.voice"
            assert error.error.event_id == "evt_interop"

    asyncio.run(run())


def test_audio_turn_with_server_vad_is_echoed(echo_base):
    async def run():
        speech = read_pcm16("speech_weather_padded_24k.wav")
        client = make_client(echo_base)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await next_event(conn, "session.created")
            for i in range(0, len(speech), 9600):  # 200 ms chunks
                await conn.input_audio_buffer.append(audio=base64.b64encode(speech[i : i + 9600]).decode())
            started, _ = await next_event(conn, "input_audio_buffer.speech_started")
            assert 700 <= started.audio_start_ms <= 900
            stopped, _ = await next_event(conn, "input_audio_buffer.speech_stopped")
            committed, _ = await next_event(conn, "input_audio_buffer.committed")
            assert committed.item_id == started.item_id == stopped.item_id
            done, events = await next_event(conn, "response.done")
            echoed = audio_bytes(events)
            start = (started.audio_start_ms - 300) * 48  # bytes per ms of PCM16 at 24 kHz
            end = stopped.audio_end_ms * 48
            assert echoed == speech[start:end], "the echo is the committed user audio, sample for sample"
            assert done.response.metadata["voicewire_audio_source"] == "echo"

    asyncio.run(run())


def test_tool_call_round_trip(scenario_base):
    async def run():
        client = make_client(scenario_base)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await next_event(conn, "session.created")
            await conn.session.update(
                session={
                    "type": "realtime",
                    "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
                    "tools": [
                        {
                            "type": "function",
                            "name": "get_weather",
                            "description": "Current weather for a city.",
                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                        }
                    ],
                }
            )
            await next_event(conn, "session.updated")
            speech = read_pcm16("speech_weather_padded_24k.wav")
            await conn.input_audio_buffer.append(audio=base64.b64encode(speech).decode())
            transcribed, _ = await next_event(conn, "conversation.item.input_audio_transcription.completed")
            assert transcribed.transcript == "What is the weather like in Paris today?"
            done, events = await next_event(conn, "response.done")
            call = next(e for e in events if e.type == "response.function_call_arguments.done")
            assert call.name == "get_weather"
            assert call.arguments == '{"city":"Paris"}'
            assert [o.type for o in done.response.output] == ["message", "function_call"]

            await conn.conversation.item.create(
                item={"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 21}'}
            )
            await next_event(conn, "conversation.item.done")
            await conn.response.create()
            done, events = await next_event(conn, "response.done")
            final = next(e for e in events if e.type == "response.output_audio_transcript.done")
            assert final.transcript == "It is sunny and 21 degrees in Paris."

    asyncio.run(run())


def test_cancel_and_truncate(echo_base):
    async def run():
        client = make_client(echo_base)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await next_event(conn, "session.created")
            await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
            await next_event(conn, "session.updated")
            speech = read_pcm16("speech_weather_padded_24k.wav")
            await conn.input_audio_buffer.append(audio=base64.b64encode(speech).decode())
            await conn.input_audio_buffer.commit()
            await next_event(conn, "input_audio_buffer.committed")
            await conn.response.create()
            first, _ = await next_event(conn, "response.output_audio.delta")
            received = len(base64.b64decode(first.delta))
            # Let a little more arrive, then interrupt like a client whose user spoke.
            while received < 48 * 300:
                delta, _ = await next_event(conn, "response.output_audio.delta")
                received += len(base64.b64decode(delta.delta))
            await conn.response.cancel()
            done, events = await next_event(conn, "response.done")
            assert done.response.status == "cancelled"
            assert done.response.status_details.reason == "client_cancelled"
            received += len(audio_bytes(events))
            played_ms = received // 48 // 2
            await conn.conversation.item.truncate(item_id=first.item_id, content_index=0, audio_end_ms=played_ms)
            truncated, _ = await next_event(conn, "conversation.item.truncated")
            assert truncated.item_id == first.item_id
            assert truncated.audio_end_ms == played_ms
            await conn.conversation.item.truncate(
                item_id=first.item_id, content_index=0, audio_end_ms=played_ms + 10_000, event_id="too_far"
            )
            error, _ = await next_event(conn, "error")
            assert error.error.param == "audio_end_ms"
            assert error.error.event_id == "too_far"

    asyncio.run(run())


def test_beta_client_gets_the_beta_dialect(echo_base):
    async def run():
        client = make_client(echo_base)
        async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
            created = await asyncio.wait_for(conn.recv(), TIMEOUT)
            assert created.type == "session.created"
            assert created.session.modalities == ["text", "audio"]
            await conn.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "beta"}]}
            )
            await conn.response.create()
            kinds = []
            while True:
                event = await asyncio.wait_for(conn.recv(), TIMEOUT)
                kinds.append(event.type)
                if event.type == "response.done":
                    break
            assert "response.audio.delta" in kinds
            assert "response.audio_transcript.done" in kinds

    asyncio.run(run())


def test_bad_key_is_rejected_when_a_key_is_required(echo_base):
    async def run():
        # Dev mode accepts any key, but never an unknown client secret.
        client = make_client(echo_base, api_key="ek_not_minted_here")
        with pytest.raises(Exception) as raised:
            async with client.realtime.connect(model="gpt-realtime") as conn:
                await conn.recv()
        assert "401" in str(raised.value)

    asyncio.run(run())
