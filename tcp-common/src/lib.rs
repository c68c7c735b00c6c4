//! Types shared by the XDP program (`tcp-ebpf`) and user space (`tcp-user`).
//!
//! Everything here is `#[repr(C)]` and `no_std`: the same bytes are read by the kernel side
//! and by user space through BPF maps, so layout must not depend on the compiler.
#![no_std]

/// Name of the hash map of served (IPv4 address, TCP port) pairs.
pub const SERVED_MAP: &str = "SERVED";
/// Name of the hash map of served (IPv6 address, TCP port) pairs.
pub const SERVED6_MAP: &str = "SERVED6";
/// Name of the XSKMAP: slot = receive queue index, value = AF_XDP socket fd.
pub const XSK_MAP: &str = "XSKS";
/// Name of the per-CPU counter array.
pub const COUNTERS_MAP: &str = "COUNTERS";
/// Name of the XDP program in the object file.
pub const PROGRAM_NAME: &str = "xdp_tcp_steer";

/// Maximum number of served (address, port) pairs: every local port of outbound
/// connections is one (65,535 of them for a client holding a million connections over
/// several server ports), beside the listening ports.
pub const MAX_SERVED: u32 = 1 << 17;
/// Maximum number of receive queues (XSKMAP size).
pub const MAX_QUEUES: u32 = 64;

/// Key of the served map: an IPv4 address and TCP port, both in network byte order,
/// exactly as they appear in the packet so the XDP program does no byte swapping.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServedKey {
    /// IPv4 destination address, network byte order (as read from the header).
    pub addr: u32,
    /// TCP destination port, network byte order.
    pub port: u16,
    /// Explicit padding so the key has no uninitialised bytes (hash map keys are compared
    /// bytewise by the kernel).
    pub _pad: u16,
}

impl ServedKey {
    /// Builds a key from host-order values.
    pub fn new(addr_host: u32, port_host: u16) -> Self {
        ServedKey {
            addr: addr_host.to_be(),
            port: port_host.to_be(),
            _pad: 0,
        }
    }
}

/// Key of the IPv6 served map: address and TCP port as they appear in the packet.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServedKey6 {
    /// IPv6 destination address, as read from the header.
    pub addr: [u8; 16],
    /// TCP destination port, network byte order.
    pub port: u16,
    /// Explicit padding (keys are compared bytewise).
    pub _pad: u16,
}

impl ServedKey6 {
    /// Builds a key from an address and a host-order port.
    pub fn new(addr: [u8; 16], port_host: u16) -> Self {
        ServedKey6 {
            addr,
            port: port_host.to_be(),
            _pad: 0,
        }
    }
}

/// Indices into the per-CPU counter array kept by the XDP program. The first six are for
/// IPv4, the next six the same verdicts for IPv6, the last for frames of neither family.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpCounter {
    /// Segments redirected to an AF_XDP socket.
    Steered = 0,
    /// Frames passed to the kernel because they are not for a served pair.
    Passed = 1,
    /// Frames that could not be parsed (truncated headers, bad IHL/data offset): passed to
    /// the kernel, which counts and drops them itself.
    Malformed = 2,
    /// Segments for a served pair that arrived on a queue without a socket: dropped (the
    /// kernel would answer them with a RST).
    NoSocket = 3,
    /// IPv4 TCP fragments that are not the first of a served tuple's segment: passed (later
    /// fragments carry no ports; the kernel drops them when its reassembly times out).
    Fragment = 4,
    /// First fragments of a served tuple's segment (or too short to hold the ports): dropped,
    /// so the kernel never reassembles and answers for a served tuple.
    FragmentDropped = 5,
    /// IPv6 segments redirected to an AF_XDP socket.
    Steered6 = 6,
    /// IPv6 frames passed to the kernel (not a served pair, ICMPv6 and neighbour discovery,
    /// other protocols).
    Passed6 = 7,
    /// IPv6 frames that could not be parsed (truncated headers or extension headers): passed
    /// (the kernel cannot parse them either, and drops them).
    Malformed6 = 8,
    /// IPv6 segments for a served pair on a queue without a socket: dropped.
    NoSocket6 = 9,
    /// IPv6 fragments that are not first (no ports): passed.
    Fragment6 = 10,
    /// First IPv6 fragments of a served tuple (or too short to hold the ports): dropped.
    FragmentDropped6 = 11,
    /// Frames that are neither IPv4 nor IPv6 (ARP, LLDP, ...): passed.
    NotIp = 12,
    /// IPv6 frames with more extension headers, or bytes of them, than the program walks:
    /// dropped. The kernel would walk on to the TCP header and could answer (RST) for a
    /// served tuple, which must never happen.
    ExtensionsDropped6 = 13,
}

/// Number of counters in [`XdpCounter`].
pub const XDP_COUNTERS: u32 = 14;

impl XdpCounter {
    /// All counters, in index order, with their names for reports (IPv6 ones end in
    /// `_v6`; see [`XdpCounter::verdict_and_family`] for labels).
    pub const ALL: [(XdpCounter, &'static str); XDP_COUNTERS as usize] = [
        (XdpCounter::Steered, "steered"),
        (XdpCounter::Passed, "passed"),
        (XdpCounter::Malformed, "malformed"),
        (XdpCounter::NoSocket, "no_socket"),
        (XdpCounter::Fragment, "fragment"),
        (XdpCounter::FragmentDropped, "fragment_dropped"),
        (XdpCounter::Steered6, "steered_v6"),
        (XdpCounter::Passed6, "passed_v6"),
        (XdpCounter::Malformed6, "malformed_v6"),
        (XdpCounter::NoSocket6, "no_socket_v6"),
        (XdpCounter::Fragment6, "fragment_v6"),
        (XdpCounter::FragmentDropped6, "fragment_dropped_v6"),
        (XdpCounter::NotIp, "not_ip"),
        (XdpCounter::ExtensionsDropped6, "extensions_dropped_v6"),
    ];

    /// A report name split into its verdict and family (`ipv4`, `ipv6`, `other`), for
    /// labelled metrics.
    pub fn verdict_and_family(name: &str) -> (&str, &'static str) {
        match name.strip_suffix("_v6") {
            Some(verdict) => (verdict, "ipv6"),
            None if name == "not_ip" => ("passed", "other"),
            None => (name, "ipv4"),
        }
    }
}

#[cfg(feature = "user")]
#[allow(unsafe_code)] // aya reads map keys as plain bytes
                      // SAFETY: ServedKey is repr(C), Copy, made only of integers and has explicit padding.
unsafe impl aya::Pod for ServedKey {}

#[cfg(feature = "user")]
#[allow(unsafe_code)] // aya reads map keys as plain bytes
                      // SAFETY: ServedKey6 is repr(C), Copy, made only of integers and has explicit padding.
unsafe impl aya::Pod for ServedKey6 {}
