"""openai-python's `client.realtime.calls.create` (multipart: `sdp` + `session`) against the
emulator's WebRTC answerer: a 201 with a usable SDP answer and the call id in `Location`,
`calls.hangup`, and the service's JSON errors for a bad offer, a bad session and a bad key.

The offer (`browser_offer.sdp`) has Chrome's shape: Opus 111 first among its audio codecs,
a `webrtc-datachannel` section, `a=setup:actpass`, trickle ICE (no candidates yet)."""

import asyncio
from pathlib import Path

import openai
import pytest

from conftest import make_client

OFFER = (Path(__file__).resolve().parent / "browser_offer.sdp").read_text()


def media_sections(sdp: str) -> list[str]:
    return [line.split()[0] for line in sdp.splitlines() if line.startswith("m=")]


def test_calls_create_multipart_gets_an_sdp_answer(echo_base: str) -> None:
    async def run() -> None:
        client = make_client(echo_base)
        raw = await client.realtime.calls.with_raw_response.create(
            sdp=OFFER,
            session={"type": "realtime", "model": "gpt-realtime", "instructions": "Be brief."},
        )
        response = raw.http_response
        assert response.status_code == 201
        assert response.headers["content-type"].startswith("application/sdp")
        location = response.headers["location"]
        call_id = location.rsplit("/", 1)[-1]
        assert location == f"/v1/realtime/calls/{call_id}" and call_id.startswith("rtc_")
        # The client really sent multipart (the emulator also answers raw application/sdp).
        assert response.request.headers["content-type"].startswith("multipart/form-data")

        answer = response.text
        assert answer.startswith("v=0")
        assert media_sections(answer) == ["m=audio", "m=application"]
        assert "a=rtpmap:111 opus/48000/2" in answer
        assert "a=sendrecv" in answer
        assert "a=fingerprint:sha-256" in answer
        assert "a=candidate:" in answer, "a non-trickle answer carries the emulator's candidates"

        # The call exists until hung up; a second hangup finds nothing.
        await client.realtime.calls.hangup(call_id)
        await asyncio.sleep(0.2)
        with pytest.raises(openai.NotFoundError):
            await client.realtime.calls.hangup(call_id)

    asyncio.run(run())


def test_calls_create_errors_use_the_api_shape(echo_base: str) -> None:
    async def run() -> None:
        client = make_client(echo_base)
        with pytest.raises(openai.BadRequestError) as bad_offer:
            await client.realtime.calls.create(sdp="this is not an offer", session={"type": "realtime"})
        assert bad_offer.value.body["param"] == "sdp"
        assert bad_offer.value.body["type"] == "invalid_request_error"

        with pytest.raises(openai.BadRequestError) as bad_session:
            await client.realtime.calls.create(sdp=OFFER, session={"type": "realtime", "voice": 12})
        assert bad_session.value.body["param"] == "session"

        with pytest.raises(openai.AuthenticationError):
            await make_client(echo_base, api_key="ek_not_minted").realtime.calls.create(
                sdp=OFFER, session={"type": "realtime"}
            )

    asyncio.run(run())
