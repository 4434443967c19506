//! How `voicewire talk` shows a session: a live terminal view, plain lines when the output
//! is not a terminal, or JSON lines with `--json`.
//!
//! The live view keeps a two-line region at the bottom of the terminal — the transcript
//! being streamed right now, and a status line (state, microphone and speaker meters, turn
//! latency) — and prints finished transcripts above it, so the scrollback reads like a chat
//! log. It uses plain ANSI escapes (no terminal library) and redraws only on events.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use voicewire::{SessionEvent, SessionMetrics, SessionState};

use crate::event_json::{event_json, metrics_json};

/// What is reported when the session ends.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Metrics at the end.
    pub metrics: SessionMetrics,
    /// The reply WAV written, and its length.
    pub output: Option<(PathBuf, Duration)>,
}

/// Something that shows a session.
pub trait Renderer {
    /// Shows one event.
    fn event(&mut self, event: &SessionEvent);
    /// Shows the end of the session.
    fn finish(&mut self, summary: &Summary);
}

/// `--json`: one object per line on stdout.
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        JsonLines { out }
    }
}

impl<W: Write> Renderer for JsonLines<W> {
    fn event(&mut self, event: &SessionEvent) {
        let _ = writeln!(self.out, "{}", event_json(event));
        let _ = self.out.flush();
    }

    fn finish(&mut self, summary: &Summary) {
        let mut v = metrics_json(&summary.metrics);
        v["type"] = serde_json::json!("summary");
        if let Some((path, length)) = &summary.output {
            v["output_wav"] = serde_json::json!(path.display().to_string());
            v["output_wav_ms"] = serde_json::json!(length.as_millis() as u64);
        }
        let _ = writeln!(self.out, "{v}");
        let _ = self.out.flush();
    }
}

/// Lines for pipes and logs: final transcripts and the summary, nothing that redraws.
pub struct PlainLines<W: Write> {
    out: W,
}

impl<W: Write> PlainLines<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        PlainLines { out }
    }
}

fn summary_lines(summary: &Summary) -> Vec<String> {
    let mut lines = Vec::new();
    let m = &summary.metrics;
    if let Some((path, length)) = &summary.output {
        lines.push(format!(
            "reply audio: {} ({:.1} s, 24 kHz mono 16-bit)",
            path.display(),
            length.as_secs_f64()
        ));
    }
    let mut stats = vec![format!("turns: {}", m.turns)];
    if let Some(latency) = m.median_time_to_first_audio() {
        stats.push(format!(
            "time to first audio: {} ms (median)",
            latency.as_millis()
        ));
    }
    if let Some(connect) = m.connect_time {
        stats.push(format!("connect: {} ms", connect.as_millis()));
    }
    lines.push(stats.join(" · "));
    lines
}

impl<W: Write> Renderer for PlainLines<W> {
    fn event(&mut self, event: &SessionEvent) {
        let line = match event {
            SessionEvent::UserTranscriptFinal { text, .. } => format!("you: {text}"),
            SessionEvent::AssistantTranscriptFinal { text, complete, .. } => {
                if *complete {
                    format!("assistant: {text}")
                } else {
                    format!("assistant (cut off): {text}")
                }
            }
            SessionEvent::ToolCall(call) => format!("tool call: {}({})", call.name, call.arguments),
            SessionEvent::Interrupted { .. } => "(interrupted)".to_owned(),
            SessionEvent::Error {
                message,
                recoverable: true,
                ..
            } => format!("warning: {message}"),
            SessionEvent::StateChanged(SessionState::Reconnecting { attempt }) => {
                format!("(connection lost; reconnecting, attempt {attempt})")
            }
            _ => return,
        };
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn finish(&mut self, summary: &Summary) {
        for line in summary_lines(summary) {
            let _ = writeln!(self.out, "{line}");
        }
        let _ = self.out.flush();
    }
}

/// Who is speaking in a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speaker {
    User,
    Assistant,
}

impl Speaker {
    fn label(self) -> &'static str {
        match self {
            Speaker::User => "\x1b[1;36myou\x1b[0m",
            Speaker::Assistant => "\x1b[1;35massistant\x1b[0m",
        }
    }
}

/// Converts an RMS level (0..1) to a 0..1 meter position on a 60 dB scale, which is how
/// people hear loudness (a linear meter would sit at the bottom for normal speech).
pub fn meter_position(rms: f32) -> f32 {
    if !rms.is_finite() || rms <= 1e-6 {
        return 0.0;
    }
    ((20.0 * rms.log10() + 60.0) / 60.0).clamp(0.0, 1.0)
}

/// A meter of `cells` characters.
pub fn meter(rms: f32, cells: usize) -> String {
    let lit = (meter_position(rms) * cells as f32).round() as usize;
    let lit = lit.min(cells);
    format!("{}{}", "█".repeat(lit), "░".repeat(cells - lit))
}

