//! Per-connection counters (plain integers: one connection belongs to one worker).

/// What one connection did, for diagnostics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Segments handed to `handle_segment`.
    pub segments_in: u64,
    /// Segments returned by `poll_transmit`.
    pub segments_out: u64,
    /// In-order payload bytes delivered to the receive buffer.
    pub bytes_in: u64,
    /// Payload bytes sent for the first time.
    pub bytes_out: u64,
    /// Payload bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// Segments (SYN-ACK, data, FIN) sent again.
    pub retransmissions: u64,
    /// Payload bytes sent again.
    pub retransmitted_bytes: u64,
    /// Fast retransmits (third duplicate ACK, RFC 5681 section 3.2).
    pub fast_retransmits: u64,
    /// SACK recovery retransmissions found lost again and resent before the RTO.
    pub lost_retransmissions: u64,
    /// Retransmission timeouts (RFC 6298 section 5.4).
    pub timeouts: u64,
    /// Duplicate ACKs received (RFC 5681 section 2).
    pub dup_acks: u64,
    /// Segments that arrived beyond RCV.NXT.
    pub out_of_order_segments: u64,
    /// Segments carrying only data already received.
    pub duplicate_segments: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Zero-window probes sent (RFC 9293 section 3.8.6.1).
    pub window_probes: u64,
}
