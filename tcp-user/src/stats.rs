//! Drop reasons and per-worker counters.
//!
//! Every frame or segment the stack discards is counted under exactly one [`DropReason`], so
//! an operator can tell hostile input from bugs. Counters are plain integers owned by one
//! worker; the control plane reads snapshots (no atomics or locks on the packet path).

/// Why a frame or segment was discarded. One enum for the whole stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// Frame shorter than an Ethernet header.
    TruncatedEthernet,
    /// Not IPv4 (the XDP program should not have steered it).
    NotIpv4,
    /// Shorter than the IPv4 header, or total length beyond the frame.
    TruncatedIpv4,
    /// IHL below 5 or beyond the packet.
    BadIpv4HeaderLength,
    /// IPv4 version field is not 4.
    BadIpVersion,
    /// IPv4 header checksum does not verify.
    BadIpv4Checksum,
    /// A fragment (MF set or offset non-zero): the stack does not reassemble.
    Ipv4Fragment,
    /// Not TCP.
    NotTcp,
    /// Shorter than the TCP header.
    TruncatedTcp,
    /// Data offset below 5 or beyond the segment.
    BadTcpDataOffset,
    /// TCP checksum does not verify.
    BadTcpChecksum,
    /// An option's length is 0/1 or runs past the header.
    BadTcpOption,
    /// Source or destination address is broadcast, multicast or otherwise not unicast.
    BadAddress,
    /// Destination address/port is not one we serve.
    NotServed,
    /// Flag combination that is never valid (e.g. SYN+FIN, SYN+RST, no flags).
    BadFlags,
    /// Segment not acceptable for the connection's receive window (answered with an ACK).
    OutOfWindow,
    /// ACK acknowledges something not yet sent, or too old (RFC 5961 section 5).
    BadAck,
    /// RST that is not acceptable or needs a challenge (RFC 5961 section 3).
    BadRst,
    /// Segment for no connection that must not be answered (it carried RST).
    NoConnectionRst,
    /// Connection table full.
    TableFull,
    /// Half-open (SYN_RCVD) table full and cookies off / cookie invalid.
    SynQueueFull,
    /// Returning ACK with an invalid SYN cookie.
    BadCookie,
    /// Receive buffer has no room for the segment's data.
    ReceiveBufferFull,
    /// No TX frame available for an outgoing segment.
    TxRingFull,
    /// Rate limit on challenge ACKs or RSTs reached.
    RateLimited,
    /// Timestamp older than TS.Recent (RFC 7323 section 5.3 R1, PAWS; answered with an ACK).
    PawsRejected,
    /// SYN on a synchronized connection (RFC 5961 section 4; answered with a challenge ACK).
    UnexpectedSyn,
    /// Segment without ACK where one is required (RFC 9293 section 3.10.7.4 fifth step, or
    /// a text-bearing segment without SYN for a listening port).
    MissingAck,
    /// Segment in SYN-SENT with neither SYN nor RST (RFC 9293 section 3.10.7.3 fifth).
    MissingSyn,
    /// Segment for a connection object already CLOSED (the table has not freed it yet).
    ClosedConnection,
}

impl DropReason {
    /// Number of variants (size of a counter array indexed by reason).
    pub const COUNT: usize = DropReason::ClosedConnection as usize + 1;

    /// All reasons in index order.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::TruncatedEthernet,
        DropReason::NotIpv4,
        DropReason::TruncatedIpv4,
        DropReason::BadIpv4HeaderLength,
        DropReason::BadIpVersion,
        DropReason::BadIpv4Checksum,
        DropReason::Ipv4Fragment,
        DropReason::NotTcp,
        DropReason::TruncatedTcp,
        DropReason::BadTcpDataOffset,
        DropReason::BadTcpChecksum,
        DropReason::BadTcpOption,
        DropReason::BadAddress,
        DropReason::NotServed,
        DropReason::BadFlags,
        DropReason::OutOfWindow,
        DropReason::BadAck,
        DropReason::BadRst,
        DropReason::NoConnectionRst,
        DropReason::TableFull,
        DropReason::SynQueueFull,
        DropReason::BadCookie,
        DropReason::ReceiveBufferFull,
        DropReason::TxRingFull,
        DropReason::RateLimited,
        DropReason::PawsRejected,
        DropReason::UnexpectedSyn,
        DropReason::MissingAck,
        DropReason::MissingSyn,
        DropReason::ClosedConnection,
    ];

    /// Stable snake_case name for reports and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::TruncatedEthernet => "truncated_ethernet",
            DropReason::NotIpv4 => "not_ipv4",
            DropReason::TruncatedIpv4 => "truncated_ipv4",
            DropReason::BadIpv4HeaderLength => "bad_ipv4_header_length",
            DropReason::BadIpVersion => "bad_ip_version",
            DropReason::BadIpv4Checksum => "bad_ipv4_checksum",
            DropReason::Ipv4Fragment => "ipv4_fragment",
            DropReason::NotTcp => "not_tcp",
            DropReason::TruncatedTcp => "truncated_tcp",
            DropReason::BadTcpDataOffset => "bad_tcp_data_offset",
            DropReason::BadTcpChecksum => "bad_tcp_checksum",
            DropReason::BadTcpOption => "bad_tcp_option",
            DropReason::BadAddress => "bad_address",
            DropReason::NotServed => "not_served",
            DropReason::BadFlags => "bad_flags",
            DropReason::OutOfWindow => "out_of_window",
            DropReason::BadAck => "bad_ack",
            DropReason::BadRst => "bad_rst",
            DropReason::NoConnectionRst => "no_connection_rst",
            DropReason::TableFull => "table_full",
            DropReason::SynQueueFull => "syn_queue_full",
            DropReason::BadCookie => "bad_cookie",
            DropReason::ReceiveBufferFull => "receive_buffer_full",
            DropReason::TxRingFull => "tx_ring_full",
            DropReason::RateLimited => "rate_limited",
            DropReason::PawsRejected => "paws_rejected",
            DropReason::UnexpectedSyn => "unexpected_syn",
            DropReason::MissingAck => "missing_ack",
            DropReason::MissingSyn => "missing_syn",
            DropReason::ClosedConnection => "closed_connection",
        }
    }
}

/// Frame counters of one AF_XDP port.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortCounters {
    pub rx_frames: u64,
    pub tx_frames: u64,
    /// Outgoing frames dropped because no TX frame was free.
    pub tx_dropped: u64,
    /// `sendto` wakeups issued.
    pub tx_wakeups: u64,
    /// Kernel's count of frames it could not give us because the RX ring was full.
    pub rx_ring_full: u64,
    /// Kernel's count of frames dropped for want of a fill-ring frame (or other reasons).
    pub rx_dropped: u64,
    /// Kernel's count of times the fill ring was empty.
    pub rx_fill_empty: u64,
}

/// Counters of one worker (plain integers, published as snapshots).
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    pub queue: u32,
    pub port: PortCounters,
    pub drops: [u64; DropReason::COUNT],
    pub conns_opened: u64,
    pub conns_closed: u64,
    pub conns_reset: u64,
    pub conns_timed_out: u64,
    pub rsts_sent: u64,
    pub syn_cookies_sent: u64,
    /// Connections in TIME_WAIT freed early for a new SYN on the same tuple (RFC 6191).
    pub time_wait_reused: u64,
    pub retransmissions: u64,
    pub fast_retransmits: u64,
    pub out_of_order: u64,
    pub active: u64,
}

impl WorkerStats {
    /// Total frames dropped for any reason.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_reason_in_index_order() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{}", r.name());
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
    }
}
