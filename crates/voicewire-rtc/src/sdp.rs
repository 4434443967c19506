//! A quick look at an SDP before handing it to the stack.
//!
//! The stack's own errors for a bad offer are generic; the emulator wants to answer
//! `400` with a message that says what is missing, and the client wants to check that
//! an answer really carries audio. This reads only the lines that matter.

use crate::RtcError;

/// What a Realtime call needs to know about an SDP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdpSummary {
    /// There is an `m=audio` section with a non-zero port.
    pub has_audio: bool,
    /// That audio section maps a payload type to `opus/48000` (any channel count).
    pub audio_has_opus: bool,
    /// The audio section's direction attribute (`sendrecv` when absent).
    pub audio_direction: String,
    /// There is an `m=application … webrtc-datachannel` section.
    pub has_data_channel: bool,
    /// Number of `a=candidate` lines (zero means the peer relies on trickle ICE).
    pub candidate_count: usize,
}

impl SdpSummary {
    /// Reads `sdp`, failing if it does not even look like a session description.
    ///
    /// # Errors
    /// [`RtcError::InvalidSdp`] when the text does not start with `v=0` or has no media
    /// sections.
    pub fn inspect(sdp: &str) -> Result<Self, RtcError> {
        let mut lines = sdp.lines().map(str::trim).filter(|line| !line.is_empty());
        if lines.next() != Some("v=0") {
            return Err(RtcError::InvalidSdp(
                "a session description starts with `v=0`".to_owned(),
            ));
        }
        let mut summary = Self::default();
        let mut media_sections = 0_usize;
        let mut in_audio = false;
        let mut audio_direction: Option<String> = None;
        for line in lines {
            if let Some(media) = line.strip_prefix("m=") {
                media_sections += 1;
                let mut fields = media.split_whitespace();
                let kind = fields.next().unwrap_or_default();
                let port = fields.next().unwrap_or_default();
                in_audio = kind == "audio" && port != "0" && !summary.has_audio;
                if in_audio {
                    summary.has_audio = true;
                }
                if kind == "application" && media.contains("webrtc-datachannel") {
                    summary.has_data_channel = true;
                }
                continue;
            }
            if line.starts_with("a=candidate:") {
                summary.candidate_count += 1;
            }
            if !in_audio {
                continue;
            }
            if let Some(rtpmap) = line.strip_prefix("a=rtpmap:") {
                let encoding = rtpmap.split_whitespace().nth(1).unwrap_or_default();
                if encoding.to_ascii_lowercase().starts_with("opus/48000") {
                    summary.audio_has_opus = true;
                }
            } else if let Some(direction) = ["sendrecv", "sendonly", "recvonly", "inactive"]
                .into_iter()
                .find(|direction| line.strip_prefix("a=") == Some(*direction))
            {
                audio_direction = Some(direction.to_owned());
            }
        }
        if media_sections == 0 {
            return Err(RtcError::InvalidSdp(
                "no media sections (`m=` lines)".to_owned(),
            ));
        }
        summary.audio_direction = audio_direction.unwrap_or_else(|| "sendrecv".to_owned());
        Ok(summary)
    }

    /// Checks that an offer can become a Realtime call: audio with Opus, and a data
    /// channel for the events.
    ///
    /// # Errors
    /// [`RtcError::InvalidSdp`] naming the missing section, [`RtcError::NoCommonCodec`]
    /// when the audio section lacks Opus.
    pub fn require_realtime_call(&self) -> Result<(), RtcError> {
        if !self.has_audio {
            return Err(RtcError::InvalidSdp(
                "the offer has no audio section".to_owned(),
            ));
        }
        if !self.audio_has_opus {
            return Err(RtcError::NoCommonCodec);
        }
        if !self.has_data_channel {
            return Err(RtcError::InvalidSdp(
                "the offer has no data channel section (create `oai-events` before the offer)"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSER_OFFER: &str = "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8\r\nc=IN IP4 0.0.0.0\r\n\
a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host\r\na=mid:0\r\na=sendrecv\r\n\
a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:0 PCMU/8000\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n";

    #[test]
    fn reads_a_browser_offer() {
        let summary = SdpSummary::inspect(BROWSER_OFFER).unwrap();
        assert!(summary.has_audio);
        assert!(summary.audio_has_opus);
        assert!(summary.has_data_channel);
        assert_eq!(summary.audio_direction, "sendrecv");
        assert_eq!(summary.candidate_count, 1);
        summary.require_realtime_call().unwrap();
    }

    #[test]
    fn names_what_is_missing() {
        let no_channel = BROWSER_OFFER.split("m=application").next().unwrap();
        let summary = SdpSummary::inspect(no_channel).unwrap();
        assert!(matches!(
            summary.require_realtime_call(),
            Err(RtcError::InvalidSdp(message)) if message.contains("data channel")
        ));
        let pcmu_only = BROWSER_OFFER.replace("opus/48000/2", "PCMA/8000");
        let summary = SdpSummary::inspect(&pcmu_only).unwrap();
        assert!(matches!(
            summary.require_realtime_call(),
            Err(RtcError::NoCommonCodec)
        ));
        assert!(matches!(
            SdpSummary::inspect("hello"),
            Err(RtcError::InvalidSdp(_))
        ));
        assert!(matches!(
            SdpSummary::inspect("v=0\r\ns=-\r\n"),
            Err(RtcError::InvalidSdp(_))
        ));
    }
}
