//! The `voicewire` binary as a user runs it: real processes, the real emulator (in the
//! process under test, or in this test on 127.0.0.1), real WAV files. Every error path of
//! `talk` and `mint` has a test that checks its exit code and message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use voicewire_server::{AudioPace, Emulator, EmulatorConfig, EmulatorHandle};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/audio")
        .join(name)
}

/// The binary with a clean environment: no API key, no log filter, not a terminal.
fn voicewire() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voicewire"));
    cmd.env_remove("OPENAI_API_KEY")
        .env_remove("RUST_LOG")
        .env_remove("VOICEWIRE_EMULATOR_API_KEY");
    cmd
}

/// Runs a command off the async runtime (the emulator of the test keeps serving meanwhile).
async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_exit(o: &Output, code: i32, stderr_has: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    assert!(
        stderr(o).contains(stderr_has),
        "stderr lacks {stderr_has:?}:\n{}",
        stderr(o)
    );
}

async fn emulator_requiring(key: &str) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        api_key: Some(key.to_owned()),
        audio_pace: AudioPace::Fast,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// Counts samples louder than -30 dBFS: real speech, not silence or dither.
fn loud_samples(path: &Path) -> (hound::WavSpec, usize, usize) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    (spec, loud, samples.len())
}

#[test]
fn the_readme_command_answers_a_spoken_question_into_a_wav_file() {
    let dir = tempfile::tempdir().unwrap();
    let reply = dir.path().join("reply.wav");
    let mut cmd = voicewire();
    cmd.args(["talk", "--input"])
        .arg(fixture("speech_weather_24k.wav"))
        .arg("--output")
        .arg(&reply);
    let out = cmd.output().unwrap();
    assert_exit(&out, 0, "local emulator");
    let text = stdout(&out);
    assert!(
        text.contains("you: [")
            && text.contains(" s of audio; the VoiceWire emulator does not transcribe"),
        "user turn shown: {text}"
    );
    assert!(
        text.contains("assistant: Echo of your ") && text.contains(" seconds of audio"),
        "assistant transcript shown: {text}"
    );
    assert!(text.contains("reply audio:"), "{text}");
    let (spec, loud, total) = loud_samples(&reply);
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (24_000, 1, 16)
    );
    // The emulator plays the ~2.8 s question back: speech, not silence (espeak speech has
    // about a second of samples above -30 dBFS in it).
    assert!(loud > 24_000 / 2, "{loud} loud samples of {total}");
}

#[test]
fn json_lines_carry_every_event_and_a_summary() {
    let mut cmd = voicewire();
    cmd.args(["talk", "--text", "hello there", "--json"]);
    let out = cmd.output().unwrap();
    assert_exit(&out, 0, "");
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "state" && e["state"] == "Live")
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "assistant_transcript" && e["text"] == "You said: hello there"),
        "{types:?}"
    );
    assert!(types.contains(&"assistant_transcript_delta"), "{types:?}");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["turns"], 1);
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "state" && e["state"] == "Closed"),
        "{types:?}"
    );
}

#[test]
fn several_text_turns_and_the_reply_audio_go_to_a_wav_file() {
    let dir = tempfile::tempdir().unwrap();
    let reply = dir.path().join("answers.wav");
    let mut cmd = voicewire();
    cmd.args(["talk", "--text", "first", "--text", "second", "--output"])
        .arg(&reply);
    let out = cmd.output().unwrap();
    assert_exit(&out, 0, "");
    let text = stdout(&out);
    let first = text.find("assistant: You said: first").expect(&text);
    let second = text.find("assistant: You said: second").expect(&text);
    assert!(first < second);
    assert!(text.contains("turns: 2"), "{text}");
    let (_, loud, _) = loud_samples(&reply);
    assert!(loud > 0, "the spoken replies were recorded");
}

