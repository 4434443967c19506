//! Settings for one peer connection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How a [`RtcPeer`](crate::RtcPeer) binds, gathers and times out.
///
/// The defaults suit a phone or desktop talking to the Realtime API: every
/// non-loopback interface, mDNS off, a 20 ms ICE check interval. Tests and the
/// local emulator use [`RtcConfig::loopback`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcConfig {
    /// Local UDP addresses to bind. A wildcard (`0.0.0.0:0`) means one socket per
    /// non-loopback interface; a concrete address binds exactly that interface
    /// (this is how loopback-only peers are made).
    pub udp_bind_addrs: Vec<SocketAddr>,
    /// STUN/TURN server URLs (`stun:host:port`). Empty means host candidates only,
    /// which is all a client needs against OpenAI's public media servers.
    pub ice_servers: Vec<String>,
    /// Delay between ICE connectivity checks. The stack's default is 200 ms, which
    /// costs ~180 ms of connect time on loopback; 20 ms brings the data channel up in
    /// ~50 ms.
    pub ice_check_interval: Duration,
    /// How long gathering local candidates may take before the offer or answer is
    /// produced anyway. The HTTP exchange with `/v1/realtime/calls` carries one SDP
    /// each way (no trickle), so every candidate must be in it.
    pub gather_timeout: Duration,
    /// How long the caller should wait from the offer to an open data channel before
    /// giving up. The peer does not enforce it (the session driver owns its timers);
    /// it travels here so both drivers read one setting.
    pub connect_timeout: Duration,
    /// No traffic for this long turns the connection `Disconnected`.
    pub ice_disconnected_timeout: Duration,
    /// `Disconnected` for this long more turns it `Failed`.
    pub ice_failed_timeout: Duration,
    /// Consent keep-alive interval while idle.
    pub ice_keepalive_interval: Duration,
    /// Capacity of the event queue returned by [`RtcPeer::next_event`](crate::RtcPeer::next_event).
    /// Text and state events wait for room (the data channel applies back-pressure to the
    /// remote sender, nothing is lost); audio packets that find the queue full are dropped
    /// and counted, because late audio is worthless.
    pub event_queue_capacity: usize,
}

impl Default for RtcConfig {
    fn default() -> Self {
        Self {
            udp_bind_addrs: vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)],
            ice_servers: Vec::new(),
            ice_check_interval: Duration::from_millis(20),
            gather_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
            ice_disconnected_timeout: Duration::from_secs(5),
            ice_failed_timeout: Duration::from_secs(10),
            ice_keepalive_interval: Duration::from_secs(2),
            event_queue_capacity: 512,
        }
    }
}

impl RtcConfig {
    /// A peer bound to `127.0.0.1` only: for tests and for the local emulator, whose
    /// traffic must never leave the machine.
    #[must_use]
    pub fn loopback() -> Self {
        Self::bound_to(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// A peer whose only host candidate is `ip` (ephemeral port). The emulator binds the
    /// address its HTTP listener uses, so a browser that reached it can reach the media.
    #[must_use]
    pub fn bound_to(ip: IpAddr) -> Self {
        Self {
            udp_bind_addrs: vec![SocketAddr::new(ip, 0)],
            ..Self::default()
        }
    }
}
