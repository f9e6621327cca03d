//! Tunables of the live room, as `bidroom serve` flags.

use std::time::Duration;

/// Limits and timers of the live room.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveConfig {
    /// Most live connections one client address may hold open (0: no
    /// limit). High enough for a carrier-grade NAT address or an office
    /// behind one gateway; the cap only bounds one abuser's memory.
    #[arg(long = "live-max-per-ip", env = "BIDROOM_LIVE_MAX_PER_IP", default_value_t = 1000)]
    pub max_per_ip: usize,
    /// Frames a viewer may fall behind the newest one before it is closed
    /// ("too slow") and has to resume. Must exceed the largest burst one
    /// change produces, or every viewer would be dropped by that burst.
    #[arg(long = "live-queue", env = "BIDROOM_LIVE_QUEUE", default_value_t = 1024)]
    pub queue: usize,
    /// Milliseconds a write to one viewer may take before it is closed.
    #[arg(long = "live-write-timeout-ms", env = "BIDROOM_LIVE_WRITE_TIMEOUT_MS", default_value_t = 10_000)]
    pub write_timeout_ms: u64,
    /// Milliseconds a viewer being closed (too slow, shutting down) has to
    /// take the close frame: it waits behind what the socket still buffers,
    /// so a slow reader needs a moment to read that far. A viewer that reads
    /// nothing is dropped without one after this long.
    #[arg(long = "live-close-timeout-ms", env = "BIDROOM_LIVE_CLOSE_TIMEOUT_MS", default_value_t = 5_000)]
    pub close_timeout_ms: u64,
    /// Seconds between pings; a viewer silent for two of them is dropped.
    #[arg(long = "live-ping-secs", env = "BIDROOM_LIVE_PING_SECS", default_value_t = 20)]
    pub ping_secs: u64,
    /// Kernel send buffer (SO_SNDBUF) for accepted connections, in bytes.
    /// Unset, the kernel autotunes it (up to several MB per socket); with
    /// tens of thousands of viewers a small fixed size bounds kernel memory
    /// and makes a stalled viewer show up (and get dropped) sooner. Applies
    /// to every connection of the server, so keep it unset where large
    /// downloads matter more.
    #[arg(long = "live-socket-send-buffer", env = "BIDROOM_LIVE_SOCKET_SEND_BUFFER")]
    pub socket_send_buffer: Option<usize>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            max_per_ip: 1000,
            queue: 1024,
            write_timeout_ms: 10_000,
            close_timeout_ms: 5_000,
            ping_secs: 20,
            socket_send_buffer: None,
        }
    }
}

impl LiveConfig {
    pub(crate) fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms.max(1))
    }

    /// How long a close frame may take to go out.
    pub(crate) fn close_timeout(&self) -> Duration {
        Duration::from_millis(self.close_timeout_ms.max(1))
    }

    /// Tunes each accepted connection: no Nagle delay (the room already
    /// coalesces its writes, and small frames must not wait for ACKs), and
    /// the configured send buffer.
    pub fn socket_tuner(&self) -> impl FnMut(&mut tokio::net::TcpStream) + Send + 'static {
        let send_buffer = self.socket_send_buffer;
        move |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
            if let Some(n) = send_buffer
                && let Err(e) = socket2::SockRef::from(&*tcp).set_send_buffer_size(n)
            {
                tracing::debug!(error = %e, "SO_SNDBUF not set");
            }
        }
    }

    pub(crate) fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_secs.max(1))
    }
}
