//! Receive-side scaling: which receive queue a NIC puts a flow on, and how an active opener
//! picks its ephemeral port so the replies come back to the worker that owns the connection.
//!
//! NICs hash the IPv4/TCP 4-tuple with the Toeplitz function and a secret key, then index an
//! indirection table (by default `hash mod queues`). A client connection's replies arrive with
//! the peer as source, so we search for a local port whose reply hash lands on our own queue,
//! as mTCP does. Devices that pick queues otherwise (veth takes the sender's TX queue) get
//! [`PortChooser::fallback`]: any free port, with every worker serving all of them.

use crate::tcp::{Addr, FourTuple};

/// The default key of Microsoft's RSS specification (and of many NIC drivers).
pub const MICROSOFT_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// The Toeplitz hash of `input` under `key` (the key must be at least input length + 4
/// bytes): for every set bit of the input, XOR in the 32-bit window of the key starting at
/// that bit.
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    debug_assert!(key.len() >= input.len() + 4);
    let mut hash = 0u32;
    let mut window = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    for (i, byte) in input.iter().enumerate() {
        let next = key.get(i + 4).copied().unwrap_or(0);
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                hash ^= window;
            }
            window = (window << 1) | ((next >> (7 - bit)) & 1) as u32;
        }
    }
    hash
}

/// Hash of an IPv4/TCP packet as the receiving NIC computes it: source address, destination
/// address, source port, destination port, all in network order.
pub fn hash_ipv4_tcp(key: &[u8], src: u32, dst: u32, sport: u16, dport: u16) -> u32 {
    let mut input = [0u8; 12];
    input[..4].copy_from_slice(&src.to_be_bytes());
    input[4..8].copy_from_slice(&dst.to_be_bytes());
    input[8..10].copy_from_slice(&sport.to_be_bytes());
    input[10..].copy_from_slice(&dport.to_be_bytes());
    toeplitz(key, &input)
}

/// Hash of an IPv6/TCP packet (no extension-header addresses): source address,
/// destination address, source port, destination port, in network order.
pub fn hash_ipv6_tcp(key: &[u8], src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16) -> u32 {
    let mut input = [0u8; 36];
    input[..16].copy_from_slice(src);
    input[16..32].copy_from_slice(dst);
    input[32..34].copy_from_slice(&sport.to_be_bytes());
    input[34..].copy_from_slice(&dport.to_be_bytes());
    toeplitz(key, &input)
}

/// Picks ephemeral ports for one worker's active opens.
#[derive(Clone, Debug)]
pub struct PortChooser {
    key: Option<Vec<u8>>,
    queue: u32,
    queues: u32,
    first: u16,
    last: u16,
    next: u16,
}

impl PortChooser {
    /// Ports in `first..=last` whose replies hash to `queue` of `queues` under `key`.
    pub fn toeplitz(key: &[u8], queue: u32, queues: u32, first: u16, last: u16) -> Self {
        PortChooser {
            key: Some(key.to_vec()),
            queue,
            queues: queues.max(1),
            first,
            last,
            next: first,
        }
    }

    /// Any port in `first..=last` (devices that do not steer by Toeplitz hash, or one queue).
    pub fn fallback(first: u16, last: u16) -> Self {
        PortChooser {
            key: None,
            queue: 0,
            queues: 1,
            first,
            last,
            next: first,
        }
    }

    /// True when replies to `tuple` would arrive on this chooser's queue.
    pub fn lands_here(&self, tuple: &FourTuple) -> bool {
        match &self.key {
            None => true,
            Some(key) => {
                // The NIC hashes what it receives: the reply, from remote to local.
                let h = match (tuple.remote_addr.to_v4(), tuple.local_addr.to_v4()) {
                    (Some(src), Some(dst)) => {
                        hash_ipv4_tcp(key, src, dst, tuple.remote_port, tuple.local_port)
                    }
                    _ => hash_ipv6_tcp(
                        key,
                        tuple.remote_addr.octets(),
                        tuple.local_addr.octets(),
                        tuple.remote_port,
                        tuple.local_port,
                    ),
                };
                h % self.queues == self.queue
            }
        }
    }

