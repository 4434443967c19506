//! Every example program, run as a user runs it (no OPENAI_API_KEY: the in-process
//! emulator), with its output checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str], dir: &std::path::Path) -> String {
    let out: Output = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_remove("OPENAI_API_KEY")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{bin} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn voice_chat_writes_the_spoken_reply_to_a_wav_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_voice_chat"), &[], dir.path());
    assert!(out.contains("talking to the local emulator"), "{out}");
    assert!(out.contains("assistant: Echo of your"), "{out}");
    let (format, samples) = voicewire::audio::read_wav(&dir.path().join("reply.wav")).unwrap();
    assert_eq!((format.sample_rate, format.channels), (24_000, 1));
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(loud > 12_000, "the reply is speech, not silence: {loud}");
}

#[test]
fn text_chat_answers_each_message_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_text_chat"), &["one", "two"], dir.path());
    let first = out.find("assistant: You said: one").expect(&out);
    let second = out.find("assistant: You said: two").expect(&out);
    assert!(first < second, "{out}");
}

#[test]
fn tool_calling_creates_updates_and_searches_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_tool_calling"), &[], dir.path());
    for expected in [
        r#"tool call: create_item({"title":"Buy milk","notes":"2 litres"})"#,
        r#"tool call: update_item({"id":"item-1","done":true})"#,
        r#"tool call: search_items({"query":"milk"})"#,
        "assistant: Done: I added Buy milk",
        "store: 1 item(s)",
        r#"item-1 "Buy milk" notes="2 litres" done=true"#,
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn token_provider_gets_secrets_from_the_backend_until_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_token_provider"), &[], dir.path());
    assert!(
        out.contains("session 1: assistant: You said: Hello from the app!"),
        "{out}"
    );
    assert!(
        out.contains("session 2: assistant: You said: Hello from the app!"),
        "{out}"
    );
    assert!(
        out.contains("session 3: rate limited by the backend"),
        "{out}"
    );
    assert!(out.contains("token fetches: 3"), "{out}");
}

#[test]
fn mint_backend_demo_versions_configs_and_limits_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_mint_backend"), &["--demo"], dir.path());
    for expected in [
        "ana: HTTP 200, secret ek_",
        "config version 1",
        "published voice config v2",
        "ana: HTTP 200, config version 2",
        "ana: HTTP 429 too many voice sessions",
        "ben: HTTP 200 (limits are per user)",
        "unknown app token: HTTP 401",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn relay_passes_a_session_with_a_valid_jwt_and_refuses_a_forged_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_relay"), &[], dir.path());
    assert!(
        out.contains("assistant: You said: Hello through the relay"),
        "{out}"
    );
    assert!(
        out.contains("forged token: refused (authentication failed"),
        "{out}"
    );
}