#[test]
fn push_to_talk_sends_the_whole_file_as_one_turn() {
    let mut cmd = voicewire();
    cmd.args(["talk", "--vad", "off", "--input"])
        .arg(fixture("speech_stop_24k.wav"));
    let out = cmd.output().unwrap();
    assert_exit(&out, 0, "");
    assert!(
        stdout(&out).contains("assistant: Echo of your"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn talk_through_a_url_with_the_right_key() {
    let emu = emulator_requiring("sk-right").await;
    let mut cmd = voicewire();
    cmd.env("OPENAI_API_KEY", "sk-right")
        .args(["talk", "--text", "over the url", "--url"])
        .arg(emu.http_base());
    let out = run(cmd).await;
    assert_exit(&out, 0, "talking to server ws://127.0.0.1");
    assert!(stdout(&out).contains("You said: over the url"));
    assert!(
        !stderr(&out).contains("sk-right"),
        "the key never shows up in output"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_refused_key_exits_4() {
    let emu = emulator_requiring("sk-right").await;
    let mut cmd = voicewire();
    cmd.env("OPENAI_API_KEY", "sk-wrong")
        .args(["talk", "--text", "hi", "--url"])
        .arg(emu.http_base());
    let out = run(cmd).await;
    assert_exit(&out, 4, "authentication failed");
    assert!(stderr(&out).contains("hint: check OPENAI_API_KEY"));
    assert!(!stderr(&out).contains("sk-wrong"));
    emu.shutdown().await;
}

#[test]
fn an_unreachable_server_exits_5() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = voicewire();
    cmd.args(["talk", "--text", "hi", "--url"])
        .arg(format!("http://127.0.0.1:{port}/v1"));
    assert_exit(&cmd.output().unwrap(), 5, "network error");
}

#[test]
fn a_missing_input_file_exits_3() {
    let mut cmd = voicewire();
    cmd.args(["talk", "--input", "no/such/speech.wav"]);
    assert_exit(
        &cmd.output().unwrap(),
        3,
        "input file no/such/speech.wav does not exist",
    );
}

#[test]
fn a_file_that_is_not_a_wav_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("speech.wav");
    std::fs::write(&bogus, "this is text, not audio").unwrap();
    let mut cmd = voicewire();
    cmd.args(["talk", "--input"]).arg(&bogus);
    assert_exit(&cmd.output().unwrap(), 3, "is not a usable WAV file");
}

#[test]
fn an_8_bit_wav_exits_3_and_names_the_formats_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u8.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 8,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..8000 {
        w.write_sample((i % 50) as i8).unwrap();
    }
    w.finalize().unwrap();
    let mut cmd = voicewire();
    cmd.args(["talk", "--input"]).arg(&path);
    let out = cmd.output().unwrap();
    assert_exit(&out, 3, "8-bit");
    assert!(stderr(&out).contains("16-bit PCM or 32-bit float"));
}

#[test]
fn an_output_in_a_missing_directory_exits_3_before_connecting() {
    let mut cmd = voicewire();
    cmd.args([
        "talk",
        "--text",
        "hi",
        "--output",
        "/nonexistent-dir/reply.wav",
    ]);
    let out = cmd.output().unwrap();
    assert_exit(&out, 3, "directory /nonexistent-dir does not exist");
    assert!(
        !stderr(&out).contains("talking to"),
        "failed before connecting"
    );
}

#[test]
fn bad_urls_exit_2() {
    for (url, says) in [
        ("not a url", "is not a valid URL"),
        (
            "ftp://example.com/v1",
            "must start with http://, https://, ws:// or wss://",
        ),
    ] {
        let mut cmd = voicewire();
        cmd.args(["talk", "--text", "hi", "--url", url]);
        assert_exit(&cmd.output().unwrap(), 2, says);
    }
}

#[test]
fn bad_flags_and_contradictions_exit_2() {
    for (args, says) in [
        (&["talk", "--bogus"][..], "unexpected argument"),
        (
            &["talk", "--text", "hi", "--vad-threshold", "3"][..],
            "--vad-threshold must be between 0 and 1",
        ),
        (
            &["talk", "--text", "hi", "--prompt-version", "2"][..],
            "--prompt-id",
        ),
        (&["talk", "--text", " "][..], "is empty"),
        (
            &[
                "talk",
                "--text",
                "hi",
                "--url",
                "http://127.0.0.1:9/v1",
                "--scenario",
                "x.yaml",
            ][..],
            "--scenario scripts the in-process emulator",
        ),
        (
            &["talk", "--text", "hi", "--token-url", "ftp://x"][..],
            "--token-url must be an http",
        ),
    ] {
        let mut cmd = voicewire();
        cmd.args(args);
        assert_exit(&cmd.output().unwrap(), 2, says);
    }
}

#[test]
fn webrtc_sessions_work_or_are_refused_clearly() {
    let mut cmd = voicewire();
    cmd.args(["talk", "--transport", "webrtc", "--input"])
        .arg(fixture("speech_weather_24k.wav"));
    let out = cmd.output().unwrap();
    if voicewire::transport::is_available(voicewire::Transport::WebRtc) {
        assert_exit(&out, 0, "");
        assert!(
            stdout(&out).contains("assistant: Echo of your"),
            "{}",
            stdout(&out)
        );
    } else {
        assert_exit(&out, 2, "webrtc transport is not available in this build");
    }
}

#[cfg(not(feature = "desktop"))]
#[test]
fn the_microphone_needs_the_desktop_feature() {
    let mut cmd = voicewire();
    cmd.arg("talk");
    assert_exit(
        &cmd.output().unwrap(),
        2,
        "built without microphone support",
    );
}

#[cfg(feature = "desktop")]
#[test]
fn no_sound_card_is_an_audio_device_error_or_a_working_microphone() {
    let devices = voicewire_audio::list_devices().unwrap_or_default();
    if devices.iter().any(|d| d.is_input) {
        return; // A machine with a microphone would start a live session that waits for Ctrl-C.
    }
    let mut cmd = voicewire();
    cmd.arg("talk");
    let out = cmd.output().unwrap();
    assert_exit(&out, 8, "audio device error");
    assert!(stderr(&out).contains("hint: no usable microphone"));
}

#[test]
fn a_scenario_that_never_answers_in_time_exits_9() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("slow.yaml");
    std::fs::write(
        &scenario,
        "turns:\n  - delay_ms: 60000\n    reply: too late\n",
    )
    .unwrap();
    let mut cmd = voicewire();
    cmd.args(["talk", "--text", "hi", "--timeout", "1", "--scenario"])
        .arg(&scenario);
    assert_exit(&cmd.output().unwrap(), 9, "no complete answer within 1 s");
}

#[test]
fn a_scenario_scripts_the_in_process_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("weather.yaml");
    std::fs::write(
        &scenario,
        "turns:\n  - user_transcript: What is the weather like in Paris today?\n    reply: It is sunny in Paris.\n",
    )
    .unwrap();
    let mut cmd = voicewire();
    cmd.args(["talk", "--input"])
        .arg(fixture("speech_weather_24k.wav"))
        .arg("--scenario")
        .arg(&scenario);
    let out = cmd.output().unwrap();
    assert_exit(&out, 0, "");
    let text = stdout(&out);
    assert!(
        text.contains("you: What is the weather like in Paris today?"),
        "{text}"
    );
    assert!(text.contains("assistant: It is sunny in Paris."), "{text}");
}

