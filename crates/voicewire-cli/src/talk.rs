//! `voicewire talk`: a voice session from the terminal.
//!
//! Three ways to speak: the microphone (builds with feature `desktop`), a WAV file played as
//! the microphone in real time (`--input`), or text messages (`--text`). The assistant's
//! audio goes to the speakers, to a WAV file (`--output`), or nowhere. The session is shown
//! live in a terminal, as plain lines in a pipe, or as JSON lines with `--json`.
//!
//! File and text sessions end by themselves once every answer has been heard to the end;
//! microphone sessions end with Ctrl-C.

use std::collections::{HashSet, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;
use voicewire::audio::{
    AfterInput, AudioDevice, AudioFormat, FileDevice, FileDeviceStepper, FilePace,
};
use voicewire::protocol::Nullable;
use voicewire::protocol::session::{Eagerness, Prompt, TranscriptionConfig};
use voicewire::{
    RealtimeVoiceSession, SessionConfig, SessionEvent, SessionOptions, SessionState, TokenSource,
    Transport, TurnDetection,
};
use voicewire_server::AudioPace;

use crate::exit::{self, CliError};
use crate::target::{self, ConnectArgs, note};
use crate::view::{JsonLines, LiveView, PlainLines, Renderer, Summary};

/// Which transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    /// WebSocket: JSON events with base64 PCM16 audio.
    Ws,
    /// WebRTC: Opus audio on an RTP track, events on a data channel.
    Webrtc,
}

/// Turn detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VadArg {
    /// Server voice activity detection on audio energy and silence.
    Server,
    /// Model-based end-of-turn detection.
    Semantic,
    /// No detection: with --input the whole file is one push-to-talk turn.
    Off,
}

/// `semantic_vad` eagerness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EagernessArg {
    /// Waits longest before ending the turn.
    Low,
    /// Medium.
    Medium,
    /// Ends turns quickly.
    High,
    /// The server's default.
    Auto,
}

/// Options of `voicewire talk`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = exit::TABLE)]
pub struct TalkArgs {
    /// Play this WAV file as the microphone (any rate, mono or stereo, 16-bit or 32-bit float).
    #[arg(long, short, value_name = "WAV")]
    pub input: Option<PathBuf>,
    /// Write the assistant's audio to this WAV file (24 kHz mono 16-bit).
    #[arg(long, short, value_name = "WAV")]
    pub output: Option<PathBuf>,
    /// Send this text as a user message instead of speaking (repeat for several turns).
    #[arg(long, short, value_name = "TEXT", conflicts_with = "input")]
    pub text: Vec<String>,
    /// Transport.
    #[arg(long, value_enum, default_value = "ws")]
    pub transport: TransportArg,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Fetch the session's ephemeral key by POSTing to this backend URL (your token
    /// endpoint) instead of using OPENAI_API_KEY.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Model.
    #[arg(long)]
    pub model: Option<String>,
    /// Voice of the assistant (alloy, ash, ballad, coral, echo, sage, shimmer, verse, marin, cedar).
    #[arg(long)]
    pub voice: Option<String>,
    /// System instructions.
    #[arg(long)]
    pub instructions: Option<String>,
    /// A stored prompt to use (`pmpt_…`).
    #[arg(long, value_name = "ID")]
    pub prompt_id: Option<String>,
    /// The prompt version to pin (default: the latest).
    #[arg(long, value_name = "VERSION", requires = "prompt_id")]
    pub prompt_version: Option<String>,
    /// Turn detection.
    #[arg(long, value_enum, default_value = "server")]
    pub vad: VadArg,
    /// Server VAD activation threshold, 0 to 1.
    #[arg(long, value_name = "0..1")]
    pub vad_threshold: Option<f64>,
    /// Server VAD: silence that ends the turn, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub vad_silence_ms: Option<u32>,
    /// Server VAD: audio kept before the start of speech, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub vad_prefix_ms: Option<u32>,
    /// Semantic VAD eagerness.
    #[arg(long, value_enum)]
    pub vad_eagerness: Option<EagernessArg>,
    /// Do not ask the server to transcribe what you say.
    #[arg(long)]
    pub no_transcription: bool,
    /// Write every session event as one JSON object per line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Plain lines even in a terminal (no live view).
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,
    /// Give up when the answers are not complete after this many seconds (file and text sessions).
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
}

