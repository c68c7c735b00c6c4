//! Drop reasons and per-worker counters.
//!
//! Every frame or segment the stack discards is counted under exactly one [`DropReason`], so
//! an operator can tell hostile input from bugs. Counters are plain integers owned by one
//! worker; the control plane reads snapshots (no atomics or locks on the packet path).

/// Declares [`DropReason`] once: each variant with its name in reports and metrics and its
/// help text, from which the enum, its doc comments, [`DropReason::ALL`],
/// [`DropReason::name`] and [`DropReason::help`] are generated, so they cannot disagree.
macro_rules! drop_reasons {
    ($($variant:ident => $name:literal, $help:literal;)+) => {
        /// Why a frame or segment was discarded. One enum for the whole stack.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason {
            $(#[doc = $help] $variant,)+
        }

        impl DropReason {
            /// All reasons in index order.
            pub const ALL: [DropReason; DropReason::COUNT] = [$(DropReason::$variant,)+];
            /// Number of variants (size of a counter array indexed by reason).
            pub const COUNT: usize = [$($name,)+].len();

            /// Stable snake_case name for reports and metrics.
            pub fn name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)+
                }
            }

            /// One line saying what the reason means.
            pub fn help(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $help,)+
                }
            }
        }
    };
}

drop_reasons! {
    TruncatedEthernet => "truncated_ethernet", "Frame shorter than an Ethernet header.";
    NotIpv4 => "not_ipv4", "Neither IPv4 nor IPv6 (the XDP program should not have steered it).";
    TruncatedIpv4 => "truncated_ipv4", "Shorter than the IPv4 header, or total length beyond the frame.";
    BadIpv4HeaderLength => "bad_ipv4_header_length", "IHL below 5 or beyond the packet.";
    BadIpVersion => "bad_ip_version", "IP version field does not match the ethertype (not 4 in IPv4, not 6 in IPv6).";
    BadIpv4Checksum => "bad_ipv4_checksum", "IPv4 header checksum does not verify.";
    Ipv4Fragment => "ipv4_fragment", "A fragment (MF set or offset non-zero): the stack does not reassemble (the XDP program drops first fragments of served tuples; this counts what reached the stack anyway).";
    NotTcp => "not_tcp", "Not TCP.";
    TruncatedTcp => "truncated_tcp", "Shorter than the TCP header.";
    BadTcpDataOffset => "bad_tcp_data_offset", "Data offset below 5 or beyond the segment.";
    BadTcpChecksum => "bad_tcp_checksum", "TCP checksum does not verify.";
    BadTcpOption => "bad_tcp_option", "An option's length is 0/1 or runs past the header.";
    BadAddress => "bad_address", "Source or destination address is broadcast, multicast or otherwise not unicast.";
    NotServed => "not_served", "Destination address is not the endpoint's (the XDP program steered something that is not ours).";
    BadFlags => "bad_flags", "Flag combination that is never valid (e.g. SYN+FIN, SYN+RST, no flags).";
    OutOfWindow => "out_of_window", "Segment not acceptable for the connection's receive window (answered with an ACK).";
    BadAck => "bad_ack", "ACK acknowledges something not yet sent, or too old (RFC 5961 section 5).";
    BadRst => "bad_rst", "RST that is not acceptable or needs a challenge (RFC 5961 section 3).";
    NoConnectionRst => "no_connection_rst", "Segment for no connection that must not be answered (it carried RST).";
    TableFull => "table_full", "Connection limit reached (--max-connections).";
    MemoryFull => "memory_full", "New connection refused (RST): the worker's memory budget (--max-memory) is used up.";
    NoBufferMemory => "no_buffer_memory", "In-window data dropped: holding it would take the worker's buffers past the memory budget's hard limit (the sender retransmits it).";
    SynQueueFull => "syn_queue_full", "Half-open (SYN_RCVD) table full and SYN cookies off.";
    BadCookie => "bad_cookie", "Returning ACK with an invalid SYN cookie.";
    ReassemblyFull => "reassembly_full", "Out-of-order data needing a new reassembly range when all are in use (the sender retransmits it).";
    DataBeyondFin => "data_beyond_fin", "Data after the peer's FIN: the FIN ends the stream, nothing beyond it can be delivered (RFC 9293 section 3.10.7.4).";
    TxRingFull => "tx_ring_full", "An answer (RST, SYN cookie) that found no free TX frame; segments of connections wait for frames instead and are never dropped.";
    RateLimited => "rate_limited", "Dropped, and its answer (a challenge ACK, or the ACK of an out-of-window segment) suppressed by the per-connection rate limit (RFC 5961 section 7).";
    PawsRejected => "paws_rejected", "Timestamp older than TS.Recent (RFC 7323 section 5.3 R1, PAWS; answered with an ACK).";
    UnexpectedSyn => "unexpected_syn", "SYN on a synchronized connection (RFC 5961 section 4; answered with a challenge ACK).";
    MissingAck => "missing_ack", "Segment without ACK where one is required (RFC 9293 section 3.10.7.4 fifth step).";
    MissingSyn => "missing_syn", "Segment in SYN-SENT with neither SYN nor RST (RFC 9293 section 3.10.7.3 fifth).";
    ClosedConnection => "closed_connection", "Segment for a connection object already CLOSED (the table has not freed it yet).";
    TruncatedIpv6 => "truncated_ipv6", "Shorter than the IPv6 header, or payload length beyond the frame.";
    BadIpv6ExtensionHeader => "bad_ipv6_extension_header", "An IPv6 extension header runs past the payload, Hop-by-Hop is not first, or a Routing header still has segments left (RFC 8200 section 4).";
    TooManyIpv6ExtensionHeaders => "too_many_ipv6_extension_headers", "More IPv6 extension headers than the stack walks (8).";
    Ipv6Fragment => "ipv6_fragment", "An IPv6 Fragment header: the stack does not reassemble (the XDP program drops first fragments of served tuples; this counts what reached the stack anyway).";
    Ipv6HopLimitZero => "ipv6_hop_limit_zero", "IPv6 Hop Limit 0: no node may forward such a packet (RFC 8200 section 3), so it did not come over a conforming path.";
    V4MappedOnV6 => "v4_mapped_on_v6", "IPv4-mapped source or destination in an IPv6 header (RFC 4942 section 2.2; inside the stack such an address is the IPv4 address).";
}

