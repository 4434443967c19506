// Drives headless Chromium through the standard Realtime WebRTC snippet against the
// VoiceWire emulator (run by scripts/interop/30-webrtc-browser.sh). Exits non-zero on any
// failed check. Everything stays on 127.0.0.1.
'use strict';

const { chromium } = require('playwright-core');

const base = process.env.VOICEWIRE_URL;
const fakeMic = process.env.FAKE_MIC;
if (!base || !fakeMic || !process.env.CHROMIUM) {
  console.error('VOICEWIRE_URL, FAKE_MIC and CHROMIUM must be set');
  process.exit(2);
}

// The page side: what a web app does, plus the checks. Runs in the browser.
async function pageCall() {
  const log = [];
  const events = [];
  const waitFor = (predicate, what, ms) =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const tick = () => {
        if (predicate()) return resolve();
        if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}; events: ${events.join(', ')}`));
        setTimeout(tick, 20);
      };
      tick();
    });

  // A backend would mint this; the page only ever holds the ephemeral key.
  const minted = await fetch('/v1/realtime/client_secrets', {
    method: 'POST',
    headers: { Authorization: 'Bearer sk-browser-interop', 'Content-Type': 'application/json' },
    body: JSON.stringify({ session: { type: 'realtime', model: 'gpt-realtime' } }),
  });
  if (!minted.ok) throw new Error(`minting failed: ${minted.status}`);
  const { value: ephemeralKey } = await minted.json();

  const pc = new RTCPeerConnection();
  const remote = { tracks: 0 };
  // Play the reply like an app does; Chromium decodes remote audio only for a sink.
  const speaker = new Audio();
  speaker.autoplay = true;
  pc.ontrack = (e) => {
    remote.tracks += 1;
    speaker.srcObject = e.streams[0] || new MediaStream([e.track]);
    speaker.play().catch((error) => log.push(`play: ${error}`));
  };
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  pc.addTrack(mic.getTracks()[0]);
  const dc = pc.createDataChannel('oai-events');
  let open = false;
  dc.onopen = () => { open = true; };
  dc.onmessage = (e) => events.push(JSON.parse(e.data).type);

  const t0 = performance.now();
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch('/v1/realtime/calls', {
    method: 'POST',
    body: pc.localDescription.sdp,
    headers: { Authorization: `Bearer ${ephemeralKey}`, 'Content-Type': 'application/sdp' },
  });
  if (response.status !== 201) throw new Error(`POST /v1/realtime/calls: ${response.status} ${await response.text()}`);
  const location = response.headers.get('Location') || '';
  const callId = location.split('/').pop();
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });

  await waitFor(() => open, 'the data channel to open', 10000);
  const openMs = performance.now() - t0;
  await waitFor(() => events.includes('session.created'), 'session.created', 10000);
  // The fake microphone plays the speech once, then silence: server VAD ends the turn and
  // the echo agent answers with audio on the track.
  await waitFor(() => events.includes('input_audio_buffer.speech_stopped'), 'the end of the spoken turn', 30000);
  await waitFor(() => events.includes('output_audio_buffer.started'), 'reply audio', 20000);
  await waitFor(() => events.includes('output_audio_buffer.stopped'), 'the end of the reply', 30000);

  // An event from the page over the data channel gets its answer.
  dc.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', instructions: 'From the browser.' } }));
  await waitFor(() => events.includes('session.updated'), 'session.updated', 10000);

  const stats = { sent: 0, received: 0, energy: 0 };
  (await pc.getStats()).forEach((report) => {
    if (report.type === 'outbound-rtp' && report.kind === 'audio') stats.sent += report.packetsSent || 0;
    if (report.type === 'inbound-rtp' && report.kind === 'audio') {
      stats.received += report.packetsReceived || 0;
      stats.energy += report.totalAudioEnergy || 0;
      stats.samples = (stats.samples || 0) + (report.totalSamplesReceived || 0);
    }
  });
  pc.close();
  return { callId, openMs, events, stats, remoteTracks: remote.tracks, log };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${fakeMic}%noloop`,
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  let failed = false;
  try {
    const page = await browser.newPage();
    page.on('console', (message) => console.log(`[page] ${message.text()}`));
    await page.goto(`${base}/health`);
    const result = await page.evaluate(pageCall);
    console.log(JSON.stringify(result, null, 2));
    const expect = (ok, what) => {
      if (!ok) { failed = true; console.error(`FAIL: ${what}`); } else { console.log(`ok: ${what}`); }
    };
    expect(/^rtc_/.test(result.callId), 'the call id comes from the Location header');
    expect(result.events[0] === 'session.created', 'session.created is the first data-channel event');
    for (const kind of ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped',
      'response.created', 'output_audio_buffer.started', 'output_audio_buffer.stopped', 'response.done']) {
      expect(result.events.includes(kind), `${kind} arrived on oai-events`);
    }
    expect(!result.events.some((t) => t.includes('output_audio.delta')), 'no audio inside events on WebRTC');
    expect(result.remoteTracks >= 1, 'the answer carries an audio track');
    expect(result.stats.sent > 50, `microphone audio was sent (${result.stats.sent} packets)`);
    expect(result.stats.received > 50, `reply audio was received (${result.stats.received} packets)`);
    expect(result.stats.energy > 0, `reply audio is not silence (energy ${result.stats.energy})`);
    console.log(`browser: offer to data channel open in ${result.openMs.toFixed(1)} ms`);
  } catch (error) {
    failed = true;
    console.error(error);
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