/// How the user speaks in this session.
enum Mode {
    /// A WAV file as the microphone.
    File { stepper: FileDeviceStepper },
    /// Text messages, sent one after another.
    Text { texts: VecDeque<String> },
    /// The microphone, until Ctrl-C.
    Microphone,
}

/// Follows the conversation to tell when every answer has been heard to the end.
#[derive(Debug, Default)]
pub struct TurnTracker {
    user_speaking: bool,
    awaiting_answer: bool,
    answers: u32,
    playing: HashSet<String>,
    /// A metrics snapshot (sent at `response.done`) arrived after the last answer, so the
    /// response is complete and its usage counted.
    response_done: bool,
    /// Judge playback by the output level instead of audio started/stopped events (WebRTC:
    /// the engine does not always pair them there yet).
    by_output_level: bool,
    /// Consecutive level readings with a silent speaker.
    quiet_readings: u32,
}

/// Level readings (100 ms apart) of a silent speaker that count as "playback finished".
const QUIET_READINGS: u32 = 6;

impl TurnTracker {
    /// Updates from one session event.
    pub fn observe(&mut self, event: &SessionEvent) {
        match event {
            SessionEvent::UserSpeechStarted { .. } => {
                self.user_speaking = true;
                self.awaiting_answer = true;
            }
            SessionEvent::UserSpeechStopped { .. } => self.user_speaking = false,
            SessionEvent::AssistantTranscriptFinal { .. } => {
                self.awaiting_answer = false;
                self.answers += 1;
                self.response_done = false;
            }
            SessionEvent::Metrics(_) => self.response_done = true,
            SessionEvent::AudioLevels(levels) => {
                if levels.output_peak < 1e-3 {
                    self.quiet_readings = self.quiet_readings.saturating_add(1);
                } else {
                    self.quiet_readings = 0;
                }
            }
            SessionEvent::AssistantAudioStarted { item_id } => {
                self.playing.insert(item_id.clone());
            }
            SessionEvent::AssistantAudioStopped { item_id, .. } => {
                self.playing.remove(item_id);
            }
            _ => {}
        }
    }

    /// A message or a push-to-talk turn was sent: an answer is expected.
    pub fn request_sent(&mut self) {
        self.awaiting_answer = true;
    }

    /// At least one answer came, none is pending, nothing is playing, nobody is speaking.
    pub fn idle(&self) -> bool {
        let played = if self.by_output_level {
            self.quiet_readings >= QUIET_READINGS
        } else {
            self.playing.is_empty()
        };
        self.answers > 0 && !self.awaiting_answer && !self.user_speaking && played
    }

    /// [`Self::idle`], and the last response is done. Metrics snapshots may be dropped
    /// under load, so callers also accept [`Self::idle`] alone after a grace period.
    pub fn settled(&self) -> bool {
        self.idle() && self.response_done
    }
}