/// Frame counters of one AF_XDP port.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortCounters {
    /// Frames received on the socket.
    pub rx_frames: u64,
    /// Frames handed to the TX ring.
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

/// How full the four rings of one AF_XDP port were when the counters were published (a
/// gauge read every 200 ms, never on the packet path).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingOccupancy {
    /// Entries each ring holds (all four have the same size).
    pub size: u32,
    /// Frames in the fill ring, waiting for the kernel to receive into them.
    pub fill: u32,
    /// Received frames in the RX ring, not yet read by the worker.
    pub rx: u32,
    /// Frames in the TX ring, not yet sent by the kernel.
    pub tx: u32,
    /// Sent frames in the completion ring, not yet taken back by the worker.
    pub completion: u32,
}

/// Drop counters indexed by [`DropReason`] (as `usize`); an array of every reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropCounts(pub [u64; DropReason::COUNT]);

impl Default for DropCounts {
    fn default() -> Self {
        DropCounts([0; DropReason::COUNT])
    }
}

impl std::ops::Deref for DropCounts {
    type Target = [u64; DropReason::COUNT];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for DropCounts {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Counters of one worker (plain integers, published as snapshots).
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// The worker's receive queue.
    pub queue: u32,
    /// The AF_XDP port's frame counters.
    pub port: PortCounters,
    /// Frames or segments dropped, by [`DropReason`] index.
    pub drops: DropCounts,
    /// Connections created (accepted, cookie-completed or opened).
    pub conns_opened: u64,
    /// Connections freed.
    pub conns_closed: u64,
    /// Connections reset by the peer.
    pub conns_reset: u64,
    /// Connections given up after their retries or idle timeout.
    pub conns_timed_out: u64,
    /// RSTs sent for segments that matched no connection.
    pub rsts_sent: u64,
    /// SYN-ACKs carrying a SYN cookie.
    pub syn_cookies_sent: u64,
    /// Connections in TIME_WAIT freed early for a new SYN on the same tuple (RFC 6191).
    pub time_wait_reused: u64,
    /// Segments retransmitted (of freed connections).
    pub retransmissions: u64,
    /// Fast retransmissions (of freed connections).
    pub fast_retransmits: u64,
    /// Out-of-order segments received (of freed connections).
    pub out_of_order: u64,
    /// Connections in the table now.
    pub active: u64,
    /// Connections in TIME_WAIT now.
    pub time_wait: u64,
    /// Half-open (SYN_RCVD) connections now.
    pub half_open: u64,
    /// How full the port's rings were at the last publication.
    pub rings: RingOccupancy,
    /// Connections that entered TIME_WAIT with the TIME_WAIT bound reached and were
    /// forgotten at once (Linux: "TCP: time wait bucket table overflow").
    pub time_wait_overflow: u64,
    /// Bytes of memory the worker's connections hold now: control blocks and buffers.
    pub memory_bytes: u64,
    /// Of which data buffers.
    pub buffer_bytes: u64,
    /// Memory pressure now: 0 normal, 1 soft (windows clamped), 2 hard (refusing).
    pub memory_pressure: u64,
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
