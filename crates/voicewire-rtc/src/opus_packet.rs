//! Opus packets as they cross the RTP track, and the little RTP bookkeeping we own.
//!
//! The stack carries opaque bytes; we read the Opus TOC byte (RFC 6716 §3.1) so a
//! received packet knows how much audio it holds without decoding it, and we stamp
//! outgoing packets ourselves (sequence numbers, 48 kHz timestamps, talk-spurt
//! markers) so the sender's behaviour does not depend on a packetizer's defaults.

use std::time::Duration;

use bytes::Bytes;

/// RTP clock rate of Opus, fixed by RFC 7587 whatever the internal sample rate.
pub const OPUS_RTP_CLOCK_HZ: u32 = 48_000;

/// Longest audio one Opus packet may hold (RFC 6716 §3.2.5).
const MAX_PACKET_DURATION_US: u64 = 120_000;

/// One Opus packet received on the remote audio track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusPacket {
    /// The Opus packet exactly as sent (one RTP payload).
    pub data: Bytes,
    /// Audio held by the packet, read from its TOC byte.
    pub duration: Duration,
    /// RTP sequence number, for reordering and loss detection.
    pub sequence: u16,
    /// RTP timestamp in 48 kHz ticks.
    pub rtp_timestamp: u32,
    /// Packets missing between the previous in-order packet and this one. A decoder
    /// runs packet-loss concealment (or in-band FEC) for that many frames first.
    pub lost_before: u16,
    /// The RTP marker bit: first packet of a talk spurt after silence (DTX).
    pub talkspurt_start: bool,
}

/// How long the Opus packet `data` plays, from its TOC byte and frame count.
///
/// Returns `None` for an empty packet, a code-3 packet without its count byte, a
/// zero frame count, or a total beyond 120 ms — all malformed per RFC 6716.
#[must_use]
pub fn opus_packet_duration(data: &[u8]) -> Option<Duration> {
    let toc = *data.first()?;
    let config = toc >> 3;
    let frame_us: u64 = match config {
        // SILK-only: NB, MB, WB, each 10/20/40/60 ms.
        0..=11 => [10_000, 20_000, 40_000, 60_000][usize::from(config % 4)],
        // Hybrid: SWB, FB, each 10/20 ms.
        12..=15 => [10_000, 20_000][usize::from(config % 2)],
        // CELT-only: NB, WB, SWB, FB, each 2.5/5/10/20 ms.
        _ => [2_500, 5_000, 10_000, 20_000][usize::from(config % 4)],
    };
    let frames: u64 = match toc & 0b11 {
        0 => 1,
        1 | 2 => 2,
        _ => u64::from(*data.get(1)? & 0b0011_1111),
    };
    let total = frame_us.checked_mul(frames)?;
    if frames == 0 || total > MAX_PACKET_DURATION_US {
        return None;
    }
    Some(Duration::from_micros(total))
}

/// Converts a duration to 48 kHz RTP ticks, rounding down to whole ticks.
#[must_use]
pub fn duration_to_rtp_ticks(duration: Duration) -> u32 {
    let ticks = duration.as_micros() * u128::from(OPUS_RTP_CLOCK_HZ) / 1_000_000;
    u32::try_from(ticks).unwrap_or(u32::MAX)
}

/// Sequence numbers, timestamps and markers for the outgoing audio stream.
///
/// Timestamps advance by each packet's duration. When the caller stops sending for
/// a while (mute, DTX, nothing to say), the next packet's timestamp jumps by the
/// wall-clock gap and carries the marker bit, as RFC 3551 §4.1 asks, so the
/// receiver's jitter buffer restarts cleanly instead of compressing the pause.
#[derive(Debug, Clone)]
pub(crate) struct RtpStamper {
    next_sequence: u16,
    next_timestamp: u32,
    /// When the previous packet was stamped and how long it lasted.
    previous: Option<(std::time::Instant, Duration)>,
}

/// What [`RtpStamper::stamp`] decided for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpStamp {
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
}

impl RtpStamper {
    pub(crate) fn new(first_sequence: u16, first_timestamp: u32) -> Self {
        Self {
            next_sequence: first_sequence,
            next_timestamp: first_timestamp,
            previous: None,
        }
    }