fn check_input_file(path: &Path) -> Result<FileDevice, CliError> {
    if !path.exists() {
        return Err(CliError::File(format!(
            "input file {} does not exist",
            path.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError::File(format!(
            "input {} is a directory, not a WAV file",
            path.display()
        )));
    }
    FileDevice::new(FilePace::RealTime)
        .with_input_wav(path)
        .map_err(|e| {
            CliError::File(format!(
                "{} is not a usable WAV file ({e}); use 16-bit PCM or 32-bit float WAV, mono or stereo, any rate",
                path.display()
            ))
        })
}

fn check_output_file(path: &Path) -> Result<(), CliError> {
    if path.is_dir() {
        return Err(CliError::File(format!(
            "output {} is a directory; name a .wav file",
            path.display()
        )));
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(CliError::File(format!(
            "cannot write {}: directory {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

impl TalkArgs {
    /// The session configuration these options describe.
    pub fn session_config(&self) -> Result<SessionConfig, CliError> {
        let server_knobs = self.vad_threshold.is_some()
            || self.vad_silence_ms.is_some()
            || self.vad_prefix_ms.is_some();
        if let Some(t) = self.vad_threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(CliError::Usage(format!(
                "--vad-threshold must be between 0 and 1 (got {t})"
            )));
        }
        let turn_detection = match self.vad {
            VadArg::Server => {
                if self.vad_eagerness.is_some() {
                    return Err(CliError::Usage(
                        "--vad-eagerness applies to --vad semantic".into(),
                    ));
                }
                Some(TurnDetection::ServerVad {
                    threshold: self.vad_threshold,
                    prefix_padding_ms: self.vad_prefix_ms,
                    silence_duration_ms: self.vad_silence_ms,
                    idle_timeout_ms: None,
                    create_response: None,
                    interrupt_response: None,
                })
            }
            VadArg::Semantic => {
                if server_knobs {
                    return Err(CliError::Usage(
                        "--vad-threshold, --vad-silence-ms and --vad-prefix-ms apply to --vad server".into(),
                    ));
                }
                Some(TurnDetection::SemanticVad {
                    eagerness: self.vad_eagerness.map(|e| match e {
                        EagernessArg::Low => Eagerness::Low,
                        EagernessArg::Medium => Eagerness::Medium,
                        EagernessArg::High => Eagerness::High,
                        EagernessArg::Auto => Eagerness::Auto,
                    }),
                    create_response: None,
                    interrupt_response: None,
                })
            }
            VadArg::Off => {
                if server_knobs || self.vad_eagerness.is_some() {
                    return Err(CliError::Usage(
                        "VAD options cannot be used with --vad off".into(),
                    ));
                }
                None
            }
        };
        let mut config = SessionConfig::default().with_turn_detection(turn_detection);
        if let Some(instructions) = &self.instructions {
            config = config.with_instructions(instructions.clone());
        }
        if let Some(voice) = &self.voice {
            config = config.with_voice(voice.as_str());
        }
        if let Some(id) = &self.prompt_id {
            config.prompt = Nullable::Value(Prompt {
                id: id.clone(),
                version: self.prompt_version.clone(),
                variables: None,
            });
        }
        if !self.no_transcription && self.text.is_empty() {
            config.audio_input_mut().transcription = Nullable::Value(TranscriptionConfig {
                model: Some("gpt-4o-transcribe".into()),
                ..TranscriptionConfig::default()
            });
        }
        Ok(config)
    }

    fn transport(&self) -> Result<Transport, CliError> {
        let transport = match self.transport {
            TransportArg::Ws => Transport::WebSocket,
            TransportArg::Webrtc => Transport::WebRtc,
        };
        if !voicewire::transport::is_available(transport) {
            return Err(CliError::Usage(format!(
                "the {} transport is not available in this build of voicewire; use --transport ws",
                transport.name()
            )));
        }
        Ok(transport)
    }

    /// The audio device and the mode, validating the files first.
    fn mode(&self) -> Result<(Mode, Option<Box<dyn AudioDevice>>), CliError> {
        if let Some(output) = &self.output {
            check_output_file(output)?;
        }
        if let Some(input) = &self.input {
            let mut device = check_input_file(input)?.after_input(AfterInput::Silence);
            device = match &self.output {
                Some(output) => device.with_output_wav(output, AudioFormat::WIRE_PCM16_24K),
                None => device.with_playback(AudioFormat::WIRE_PCM16_24K),
            };
            let stepper = device.stepper();
            return Ok((Mode::File { stepper }, Some(Box::new(device))));
        }
        if !self.text.is_empty() {
            if let Some(empty) = self.text.iter().find(|t| t.trim().is_empty()) {
                return Err(CliError::Usage(format!("--text {empty:?} is empty")));
            }
            // A speaker that plays in real time (into the file, or nowhere) so the session
            // ends when the answer has been heard, as it would on a device.
            let speaker = FileDevice::new(FilePace::RealTime);
            let device: Box<dyn AudioDevice> = Box::new(match &self.output {
                Some(output) => speaker.with_output_wav(output, AudioFormat::WIRE_PCM16_24K),
                None => speaker.with_playback(AudioFormat::WIRE_PCM16_24K),
            });
            let texts = self.text.iter().cloned().collect();
            return Ok((Mode::Text { texts }, Some(device)));
        }
        if self.output.is_some() {
            return Err(CliError::Usage(
                "--output records the reply of an --input or --text session; with the microphone the reply plays on the speakers".into(),
            ));
        }
        Ok((Mode::Microphone, Some(microphone()?)))
    }
}

#[cfg(feature = "desktop")]
fn microphone() -> Result<Box<dyn AudioDevice>, CliError> {
    let device = voicewire_audio::DesktopDevice::open_default()
        .map_err(|e| CliError::Session(voicewire::Error::from(e)))?;
    Ok(Box::new(device))
}

#[cfg(not(feature = "desktop"))]
fn microphone() -> Result<Box<dyn AudioDevice>, CliError> {
    Err(CliError::Usage(
        "this voicewire was built without microphone support: pass --input speech.wav (and --output reply.wav) or --text \"…\", or build with `--features desktop` (needs ALSA headers on Linux: libasound2-dev)".into(),
    ))
}

fn renderer(args: &TalkArgs) -> Box<dyn Renderer> {
    if args.json {
        Box::new(JsonLines::new(std::io::stdout()))
    } else if std::io::stdout().is_terminal() && !args.plain {
        Box::new(LiveView::new(
            std::io::stdout(),
            LiveView::<std::io::Stdout>::terminal_width(),
        ))
    } else {
        Box::new(PlainLines::new(std::io::stdout()))
    }
}

/// Runs `voicewire talk`.
pub async fn run(args: TalkArgs) -> Result<(), CliError> {
    let config = args.session_config()?;
    let transport = args.transport()?;
    let (mode, device) = args.mode()?;
    let target = target::resolve(&args.connect, AudioPace::RealTime).await?;
    let token_source = match &args.token_url {
        Some(url) => {
            let parsed = url::Url::parse(url).map_err(|e| {
                CliError::Usage(format!("--token-url {url:?} is not a valid URL ({e})"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(CliError::Usage(format!(
                    "--token-url must be an http:// or https:// URL (got {}://)",
                    parsed.scheme()
                )));
            }
            TokenSource::http(url.clone())?
        }
        None => TokenSource::ApiKey(target.key.clone()),
    };
    let mut endpoint = target.endpoint.clone();
    if let Some(model) = &args.model {
        endpoint = endpoint.model(model.clone());
    }
    let mut options = SessionOptions::new(token_source)
        .endpoint(endpoint)
        .transport(transport)
        .session_config(config);
    if let Some(device) = device {
        options = options.audio_device(device);
    }
    if !args.json {
        note(&format!("talking to {}", target.description));
    }
    let result = converse(&args, options, mode).await;
    target.close().await;
    result
}

/// How long to wait for the end of a response once its answer has been heard, when its
/// metrics snapshot does not arrive.
const RESPONSE_DONE_GRACE: Duration = Duration::from_secs(1);

/// Why the event loop ended.
enum Ending {
    Done,
    CtrlC,
    TimedOut,
    Failed(voicewire::Error),
}

async fn converse(args: &TalkArgs, options: SessionOptions, mode: Mode) -> Result<(), CliError> {
    let mut view = renderer(args);
    let session = RealtimeVoiceSession::new(options);
    let timeout = Duration::from_secs(args.timeout.max(1));
    let deadline = match mode {
        Mode::Microphone => None,
        _ => Some(Instant::now() + timeout),
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    let started = tokio::select! {
        r = session.start() => r.map_err(Ending::Failed),
        _ = &mut ctrl_c => Err(Ending::CtrlC),
        _ = sleep_until(deadline) => Err(Ending::TimedOut),
    };
    let ending = match started {
        Err(ending) => ending,
        Ok(()) => event_loop(args, &session, mode, view.as_mut(), deadline, &mut ctrl_c).await,
    };
    let _ = session.stop().await;
    drain(&session, view.as_mut()).await;

    let output = match (&args.output, &ending) {
        (Some(path), Ending::Done | Ending::CtrlC) => {
            wav_length(path).map(|len| (path.clone(), len))
        }
        _ => None,
    };
    view.finish(&Summary {
        metrics: session.metrics(),
        output,
    });
    match ending {
        Ending::Done => Ok(()),
        Ending::CtrlC if args.input.is_none() && args.text.is_empty() => Ok(()),
        Ending::CtrlC => Err(CliError::Interrupted),
        Ending::TimedOut => Err(CliError::Timeout(timeout)),
        Ending::Failed(e) => Err(CliError::Session(e)),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn event_loop(
    args: &TalkArgs,
    session: &RealtimeVoiceSession,
    mode: Mode,
    view: &mut dyn Renderer,
    deadline: Option<Instant>,
    ctrl_c: &mut std::pin::Pin<&mut impl std::future::Future<Output = std::io::Result<()>>>,
) -> Ending {
    let mut tracker = TurnTracker {
        by_output_level: args.transport == TransportArg::Webrtc,
        ..TurnTracker::default()
    };
    let (stepper, mut texts) = match mode {
        Mode::File { stepper } => (Some(stepper), VecDeque::new()),
        Mode::Text { texts } => (None, texts),
        Mode::Microphone => (None, VecDeque::new()),
    };
    let push_to_talk = stepper.is_some() && args.vad == VadArg::Off;
    let mut talking = false;
    if push_to_talk {
        if let Err(e) = session.start_talking().await {
            return Ending::Failed(e);
        }
        talking = true;
    }
    if let Some(first) = texts.pop_front() {
        if let Err(e) = session.send_text(first).await {
            return Ending::Failed(e);
        }
        tracker.request_sent();
    }
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut idle_since: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            _ = &mut *ctrl_c => return Ending::CtrlC,
            _ = sleep_until(deadline) => return Ending::TimedOut,
            event = session.next_event() => {
                let Some(event) = event else {
                    return Ending::Failed(voicewire::Error::Closed { message: "the session ended unexpectedly".into() });
                };
                view.event(&event);
                tracker.observe(&event);
                match event {
                    SessionEvent::StateChanged(SessionState::Failed { error }) => {
                        return Ending::Failed(voicewire::Error::from(&error));
                    }
                    SessionEvent::StateChanged(SessionState::Closed { .. }) => {
                        return Ending::Failed(voicewire::Error::Closed { message: "the server closed the session".into() });
                    }
                    _ => {}
                }
            }
            _ = tick.tick() => {}
        }
        idle_since = match (tracker.idle(), idle_since) {
            (false, _) => None,
            (true, None) => Some(Instant::now()),
            (true, since) => since,
        };
        let settled = tracker.settled()
            || idle_since.is_some_and(|since| since.elapsed() >= RESPONSE_DONE_GRACE);
        if let Some(stepper) = &stepper {
            let input_done = stepper.input_done();
            if talking && input_done {
                talking = false;
                if let Err(e) = session.stop_talking().await {
                    return Ending::Failed(e);
                }
                tracker.request_sent();
            }
            if input_done && settled {
                return Ending::Done;
            }
        } else if settled {
            match texts.pop_front() {
                Some(next) => {
                    if let Err(e) = session.send_text(next).await {
                        return Ending::Failed(e);
                    }
                    tracker.request_sent();
                    idle_since = None;
                }
                None if args.input.is_none() && !args.text.is_empty() => return Ending::Done,
                None => {}
            }
        }
    }
}

/// Shows the events left after the session stopped (the final state changes).
async fn drain(session: &RealtimeVoiceSession, view: &mut dyn Renderer) {
    let guard = Duration::from_secs(5);
    let _ = tokio::time::timeout(guard, async {
        while let Some(event) = session.next_event().await {
            view.event(&event);
        }
    })
    .await;
}

fn wav_length(path: &Path) -> Option<Duration> {
    let (format, samples) = voicewire::audio::read_wav(path).ok()?;
    let frames = samples.len() / usize::from(format.channels.max(1));
    Some(Duration::from_secs_f64(
        frames as f64 / f64::from(format.sample_rate.max(1)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        talk: TalkArgs,
    }

    fn parse(args: &[&str]) -> TalkArgs {
        let mut all = vec!["talk"];
        all.extend_from_slice(args);
        Wrapper::try_parse_from(all).unwrap().talk
    }

    #[test]
    fn the_tracker_waits_for_speech_answer_and_playback() {
        let mut t = TurnTracker::default();
        assert!(!t.idle());
        t.observe(&SessionEvent::UserSpeechStarted {
            item_id: None,
            audio_start_ms: 0,
        });
        t.observe(&SessionEvent::UserSpeechStopped {
            item_id: None,
            audio_end_ms: 900,
        });
        t.observe(&SessionEvent::AssistantAudioStarted {
            item_id: "a".into(),
        });
        t.observe(&SessionEvent::AssistantTranscriptFinal {
            item_id: "a".into(),
            response_id: None,
            text: "hi".into(),
            complete: true,
        });
        assert!(!t.idle(), "audio still playing");
        t.observe(&SessionEvent::AssistantAudioStopped {
            item_id: "a".into(),
            played_ms: Some(800),
        });
        assert!(t.idle());
        assert!(!t.settled(), "response.done not seen yet");
        t.observe(&SessionEvent::Metrics(Box::default()));
        assert!(t.settled());
        t.request_sent();
        assert!(!t.idle());
        assert_eq!(t.answers, 1);
    }

    #[test]
    fn on_webrtc_playback_ends_when_the_speaker_is_quiet() {
        let mut t = TurnTracker {
            by_output_level: true,
            ..TurnTracker::default()
        };
        t.observe(&SessionEvent::AssistantAudioStarted {
            item_id: "resp_1".into(),
        });
        t.observe(&SessionEvent::AssistantTranscriptFinal {
            item_id: "a".into(),
            response_id: None,
            text: "hi".into(),
            complete: true,
        });
        let level = |peak: f32| {
            SessionEvent::AudioLevels(voicewire::AudioLevels {
                output_peak: peak,
                output_rms: peak / 2.0,
                ..Default::default()
            })
        };
        t.observe(&level(0.5));
        for _ in 0..QUIET_READINGS - 1 {
            t.observe(&level(0.0));
        }
        assert!(!t.idle());
        t.observe(&level(0.0));
        assert!(t.idle(), "no audio stopped event needed");
    }

    #[test]
    fn vad_options_build_the_session_config() {
        let a = parse(&["--vad-threshold", "0.7", "--vad-silence-ms", "800"]);
        let c = a.session_config().unwrap();
        let v = serde_json::to_value(&c).unwrap();
        let td = &v["audio"]["input"]["turn_detection"];
        assert_eq!(td["type"], "server_vad");
        assert_eq!(td["threshold"], 0.7);
        assert_eq!(td["silence_duration_ms"], 800);
        assert_eq!(
            v["audio"]["input"]["transcription"]["model"],
            "gpt-4o-transcribe"
        );

        let c = parse(&[
            "--vad",
            "off",
            "--prompt-id",
            "pmpt_1",
            "--prompt-version",
            "3",
        ])
        .session_config()
        .unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert!(v["audio"]["input"]["turn_detection"].is_null());
        assert_eq!(v["prompt"]["id"], "pmpt_1");
        assert_eq!(v["prompt"]["version"], "3");

        let c = parse(&[
            "--vad",
            "semantic",
            "--vad-eagerness",
            "high",
            "--voice",
            "marin",
        ])
        .session_config()
        .unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["audio"]["input"]["turn_detection"]["eagerness"], "high");
        assert_eq!(v["audio"]["output"]["voice"], "marin");
    }

    #[test]
    fn contradictory_vad_options_are_usage_errors() {
        for args in [
            &["--vad", "off", "--vad-threshold", "0.5"][..],
            &["--vad", "semantic", "--vad-silence-ms", "300"][..],
            &["--vad-eagerness", "low"][..],
            &["--vad-threshold", "1.5"][..],
        ] {
            let err = parse(args).session_config().unwrap_err();
            assert_eq!(err.exit_code(), exit::USAGE, "{args:?}: {err}");
        }
    }
}