/// The live terminal view. See the module docs.
pub struct LiveView<W: Write> {
    out: W,
    width: usize,
    state: SessionState,
    input_rms: f32,
    output_rms: f32,
    last_latency: Option<Duration>,
    turns: u64,
    partial: Option<(Speaker, String)>,
    /// Lines of the bottom region currently on screen (0, 1 or 2).
    drawn: usize,
}

impl<W: Write> LiveView<W> {
    /// A view `width` columns wide writing to `out`.
    pub fn new(out: W, width: usize) -> Self {
        LiveView {
            out,
            width: width.max(40),
            state: SessionState::Idle,
            input_rms: 0.0,
            output_rms: 0.0,
            last_latency: None,
            turns: 0,
            partial: None,
            drawn: 0,
        }
    }

    /// The terminal width from `COLUMNS`, or 100.
    pub fn terminal_width() -> usize {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100)
    }

    fn clear_region(&mut self) {
        match self.drawn {
            2 => {
                let _ = write!(self.out, "\r\x1b[2K\x1b[1A\r\x1b[2K");
            }
            1 => {
                let _ = write!(self.out, "\r\x1b[2K");
            }
            _ => {}
        }
        self.drawn = 0;
    }

    fn status_line(&self) -> String {
        let (color, dot) = match &self.state {
            SessionState::Live => ("32", "●"),
            SessionState::Failed { .. } => ("31", "✖"),
            SessionState::Closed { .. } => ("90", "■"),
            _ => ("33", "◌"),
        };
        let latency = match self.last_latency {
            Some(d) => format!("{} ms", d.as_millis()),
            None => "–".to_owned(),
        };
        format!(
            "\x1b[{color}m{dot} {:<12}\x1b[0m mic {}  spk {}  latency {latency}  turns {}",
            self.state.name(),
            meter(self.input_rms, 10),
            meter(self.output_rms, 10),
            self.turns
        )
    }

    fn draw_region(&mut self) {
        if let Some((speaker, text)) = &self.partial {
            // Only the tail that fits on one line: the whole text is printed when final.
            let room = self.width.saturating_sub(match speaker {
                Speaker::User => 6,
                Speaker::Assistant => 12,
            });
            let chars: Vec<char> = text.chars().collect();
            let tail: String = if chars.len() > room {
                let start = chars.len() - room.saturating_sub(1);
                std::iter::once('…')
                    .chain(chars[start..].iter().copied())
                    .collect()
            } else {
                text.clone()
            };
            let _ = writeln!(
                self.out,
                "{} › {}",
                speaker.label(),
                tail.replace('\n', " ")
            );
            self.drawn = 1;
        }
        let status = self.status_line();
        let _ = write!(self.out, "{status}");
        self.drawn += 1;
        let _ = self.out.flush();
    }

    fn print_above(&mut self, line: &str) {
        self.clear_region();
        let _ = writeln!(self.out, "{line}");
        self.draw_region();
    }

    fn append_partial(&mut self, speaker: Speaker, delta: &str) {
        match &mut self.partial {
            Some((who, text)) if *who == speaker => text.push_str(delta),
            _ => self.partial = Some((speaker, delta.to_owned())),
        }
    }
}

impl<W: Write> Renderer for LiveView<W> {
    fn event(&mut self, event: &SessionEvent) {
        match event {
            SessionEvent::StateChanged(state) => {
                if state.is_terminal() {
                    // No more audio flows; meters frozen at the last reading would mislead.
                    self.input_rms = 0.0;
                    self.output_rms = 0.0;
                }
                self.state = state.clone();
            }
            SessionEvent::AudioLevels(levels) => {
                self.input_rms = levels.input_rms;
                self.output_rms = levels.output_rms;
            }
            SessionEvent::Metrics(m) => {
                self.last_latency = m.last_time_to_first_audio.or(self.last_latency);
                self.turns = m.turns;
            }
            SessionEvent::UserTranscriptDelta { delta, .. } => {
                self.append_partial(Speaker::User, delta)
            }
            SessionEvent::AssistantTranscriptDelta { delta, .. } => {
                self.append_partial(Speaker::Assistant, delta)
            }
            SessionEvent::UserTranscriptFinal { text, .. } => {
                if matches!(self.partial, Some((Speaker::User, _))) {
                    self.partial = None;
                }
                let line = format!("{}: {text}", Speaker::User.label());
                return self.print_above(&line);
            }
            SessionEvent::AssistantTranscriptFinal { text, complete, .. } => {
                if matches!(self.partial, Some((Speaker::Assistant, _))) {
                    self.partial = None;
                }
                let cut = if *complete {
                    ""
                } else {
                    " \x1b[90m(cut off)\x1b[0m"
                };
                let line = format!("{}: {text}{cut}", Speaker::Assistant.label());
                return self.print_above(&line);
            }
            SessionEvent::ToolCall(call) => {
                let line = format!("\x1b[90mtool call {}({})\x1b[0m", call.name, call.arguments);
                return self.print_above(&line);
            }
            SessionEvent::Interrupted { .. } => {
                return self.print_above("\x1b[90m(interrupted)\x1b[0m");
            }
            SessionEvent::Error {
                message,
                recoverable,
                ..
            } => {
                let label = if *recoverable { "warning" } else { "error" };
                let line = format!("\x1b[31m{label}:\x1b[0m {message}");
                return self.print_above(&line);
            }
            _ => return,
        }
        self.clear_region();
        self.draw_region();
    }