    /// Stamps one packet of `duration` sent at `now`.
    pub(crate) fn stamp(&mut self, now: std::time::Instant, duration: Duration) -> RtpStamp {
        let mut marker = self.previous.is_none();
        if let Some((sent_at, previous_duration)) = self.previous {
            let elapsed = now.saturating_duration_since(sent_at);
            // A gap of more than two packets means the stream paused; carry the real
            // pause into the timestamp (beyond the previous packet's own length).
            if elapsed > previous_duration * 3 {
                let pause = elapsed.saturating_sub(previous_duration);
                self.next_timestamp = self
                    .next_timestamp
                    .wrapping_add(duration_to_rtp_ticks(pause));
                marker = true;
            }
        }
        let stamp = RtpStamp {
            sequence: self.next_sequence,
            timestamp: self.next_timestamp,
            marker,
        };
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.next_timestamp = self
            .next_timestamp
            .wrapping_add(duration_to_rtp_ticks(duration));
        self.previous = Some((now, duration));
        stamp
    }
}

/// Counts packets missing from an incoming sequence-number stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct LossCounter {
    highest: Option<u16>,
}

impl LossCounter {
    /// Returns how many packets were skipped before `sequence`, or `None` if the
    /// packet is a duplicate or arrived late (older than the highest seen).
    pub(crate) fn observe(&mut self, sequence: u16) -> Option<u16> {
        match self.highest {
            None => {
                self.highest = Some(sequence);
                Some(0)
            }
            Some(highest) => {
                let delta = sequence.wrapping_sub(highest);
                // Forward distances below half the space are new packets (RFC 3550 A.1).
                if delta == 0 || delta >= 0x8000 {
                    return None;
                }
                self.highest = Some(sequence);
                Some(delta - 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_durations_cover_each_mode() {
        // config 1 (SILK NB 20 ms), one frame.
        assert_eq!(
            opus_packet_duration(&[1 << 3]),
            Some(Duration::from_millis(20))
        );
        // config 15 (hybrid FB 20 ms), two equal frames (code 1).
        assert_eq!(
            opus_packet_duration(&[(15 << 3) | 1, 0, 0]),
            Some(Duration::from_millis(40))
        );
        // config 28 (CELT FB 2.5 ms), code 3 with 4 frames.
        assert_eq!(
            opus_packet_duration(&[(28 << 3) | 3, 4]),
            Some(Duration::from_micros(10_000))
        );
        // config 31 (CELT FB 20 ms), what libopus emits for 20 ms music/voice at 48 kHz.
        assert_eq!(
            opus_packet_duration(&[31 << 3]),
            Some(Duration::from_millis(20))
        );
    }

    #[test]
    fn malformed_packets_have_no_duration() {
        assert_eq!(opus_packet_duration(&[]), None);
        // Code 3 without its frame-count byte.
        assert_eq!(opus_packet_duration(&[(31 << 3) | 3]), None);
        // Code 3 with zero frames.
        assert_eq!(opus_packet_duration(&[(31 << 3) | 3, 0]), None);
        // 7 × 20 ms = 140 ms is over the limit.
        assert_eq!(opus_packet_duration(&[(31 << 3) | 3, 7]), None);
    }

    #[test]
    fn stamper_advances_and_marks_pauses() {
        let start = std::time::Instant::now();
        let frame = Duration::from_millis(20);
        let mut stamper = RtpStamper::new(65_535, u32::MAX - 959);
        let first = stamper.stamp(start, frame);
        assert_eq!(first.sequence, 65_535);
        assert!(first.marker, "the first packet starts a talk spurt");
        let second = stamper.stamp(start + frame, frame);
        assert_eq!(second.sequence, 0, "sequence wraps");
        assert_eq!(second.timestamp, 0, "timestamp wraps after 960 ticks");
        assert!(!second.marker);
        // One second of silence, then speech again.
        let resumed = stamper.stamp(start + frame * 2 + Duration::from_secs(1), frame);
        assert!(resumed.marker);
        assert_eq!(resumed.timestamp, 960 + 48_000);
    }

    #[test]
    fn loss_counter_reports_gaps_and_ignores_late_packets() {
        let mut counter = LossCounter::default();
        assert_eq!(counter.observe(65_534), Some(0));
        assert_eq!(counter.observe(65_535), Some(0));
        assert_eq!(
            counter.observe(2),
            Some(2),
            "0 and 1 were lost across the wrap"
        );
        assert_eq!(counter.observe(1), None, "late packet");
        assert_eq!(counter.observe(2), None, "duplicate");
    }
}