    /// The next local port for a connection from `local_addr` to `remote:port` that lands on
    /// this queue and is not `in_use`; `None` when the range is exhausted.
    pub fn choose(
        &mut self,
        local_addr: Addr,
        remote_addr: Addr,
        remote_port: u16,
        in_use: impl Fn(&FourTuple) -> bool,
    ) -> Option<u16> {
        let span = (self.last - self.first) as u32 + 1;
        for _ in 0..span {
            let port = self.next;
            self.next = if self.next >= self.last {
                self.first
            } else {
                self.next + 1
            };
            let tuple = FourTuple {
                local_addr,
                local_port: port,
                remote_addr,
                remote_port,
            };
            if self.lands_here(&tuple) && !in_use(&tuple) {
                return Some(port);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    /// Microsoft "Verifying the RSS Hash Calculation", IPv4 with TCP ports.
    #[test]
    fn toeplitz_matches_the_microsoft_rss_verification_suite_for_ipv6() {
        // (destination, port, source, port, hash over addresses only, with TCP ports).
        let cases = [
            (
                "3ffe:2501:200:3::1",
                1766,
                "3ffe:2501:200:1fff::7",
                2794,
                0x2cc1_8cd5,
                0x4020_7d3d,
            ),
            (
                "ff02::1",
                4739,
                "3ffe:501:8::260:97ff:fe40:efab",
                14230,
                0x0f0c_461c,
                0xdde5_1bbf,
            ),
            (
                "fe80::200:f8ff:fe21:67cf",
                38024,
                "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
                44251,
                0x4b61_e985,
                0x02d1_feef,
            ),
        ];
        let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
        for (dst, dport, src, sport, ip_only, with_tcp) in cases {
            let (src, dst) = (v6(src), v6(dst));
            let mut addrs = [0u8; 32];
            addrs[..16].copy_from_slice(&src);
            addrs[16..].copy_from_slice(&dst);
            assert_eq!(toeplitz(&MICROSOFT_KEY, &addrs), ip_only);
            assert_eq!(
                hash_ipv6_tcp(&MICROSOFT_KEY, &src, &dst, sport, dport),
                with_tcp
            );
        }
    }

    #[test]
    fn toeplitz_matches_the_microsoft_rss_verification_suite() {
        let cases = [
            ("66.9.149.187", 2794, "161.142.100.80", 1766, 0x51cc_c178u32),
            ("199.92.111.2", 14230, "65.69.140.83", 4739, 0xc626_b0ea),
            ("24.19.198.95", 12898, "12.22.207.184", 38024, 0x5c2b_394a),
            ("38.27.205.30", 48228, "209.142.163.6", 2217, 0xafc7_327f),
            ("153.39.163.191", 44251, "202.188.127.2", 1303, 0x10e8_28a2),
        ];
        for (src, sport, dst, dport, want) in cases {
            let got = hash_ipv4_tcp(&MICROSOFT_KEY, ip(src), ip(dst), sport, dport);
            assert_eq!(got, want, "{src}:{sport} -> {dst}:{dport}");
        }
    }

    /// The same suite's IPv4-only values (addresses, no ports).
    #[test]
    fn toeplitz_matches_the_ipv4_only_vectors() {
        let cases = [
            ("66.9.149.187", "161.142.100.80", 0x323e_8fc2u32),
            ("199.92.111.2", "65.69.140.83", 0xd718_262a),
            ("24.19.198.95", "12.22.207.184", 0xd2d0_a5de),
            ("38.27.205.30", "209.142.163.6", 0x8298_9176),
            ("153.39.163.191", "202.188.127.2", 0x5d18_09c5),
        ];
        for (src, dst, want) in cases {
            let mut input = [0u8; 8];
            input[..4].copy_from_slice(&ip(src).to_be_bytes());
            input[4..].copy_from_slice(&ip(dst).to_be_bytes());
            assert_eq!(toeplitz(&MICROSOFT_KEY, &input), want, "{src} -> {dst}");
        }
    }

    #[test]
    fn chosen_ports_land_on_the_workers_own_queue() {
        let (local, remote) = (ip("10.0.0.1"), ip("10.0.0.2"));
        for queue in 0..4 {
            let mut chooser = PortChooser::toeplitz(&MICROSOFT_KEY, queue, 4, 32768, 60999);
            for _ in 0..50 {
                let port = chooser
                    .choose(local.into(), remote.into(), 80, |_| false)
                    .unwrap();
                let h = hash_ipv4_tcp(&MICROSOFT_KEY, remote, local, 80, port);
                assert_eq!(h % 4, queue);
            }
        }
    }

    #[test]
    fn chooser_skips_ports_in_use_and_reports_exhaustion() {
        let mut chooser = PortChooser::fallback(40000, 40002);
        let taken = |t: &FourTuple| t.local_port == 40001;
        assert_eq!(
            chooser.choose(Addr::v4(1), Addr::v4(2), 80, taken),
            Some(40000)
        );
        assert_eq!(
            chooser.choose(Addr::v4(1), Addr::v4(2), 80, taken),
            Some(40002)
        );
        assert_eq!(
            chooser.choose(Addr::v4(1), Addr::v4(2), 80, taken),
            Some(40000)
        );
        assert_eq!(chooser.choose(Addr::v4(1), Addr::v4(2), 80, |_| true), None);
    }
}
