//! The peer's UDP path, with a switch that can cut it.
//!
//! webrtc-rs takes its sockets and timers from a [`Runtime`]; [`SeverableRuntime`] is the
//! stack's own Tokio runtime with every UDP socket wrapped so that, once the peer's
//! [`NetworkSwitch`] is flipped, datagrams are silently dropped in both directions. Nothing
//! is announced to the remote (no DTLS `close_notify`, no SCTP `ABORT`): the remote learns
//! of it the way it learns of a dead Wi-Fi link or a NAT rebinding, through ICE consent
//! freshness expiring (`disconnected`, then `failed`). The emulator uses it to inject a
//! network failure into a WebRTC call; tests use it to prove that a silent failure is
//! detected instead of hanging.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, RecvMeta, Runtime,
    TokioRuntime, Transmit,
};

/// Shared by a peer and its sockets: `true` once the network path is cut.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkSwitch(Arc<AtomicBool>);

impl NetworkSwitch {
    pub(crate) fn sever(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(crate) fn is_severed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The stack's Tokio runtime, with UDP sockets that obey a [`NetworkSwitch`].
#[derive(Debug)]
pub(crate) struct SeverableRuntime {
    inner: TokioRuntime,
    switch: NetworkSwitch,
}

impl SeverableRuntime {
    pub(crate) fn new(switch: NetworkSwitch) -> Self {
        Self {
            inner: TokioRuntime,
            switch,
        }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Runtime for SeverableRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn(future)
    }

    fn spawn_reactor(
        &self,
        reactor_pool_size: usize,
        future: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Box<dyn JoinHandle> {
        self.inner.spawn_reactor(reactor_pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let inner = self.inner.wrap_udp_socket(socket)?;
        Ok(Arc::new(SeverableSocket {
            inner,
            switch: self.switch.clone(),
        }))
    }

    fn wrap_tcp_listener(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.inner.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> BoxFuture<'a, io::Result<Arc<dyn AsyncTcpStream>>> {
        self.inner.connect_tcp(remote_addr)
    }

    fn resolve_host<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        self.inner.resolve_host(host)
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.inner.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.inner.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.inner.block_on(future);
    }

    fn yield_now(&self) -> BoxFuture<'static, ()> {
        self.inner.yield_now()
    }

    fn name(&self) -> &'static str {
        "voicewire-tokio"
    }
}

/// A UDP socket that drops everything once its switch is flipped.
struct SeverableSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    switch: NetworkSwitch,
}

impl fmt::Debug for SeverableSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeverableSocket")
            .field("local_addr", &self.inner.local_addr().ok())
            .field("severed", &self.switch.is_severed())
            .finish()
    }
}

impl AsyncUdpSocket for SeverableSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_send(&self, cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        if self.switch.is_severed() {
            // Lost on the wire: the sender cannot tell.
            return Poll::Ready(Ok(transmit.contents.len()));
        }
        self.inner.poll_send(cx, transmit)
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        loop {
            let received = self.inner.poll_recv(cx, bufs, meta);
            match received {
                // Read and discard what arrives on a cut path, until the socket is empty
                // (the inner socket has then registered the waker).
                Poll::Ready(Ok(_)) if self.switch.is_severed() => {}
                other => return other,
            }
        }
    }

    fn max_gso_segments(&self) -> usize {
        self.inner.max_gso_segments()
    }

    fn max_gro_segments(&self) -> usize {
        self.inner.max_gro_segments()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_severed_socket_sends_and_receives_nothing() {
        let switch = NetworkSwitch::default();
        let runtime = SeverableRuntime::new(switch.clone());
        let bind = || std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a, b) = (bind(), bind());
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let a = runtime.wrap_udp_socket(a).unwrap();
        let b = TokioRuntime.wrap_udp_socket(b).unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut buf = [0u8; 16];

        a.send_to(b"before", b_addr).await.unwrap();
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"before");

        switch.sever();
        assert!(switch.is_severed());
        // "Sent" as far as the stack can tell, but nothing reaches b.
        assert_eq!(a.send_to(b"lost", b_addr).await.unwrap(), 4);
        // What b sends to a is read and dropped: a's receive stays pending.
        b.send_to(b"dropped", a_addr).await.unwrap();
        let pending = tokio::time::timeout(Duration::from_millis(200), a.recv_from(&mut buf)).await;
        assert!(pending.is_err(), "a severed socket delivered a datagram");
        let nothing = tokio::time::timeout(Duration::from_millis(200), b.recv_from(&mut buf)).await;
        assert!(nothing.is_err(), "a severed socket's datagram arrived");
    }
}
