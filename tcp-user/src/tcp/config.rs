//! Per-stack TCP tunables. One [`Config`] is shared by every connection of a worker; each
//! connection keeps a copy so tests can vary it per scenario.

use std::time::Duration;

/// TCP tunables. Defaults follow Linux where the RFCs leave a choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// MSS we advertise on IPv4 connections (RFC 9293 section 3.7.1): the MTU minus 40
    /// bytes of IPv4 and TCP headers. Also the largest payload we ever send, whatever the
    /// peer allows. IPv6 connections use 20 bytes less ([`Config::mss_for`]).
    pub mss: u16,
    /// Receive buffer limit per connection, in bytes: the most the window ever offers
    /// (auto-tuning grows it up to this; memory is taken only for data held).
    pub recv_buffer: usize,
    /// The window a connection offers before auto-tuning has measured the reader (Linux
    /// starts near 64 KiB too).
    pub recv_window_initial: usize,
    /// Send buffer per connection, in bytes.
    pub send_buffer: usize,
    /// Offer/accept window scaling (RFC 7323 section 2).
    pub window_scaling: bool,
    /// Offer/accept selective acknowledgments (RFC 2018).
    pub sack: bool,
    /// Offer/accept timestamps (RFC 7323 section 3).
    pub timestamps: bool,
    /// Classic Nagle (RFC 9293 section 3.7.4): hold a small segment while data is in flight.
    /// Off by default (like `TCP_NODELAY`); sender SWS avoidance applies either way.
    pub nagle: bool,
    /// RTO before any RTT sample (RFC 6298 section 2.1: 1 s).
    pub rto_initial: Duration,
    /// Lower clamp of the RTO (Linux `TCP_RTO_MIN`, 200 ms; RFC 6298 says 1 s).
    pub rto_min: Duration,
    /// Upper clamp of the RTO (RFC 6298 section 2.5 allows >= 60 s).
    pub rto_max: Duration,
    /// SYN-ACK retransmissions before a half-open connection is dropped (Linux
    /// `tcp_synack_retries`).
    pub syn_retries: u32,
    /// SYN retransmissions of an active open before `connect` gives up (Linux
    /// `tcp_syn_retries`, 6: the attempt fails about two minutes after it started).
    pub connect_retries: u32,
    /// Consecutive retransmission timeouts before the connection is reset (Linux
    /// `tcp_retries2`).
    pub data_retries: u32,
    /// Maximum segment lifetime; TIME_WAIT lasts 2*MSL (RFC 9293 section 3.4.2).
    pub msl: Duration,
    /// How long FIN_WAIT_2 may sit without hearing from the peer (Linux `tcp_fin_timeout`).
    pub fin_wait2_timeout: Duration,
    /// Delayed ACK timeout (RFC 9293 section 3.8.6.3: less than 0.5 s; Linux 40 ms).
    pub delayed_ack: Duration,
    /// Abort (RST, [`Event::TimedOut`](super::Event::TimedOut)) a synchronized connection
    /// that received nothing for this long.
    pub idle_timeout: Option<Duration>,
    /// Challenge ACKs and out-of-window ACKs a connection may send per second
    /// (RFC 5961 section 7).
    pub challenge_ack_limit: u32,
    /// Congestion control algorithm of new connections (Reno unless chosen).
    pub congestion: CongestionKind,
    /// How long a connection with nothing to read and nothing unacknowledged keeps its
    /// buffer memory before giving it back: long enough that a request/response connection
    /// keeps its buffers between requests, short enough that idle connections hold none.
    pub buffer_linger: Duration,
}

/// Which congestion control a connection runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CongestionKind {
    /// RFC 5681 with NewReno (RFC 6582) or SACK (RFC 6675) recovery.
    #[default]
    Reno,
    /// CUBIC (RFC 9438), Linux's default.
    Cubic,
}

impl Config {
    /// The MSS of a connection of `family`: [`Config::mss`] for IPv4, 20 bytes less for
    /// IPv6, whose fixed header is 40 bytes instead of 20 (RFC 8200 section 5 / RFC 6691:
    /// the MSS is the MTU minus the fixed IP and TCP headers; 1440 at MTU 1500).
    #[inline]
    pub fn mss_for(&self, family: super::Family) -> u16 {
        match family {
            super::Family::V4 => self.mss,
            super::Family::V6 => self.mss.saturating_sub(20),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: 1460,
            recv_buffer: 4 << 20,
            recv_window_initial: 64 * 1024,
            send_buffer: 256 * 1024,
            window_scaling: true,
            sack: true,
            timestamps: true,
            nagle: false,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            syn_retries: 5,
            connect_retries: 6,
            data_retries: 15,
            msl: Duration::from_secs(30),
            fin_wait2_timeout: Duration::from_secs(60),
            delayed_ack: Duration::from_millis(40),
            idle_timeout: None,
            challenge_ack_limit: 10,
            congestion: CongestionKind::Reno,
            buffer_linger: Duration::from_millis(200),
        }
    }
}