#[test]
fn a_broken_scenario_file_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.yaml");
    std::fs::write(&scenario, "turns: [ {unknown_field: 1} ]").unwrap();
    let mut cmd = voicewire();
    cmd.args(["talk", "--text", "hi", "--scenario"])
        .arg(&scenario);
    assert_exit(&cmd.output().unwrap(), 3, "scenario");
}

#[tokio::test]
async fn mint_prints_a_secret_that_starts_a_session() {
    let emu = emulator_requiring("sk-backend").await;
    let mut cmd = voicewire();
    cmd.env("OPENAI_API_KEY", "sk-backend")
        .args(["mint", "--json", "--voice", "marin", "--ttl", "60", "--url"])
        .arg(emu.http_base());
    let out = run(cmd).await;
    assert_exit(&out, 0, "");
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let secret = v["value"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ek_"), "{v}");
    assert!(v["expires_at"].as_u64().unwrap() > 0);

    // The minted secret is a credential the emulator accepts for a session.
    let mut cmd = voicewire();
    cmd.env("OPENAI_API_KEY", &secret)
        .args(["talk", "--text", "with a minted key", "--url"])
        .arg(emu.http_base());
    let out = run(cmd).await;
    assert_exit(&out, 0, "");
    assert!(stdout(&out).contains("You said: with a minted key"));
    emu.shutdown().await;
}

#[tokio::test]
async fn mint_errors_have_their_exit_codes() {
    let emu = emulator_requiring("sk-backend").await;
    let mut cmd = voicewire();
    cmd.env("OPENAI_API_KEY", "sk-wrong")
        .args(["mint", "--url"])
        .arg(emu.http_base());
    let out = run(cmd).await;
    assert_exit(&out, 4, "authentication failed");
    assert!(stdout(&out).is_empty());

    emu.refuse_next_mints(1);
    let mut cmd = voicewire();
    cmd.env("OPENAI_API_KEY", "sk-backend")
        .args(["mint", "--url"])
        .arg(emu.http_base());
    assert_exit(&run(cmd).await, 6, "rate limited");

    let mut cmd = voicewire();
    cmd.arg("mint");
    assert_exit(&run(cmd).await, 2, "OPENAI_API_KEY is not set");

    let mut cmd = voicewire();
    cmd.args(["mint", "--ttl", "5", "--url"])
        .arg(emu.http_base());
    assert_exit(&run(cmd).await, 2, "--ttl must be between 10 and 7200");

    let mut cmd = voicewire();
    cmd.args(["mint", "--url", "ws://127.0.0.1:9/v1"]);
    assert_exit(&run(cmd).await, 2, "REST base");
    emu.shutdown().await;
}

#[test]
fn help_lists_the_exit_codes() {
    let mut cmd = voicewire();
    cmd.args(["talk", "--help"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("Exit codes: 0 ok"));
    assert!(stdout(&out).contains("--input <WAV>"));
}
