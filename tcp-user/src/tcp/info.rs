//! A snapshot of one connection for operators: what `xdptcp ss` prints, in the spirit of
//! Linux's `tcp_info` (`ss -tni`). Plain data, taken by the worker that owns the connection
//! and handed to the control plane.

use super::{CongestionKind, FourTuple, State};

/// Which timer of a connection runs next (what `ss -o` calls the timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "datapath", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "datapath", serde(rename_all = "snake_case"))]
pub enum TimerKind {
    /// Retransmission (RFC 6298), of data, a SYN or a SYN-ACK.
    Retransmit,
    /// Zero-window probing (RFC 9293 section 3.8.6.1).
    Persist,
    /// Delayed ACK (RFC 9293 section 3.8.6.3).
    DelayedAck,
    /// TIME_WAIT's 2*MSL.
    TimeWait,
    /// FIN_WAIT_2's bound on a peer that never closes.
    FinWait2,
    /// The idle timeout (`--idle-timeout-s`).
    Idle,
    /// Unread data of a closed connection is kept until then.
    Linger,
}

impl TimerKind {
    /// Short name, as printed by `xdptcp ss`.
    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Retransmit => "retransmit",
            TimerKind::Persist => "persist",
            TimerKind::DelayedAck => "delack",
            TimerKind::TimeWait => "timewait",
            TimerKind::FinWait2 => "finwait2",
            TimerKind::Idle => "idle",
            TimerKind::Linger => "linger",
        }
    }
}

/// One connection as an operator sees it. Times are in microseconds, sizes in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "datapath", derive(serde::Serialize, serde::Deserialize))]
pub struct ConnInfo {
    /// The worker (receive queue) that owns it.
    pub queue: u32,
    /// Our address and port, the peer's.
    pub local: String,
    /// The peer's address and port.
    pub remote: String,
    /// RFC 9293 state name (`ESTABLISHED`, `TIME-WAIT`, ...).
    pub state: String,
    /// Received bytes the application has not read yet (Linux `Recv-Q`).
    pub recv_q: usize,
    /// Bytes written and not yet acknowledged, sent or not (Linux `Send-Q`).
    pub send_q: usize,
    /// Smoothed round-trip time, once measured.
    pub rtt_us: Option<u64>,
    /// Round-trip time variation (RFC 6298 RTTVAR), once measured.
    pub rttvar_us: Option<u64>,
    /// Retransmission timeout, with backoff.
    pub rto_us: u64,
    /// Largest payload per segment we send.
    pub mss: usize,
    /// Congestion window.
    pub cwnd: usize,
    /// Slow-start threshold (`None` while still "arbitrarily high", RFC 5681).
    pub ssthresh: Option<usize>,
    /// Congestion control: `reno` or `cubic`.
    pub congestion: String,
    /// The peer's window (SND.WND).
    pub snd_wnd: usize,
    /// The window we advertise (RCV.WND).
    pub rcv_wnd: usize,
    /// Payload bytes sent for the first time.
    pub bytes_sent: u64,
    /// Payload bytes sent again.
    pub bytes_retrans: u64,
    /// Payload bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// In-order payload bytes received.
    pub bytes_received: u64,
    /// Segments received and sent.
    pub segs_in: u64,
    /// Segments sent.
    pub segs_out: u64,
    /// Segments sent again.
    pub retransmissions: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// The timer that runs next, if any.
    pub timer: Option<TimerKind>,
    /// Time until it fires.
    pub timer_us: Option<u64>,
    /// Time since the connection began (its SYN).
    pub age_us: u64,
}

impl ConnInfo {
    /// The name of a congestion control as printed.
    pub fn congestion_name(kind: CongestionKind) -> &'static str {
        match kind {
            CongestionKind::Reno => "reno",
            CongestionKind::Cubic => "cubic",
        }
    }

    /// `a.b.c.d:port` (IPv4) or `[v6]:port` of our end and the peer's.
    pub fn endpoints(tuple: &FourTuple) -> (String, String) {
        let a = |addr: super::Addr, port: u16| {
            std::net::SocketAddr::new(addr.to_ip(), port).to_string()
        };
        (
            a(tuple.local_addr, tuple.local_port),
            a(tuple.remote_addr, tuple.remote_port),
        )
    }
}

