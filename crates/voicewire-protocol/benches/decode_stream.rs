//! Decode throughput of a realistic server stream: one spoken assistant turn over a GA
//! WebSocket (session setup, user turn, response lifecycle, 100 ms audio deltas of 4800
//! PCM16 samples, transcript deltas).
//!
//! `cargo bench -p voicewire-protocol --bench decode_stream -- --warm-up-time 1 --measurement-time 3`
//!
//! Each case is measured twice: per byte (MB/s) and per event (events/s).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use voicewire_protocol::{
    Dialect, ServerEvent, decode_pcm16_base64, encode_pcm16_base64, peek_audio_delta,
};

/// Seconds of assistant audio in the recorded turn.
const AUDIO_SECONDS: usize = 5;
/// 100 ms at 24 kHz.
const SAMPLES_PER_DELTA: usize = 2400 * 2;

fn sine_chunk(start: usize) -> Vec<i16> {
    (start..start + SAMPLES_PER_DELTA)
        .map(|n| {
            let t = n as f64 / 24_000.0;
            ((t * 220.0 * std::f64::consts::TAU).sin() * 9000.0) as i16
        })
        .collect()
}

/// Builds the event texts of one turn, as a server would send them.
fn recorded_stream() -> Vec<String> {
    let mut events = Vec::new();
    let mut n = 0u32;
    let mut push = |mut v: serde_json::Value| {
        n += 1;
        v["event_id"] = json!(format!("event_{n:05}"));
        events.push(v.to_string());
    };
    let pcm = json!({"type": "audio/pcm", "rate": 24000});
    push(
        json!({"type": "session.created", "session": {"type": "realtime", "object": "realtime.session",
        "id": "sess_C9Yq2", "model": "gpt-realtime", "output_modalities": ["audio"],
        "instructions": "You are a friendly voice assistant. Keep answers short.",
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather for a city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": "auto", "max_output_tokens": "inf", "tracing": null, "truncation": "auto",
        "prompt": null, "expires_at": 1763929000, "include": null,
        "audio": {"input": {"format": pcm, "transcription": {"model": "gpt-4o-transcribe"}, "noise_reduction": null,
                            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                               "silence_duration_ms": 500, "idle_timeout_ms": null,
                                               "create_response": true, "interrupt_response": true}},
                  "output": {"format": pcm, "voice": "marin", "speed": 1.0}}}}),
    );
    push(
        json!({"type": "input_audio_buffer.speech_started", "audio_start_ms": 820, "item_id": "item_U1"}),
    );
    push(
        json!({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2740, "item_id": "item_U1"}),
    );
    push(
        json!({"type": "input_audio_buffer.committed", "previous_item_id": null, "item_id": "item_U1"}),
    );
    let user_item = json!({"id": "item_U1", "type": "message", "object": "realtime.item", "status": "completed",
        "role": "user", "content": [{"type": "input_audio", "transcript": null}]});
    push(json!({"type": "conversation.item.added", "previous_item_id": null, "item": user_item}));
    for word in ["What's", " the", " weather", " in", " Paris?"] {
        push(
            json!({"type": "conversation.item.input_audio_transcription.delta", "item_id": "item_U1",
                    "content_index": 0, "delta": word}),
        );
    }
    push(
        json!({"type": "conversation.item.input_audio_transcription.completed", "item_id": "item_U1",
        "content_index": 0, "transcript": "What's the weather in Paris?",
        "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 7, "total_tokens": 21}}),
    );
    push(json!({"type": "conversation.item.done", "previous_item_id": null, "item": user_item}));
    let response = json!({"id": "resp_R1", "object": "realtime.response", "status": "in_progress",
        "status_details": null, "output": [], "conversation_id": "conv_C1", "output_modalities": ["audio"],
        "max_output_tokens": "inf", "audio": {"output": {"format": pcm, "voice": "marin"}}, "usage": null, "metadata": null});
    push(json!({"type": "response.created", "response": response}));
    push(json!({"type": "rate_limits.updated", "rate_limits": [
        {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 0.06},
        {"name": "tokens", "limit": 50000, "remaining": 49700, "reset_seconds": 0.36}]}));
    let assistant = json!({"id": "item_A1", "type": "message", "object": "realtime.item", "status": "in_progress",
        "role": "assistant", "content": []});
    push(
        json!({"type": "response.output_item.added", "response_id": "resp_R1", "output_index": 0, "item": assistant}),
    );
    push(
        json!({"type": "conversation.item.added", "previous_item_id": "item_U1", "item": assistant}),
    );
    let ids = json!({"response_id": "resp_R1", "item_id": "item_A1", "output_index": 0, "content_index": 0});
    let with_ids = |mut v: serde_json::Value| {
        for (k, val) in ids.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    };
    push(with_ids(
        json!({"type": "response.content_part.added", "part": {"type": "audio", "transcript": ""}}),
    ));
    let words = "It is sunny and twenty one degrees in Paris right now, with a light breeze from the west and no rain expected today or tomorrow. Enjoy the afternoon!".split(' ').collect::<Vec<_>>();
    let deltas = AUDIO_SECONDS * 10;
    let mut b64 = String::new();
    for i in 0..deltas {
        b64.clear();
        encode_pcm16_base64(&sine_chunk(i * SAMPLES_PER_DELTA), &mut b64);
        push(with_ids(
            json!({"type": "response.output_audio.delta", "delta": b64}),
        ));
        if let Some(word) = words.get(i) {
            push(with_ids(
                json!({"type": "response.output_audio_transcript.delta", "delta": format!("{word} ")}),
            ));
        }
    }
    let transcript = words.join(" ");
    push(with_ids(json!({"type": "response.output_audio.done"})));
    push(with_ids(
        json!({"type": "response.output_audio_transcript.done", "transcript": transcript}),
    ));
    push(with_ids(
        json!({"type": "response.content_part.done", "part": {"type": "audio", "transcript": transcript}}),
    ));
    let done_item = json!({"id": "item_A1", "type": "message", "object": "realtime.item", "status": "completed",
        "role": "assistant", "content": [{"type": "output_audio", "transcript": transcript}]});
    push(
        json!({"type": "response.output_item.done", "response_id": "resp_R1", "output_index": 0, "item": done_item}),
    );
    push(
        json!({"type": "conversation.item.done", "previous_item_id": "item_U1", "item": done_item}),
    );
    let mut final_response = response.clone();
    final_response["status"] = json!("completed");
    final_response["output"] = json!([done_item]);
    final_response["usage"] = json!({"total_tokens": 420, "input_tokens": 180, "output_tokens": 240,
        "input_token_details": {"text_tokens": 120, "audio_tokens": 60, "cached_tokens": 0},
        "output_token_details": {"text_tokens": 40, "audio_tokens": 200}});
    push(json!({"type": "response.done", "response": final_response}));
    push(json!({"type": "output_audio_buffer.stopped", "response_id": "resp_R1"}));
    // `type` first, as the service writes it (json! objects keep insertion order here
    // because the crate enables serde_json's `preserve_order`).
    events
}

fn bench(c: &mut Criterion) {
    let stream = recorded_stream();
    let bytes: usize = stream.iter().map(String::len).sum();
    let count = stream.len();
    eprintln!(
        "stream: {count} events, {bytes} bytes ({} audio deltas of {SAMPLES_PER_DELTA} samples)",
        AUDIO_SECONDS * 10
    );
    for e in &stream {
        assert!(!ServerEvent::decode(e).unwrap().is_unknown());
    }

    for (group_name, throughput) in [
        ("stream_bytes", Throughput::Bytes(bytes as u64)),
        ("stream_events", Throughput::Elements(count as u64)),
    ] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(throughput);
        group.bench_function("decode_all", |b| {
            b.iter(|| {
                for text in &stream {
                    black_box(ServerEvent::decode(black_box(text)).unwrap());
                }
            });
        });
        group.bench_function("peek_audio_then_decode", |b| {
            b.iter(|| {
                for text in &stream {
                    match peek_audio_delta(black_box(text)) {
                        Some(delta) => {
                            black_box(delta);
                        }
                        None => {
                            black_box(ServerEvent::decode(text).unwrap());
                        }
                    }
                }
            });
        });
        group.bench_function("peek_audio_then_decode_with_pcm", |b| {
            let mut samples: Vec<i16> = Vec::with_capacity(SAMPLES_PER_DELTA);
            b.iter(|| {
                for text in &stream {
                    match peek_audio_delta(black_box(text)) {
                        Some(delta) => {
                            samples.clear();
                            decode_pcm16_base64(&delta.delta, &mut samples).unwrap();
                            black_box(&samples);
                        }
                        None => {
                            black_box(ServerEvent::decode(text).unwrap());
                        }
                    }
                }
            });
        });
        let decoded: Vec<ServerEvent> = stream
            .iter()
            .map(|t| ServerEvent::decode(t).unwrap())
            .collect();
        group.bench_function("encode_all_ga", |b| {
            b.iter(|| {
                for event in &decoded {
                    black_box(event.encode(Dialect::Ga).unwrap());
                }
            });
        });
        group.finish();
    }

    // One 100 ms audio delta on its own: owned decode versus the borrowing peek.
    let delta_text = stream
        .iter()
        .find(|t| t.starts_with(r#"{"type":"response.output_audio.delta""#))
        .unwrap()
        .clone();
    let mut group = c.benchmark_group("audio_delta");
    group.throughput(Throughput::Bytes(delta_text.len() as u64));
    group.bench_function("decode_owned", |b| {
        b.iter(|| black_box(ServerEvent::decode(black_box(&delta_text)).unwrap()));
    });
    group.bench_function("peek_borrowed", |b| {
        b.iter(|| black_box(peek_audio_delta(black_box(&delta_text)).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