    fn finish(&mut self, summary: &Summary) {
        self.partial = None;
        self.clear_region();
        self.draw_region();
        let _ = writeln!(self.out);
        for line in summary_lines(summary) {
            let _ = writeln!(self.out, "{line}");
        }
        let _ = self.out.flush();
        self.drawn = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voicewire::AudioLevels;

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn meters_follow_a_decibel_scale() {
        assert_eq!(meter_position(0.0), 0.0);
        assert_eq!(meter_position(1.0), 1.0);
        assert!((meter_position(0.001) - 0.0).abs() < 1e-6); // -60 dBFS
        assert!((meter_position(0.0316) - 0.5).abs() < 0.01); // -30 dBFS
        assert_eq!(meter(1.0, 4), "████");
        assert_eq!(meter(0.0, 4), "░░░░");
        assert_eq!(meter(f32::NAN, 2), "░░");
    }

    #[test]
    fn live_view_streams_deltas_then_prints_the_final_line_above_the_status() {
        let mut buf = Vec::new();
        {
            let mut view = LiveView::new(&mut buf, 80);
            view.event(&SessionEvent::StateChanged(SessionState::Live));
            view.event(&SessionEvent::AudioLevels(AudioLevels {
                input_rms: 0.1,
                ..Default::default()
            }));
            view.event(&SessionEvent::AssistantTranscriptDelta {
                item_id: "i".into(),
                response_id: None,
                delta: "Hel".into(),
            });
            view.event(&SessionEvent::AssistantTranscriptDelta {
                item_id: "i".into(),
                response_id: None,
                delta: "lo".into(),
            });
            view.event(&SessionEvent::AssistantTranscriptFinal {
                item_id: "i".into(),
                response_id: None,
                text: "Hello".into(),
                complete: true,
            });
            view.finish(&Summary::default());
        }
        let text = String::from_utf8(buf).unwrap();
        let plain = strip_ansi(&text);
        assert!(plain.contains("assistant › Hel"), "{plain}");
        assert!(plain.contains("assistant › Hello"), "{plain}");
        assert!(plain.contains("assistant: Hello\n"), "{plain}");
        assert!(plain.contains("Live"), "{plain}");
        assert!(
            plain.contains("mic ██████"),
            "a -20 dBFS input shows 2/3 of the meter: {plain}"
        );
        assert!(plain.contains("turns: 0"), "{plain}");
    }

    #[test]
    fn long_partials_show_their_tail_within_the_width() {
        let mut buf = Vec::new();
        {
            let mut view = LiveView::new(&mut buf, 40);
            view.event(&SessionEvent::UserTranscriptDelta {
                item_id: "u".into(),
                delta: "a".repeat(100) + "END",
            });
        }
        let plain = strip_ansi(&String::from_utf8(buf).unwrap());
        let line = plain.lines().find(|l| l.contains("you ›")).unwrap();
        assert!(line.ends_with("END"), "{line}");
        assert!(line.chars().count() <= 40, "{line}");
    }

    #[test]
    fn plain_lines_show_final_transcripts_and_a_summary() {
        let mut buf = Vec::new();
        {
            let mut view = PlainLines::new(&mut buf);
            view.event(&SessionEvent::UserTranscriptDelta {
                item_id: "u".into(),
                delta: "ignored".into(),
            });
            view.event(&SessionEvent::UserTranscriptFinal {
                item_id: "u".into(),
                text: "hi".into(),
            });
            let mut metrics = SessionMetrics {
                turns: 1,
                ..Default::default()
            };
            metrics.record_first_audio(Duration::from_millis(250));
            view.finish(&Summary {
                metrics,
                output: Some((PathBuf::from("reply.wav"), Duration::from_millis(1500))),
            });
        }
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "you: hi\nreply audio: reply.wav (1.5 s, 24 kHz mono 16-bit)\nturns: 1 · time to first audio: 250 ms (median)\n"
        );
    }

    #[test]
    fn json_lines_are_one_object_per_line() {
        let mut buf = Vec::new();
        {
            let mut view = JsonLines::new(&mut buf);
            view.event(&SessionEvent::StateChanged(SessionState::Live));
            view.finish(&Summary::default());
        }
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["type"], "state");
        assert_eq!(lines[1]["type"], "summary");
    }
}