/// Which connections a listing asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "datapath", derive(serde::Serialize, serde::Deserialize))]
pub struct ConnFilter {
    /// Only connections in these states (empty: all).
    pub states: Vec<String>,
    /// Only connections with this local or remote port.
    pub port: Option<u16>,
}

impl ConnFilter {
    /// True when a connection in `state` with `tuple` is asked for.
    pub fn matches(&self, state: State, tuple: &FourTuple) -> bool {
        (self.states.is_empty() || self.states.iter().any(|s| s == state.name()))
            && self
                .port
                .is_none_or(|p| tuple.local_port == p || tuple.remote_port == p)
    }
}

/// Parses a state as `ss` and RFC 9293 spell it (`established`, `estab`, `syn-recv`,
/// `SYN-RECEIVED`, `time-wait`, `timewait`, ...) into its RFC name.
pub fn parse_state(s: &str) -> Result<&'static str, String> {
    let key: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let state = match key.as_str() {
        "established" | "estab" => State::Established,
        "synsent" => State::SynSent,
        "synrecv" | "synreceived" | "synrcvd" => State::SynReceived,
        "finwait1" => State::FinWait1,
        "finwait2" => State::FinWait2,
        "closewait" => State::CloseWait,
        "closing" => State::Closing,
        "lastack" => State::LastAck,
        "timewait" => State::TimeWait,
        "closed" => State::Closed,
        _ => {
            return Err(format!(
                "'{s}' is not a TCP state (established, syn-sent, syn-recv, fin-wait-1, \
                 fin-wait-2, close-wait, closing, last-ack, time-wait, closed)"
            ))
        }
    };
    Ok(state.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Addr;

    #[test]
    fn states_parse_in_ss_and_rfc_spellings() {
        assert_eq!(parse_state("estab"), Ok("ESTABLISHED"));
        assert_eq!(parse_state("syn-recv"), Ok("SYN-RECEIVED"));
        assert_eq!(parse_state("SYN-RECEIVED"), Ok("SYN-RECEIVED"));
        assert_eq!(parse_state("time_wait"), Ok("TIME-WAIT"));
        assert_eq!(parse_state("fin-wait-1"), Ok("FIN-WAIT-1"));
        assert!(parse_state("listening")
            .unwrap_err()
            .contains("not a TCP state"));
    }

    #[test]
    fn endpoints_print_ipv4_plainly_and_ipv6_in_brackets() {
        let v4 = FourTuple {
            local_addr: Addr::v4(0x0a00_0001),
            local_port: 80,
            remote_addr: Addr::v4(0x0a00_0002),
            remote_port: 40000,
        };
        let (l, r) = ConnInfo::endpoints(&v4);
        assert_eq!((l.as_str(), r.as_str()), ("10.0.0.1:80", "10.0.0.2:40000"));
        let v6 = FourTuple {
            local_addr: "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().into(),
            remote_addr: "2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap().into(),
            ..v4
        };
        let (l, r) = ConnInfo::endpoints(&v6);
        assert_eq!(
            (l.as_str(), r.as_str()),
            ("[2001:db8::1]:80", "[2001:db8::2]:40000")
        );
    }

    #[test]
    fn filter_takes_state_and_either_port() {
        let t = FourTuple {
            local_addr: Addr::v4(1),
            local_port: 7,
            remote_addr: Addr::v4(2),
            remote_port: 40000,
        };
        let all = ConnFilter::default();
        assert!(all.matches(State::TimeWait, &t));
        let estab = ConnFilter {
            states: vec!["ESTABLISHED".into()],
            port: None,
        };
        assert!(estab.matches(State::Established, &t));
        assert!(!estab.matches(State::TimeWait, &t));
        for (port, want) in [(7, true), (40000, true), (8, false)] {
            let f = ConnFilter {
                states: Vec::new(),
                port: Some(port),
            };
            assert_eq!(f.matches(State::Established, &t), want, "port {port}");
        }
    }
}
