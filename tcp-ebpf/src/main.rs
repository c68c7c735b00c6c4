//! XDP program: steer IPv4 and IPv6 TCP segments addressed to a served (address, port) pair
//! into the AF_XDP socket bound to the receive queue the frame arrived on; pass everything
//! else (ARP, ICMP, ICMPv6 and neighbour discovery, other ports, frames it cannot parse) to
//! the kernel untouched.
//!
//! It does the least that must happen in the kernel: no checksum or TCP validation here, the
//! user-space stack does that and counts its own drops. Frames it cannot parse are passed
//! (the kernel drops and counts garbage itself) and counted as `malformed`.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{HashMap, PerCpuArray, XskMap},
    programs::XdpContext,
};
use tcp_common::{ServedKey, ServedKey6, XdpCounter, MAX_QUEUES, MAX_SERVED, XDP_COUNTERS};

/// Served (address, port) pairs, filled by user space. Value unused (1). Not preallocated
/// (`BPF_F_NO_PREALLOC`): the map is large enough for a client's whole port range, and
/// kernel memory goes only to the entries inserted.
#[map(name = "SERVED")]
static SERVED: HashMap<ServedKey, u32> = HashMap::with_max_entries(MAX_SERVED, BPF_F_NO_PREALLOC);

/// Served (IPv6 address, port) pairs, as `SERVED`.
#[map(name = "SERVED6")]
static SERVED6: HashMap<ServedKey6, u32> =
    HashMap::with_max_entries(MAX_SERVED, BPF_F_NO_PREALLOC);

/// `BPF_F_NO_PREALLOC` of `include/uapi/linux/bpf.h`.
const BPF_F_NO_PREALLOC: u32 = 1;

/// Receive queue index -> AF_XDP socket.
#[map(name = "XSKS")]
static XSKS: XskMap = XskMap::with_max_entries(MAX_QUEUES, 0);

/// Per-CPU counters indexed by `XdpCounter`.
#[map(name = "COUNTERS")]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(XDP_COUNTERS, 0);

const ETH_HDR_LEN: usize = 14;
const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86DD;
const IPPROTO_TCP: u8 = 6;
const IPV6_HDR_LEN: usize = 40;
/// IPv6 extension headers walked before giving up (dropped beyond, counted as
/// `extensions_dropped_v6`): the same bound as the stack's own walk
/// (`wire::ipv6::MAX_EXTENSION_HEADERS`).
const IPV6_MAX_EXT: usize = 8;
/// Largest offset of the upper-layer header past the IPv6 header the walk accepts: keeps
/// the offset bounded for the verifier (eight headers of 2 KiB would be 16 KiB).
const IPV6_MAX_EXT_BYTES: usize = 512;

#[xdp]
pub fn xdp_tcp_steer(ctx: XdpContext) -> u32 {
    let (action, counter) = classify(&ctx);
    count(counter);
    action
}

#[inline(always)]
fn count(counter: XdpCounter) {
    if let Some(slot) = COUNTERS.get_ptr_mut(counter as u32) {
        // Safety: per-CPU slot, only this CPU writes it while this program runs.
        unsafe { *slot += 1 };
    }
}

/// Bounds-checked pointer to `len` bytes at `offset` of the frame.
#[inline(always)]
fn bytes_at(ctx: &XdpContext, offset: usize, len: usize) -> Option<*const u8> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + len > end {
        return None;
    }
    Some((start + offset) as *const u8)
}

#[inline(always)]
fn classify(ctx: &XdpContext) -> (u32, XdpCounter) {
    const PASS: u32 = xdp_action::XDP_PASS;
    let Some(eth) = bytes_at(ctx, 0, ETH_HDR_LEN) else {
        return (PASS, XdpCounter::Malformed);
    };
    // Safety: 14 bytes checked above; unaligned reads of plain bytes.
    let ethertype = unsafe { u16::from_be_bytes([*eth.add(12), *eth.add(13)]) };
    match ethertype {
        ETH_P_IPV4 => classify_v4(ctx),
        ETH_P_IPV6 => classify_v6(ctx),
        _ => (PASS, XdpCounter::NotIp),
    }
}

#[inline(always)]
fn classify_v4(ctx: &XdpContext) -> (u32, XdpCounter) {
    const PASS: u32 = xdp_action::XDP_PASS;
    let Some(ip) = bytes_at(ctx, ETH_HDR_LEN, 20) else {
        return (PASS, XdpCounter::Malformed);
    };
    // Safety: 20 bytes of IPv4 header checked above.
    let (ver_ihl, frag, proto, dst) = unsafe {
        (
            *ip,
            u16::from_be_bytes([*ip.add(6), *ip.add(7)]),
            *ip.add(9),
            u32::from_ne_bytes([*ip.add(16), *ip.add(17), *ip.add(18), *ip.add(19)]),
        )
    };
    if proto != IPPROTO_TCP {
        return (PASS, XdpCounter::Passed);
    }
    let ihl = (ver_ihl & 0x0f) as usize * 4;
    if ver_ihl >> 4 != 4 || ihl < 20 {
        return (PASS, XdpCounter::Malformed);
    }
    // A fragment. Only the first one (offset 0) carries the TCP header. The kernel must never
    // answer for a served tuple, and it would, once it reassembled a segment for a port it
    // has no socket for (a RST that kills our connection). So the first fragment of a served
    // tuple is dropped here: the kernel's reassembly never completes, and it sends nothing
    // for a datagram whose first fragment never came. Later fragments have no ports to look
    // at: they go to the kernel, which discards them at its reassembly timeout.
    let fragment = frag & 0x3fff != 0;
    let first_fragment = fragment && frag & 0x1fff == 0;
    if fragment && !first_fragment {
        return (PASS, XdpCounter::Fragment);
    }
    // Bound `ihl` explicitly (<= 60) so the verifier sees a bounded offset.
    let Some(tcp) = bytes_at(ctx, ETH_HDR_LEN + (ihl & 0x3c), 4) else {
        // A first fragment too short to hold the ports (RFC 1858's tiny fragment): no
        // sender makes one, and its ports could belong to a served tuple.
        if first_fragment {
            return (xdp_action::XDP_DROP, XdpCounter::FragmentDropped);
        }
        return (PASS, XdpCounter::Malformed);
    };
    // Safety: 4 bytes of TCP header checked above.
    let dport = unsafe { u16::from_ne_bytes([*tcp.add(2), *tcp.add(3)]) };
    let key = ServedKey { addr: dst, port: dport, _pad: 0 };
    // Safety: the value is a plain u32 and is not kept beyond this call.
    if unsafe { SERVED.get(&key) }.is_none() {
        return (PASS, if fragment { XdpCounter::Fragment } else { XdpCounter::Passed });
    }
    if first_fragment {
        return (xdp_action::XDP_DROP, XdpCounter::FragmentDropped);
    }
    steer(ctx, XdpCounter::Steered, XdpCounter::NoSocket)
}

/// Redirects a served segment to the socket of its receive queue. A served tuple on a queue
/// with no socket (the daemon serves fewer queues than the NIC has, and RSS sent the flow
/// elsewhere) is dropped, not passed: the kernel has no socket for it either and would
/// answer with a RST.
#[inline(always)]
fn steer(ctx: &XdpContext, steered: XdpCounter, no_socket: XdpCounter) -> (u32, XdpCounter) {
    let queue = ctx.rx_queue_index();
    if XSKS.get(queue).is_none() {
        return (xdp_action::XDP_DROP, no_socket);
    }
    match XSKS.redirect(queue, xdp_action::XDP_DROP as u64) {
        Ok(action) => (action, steered),
        Err(_) => (xdp_action::XDP_DROP, no_socket),
    }
}

/// IPv6: the fixed header, then hop-by-hop, routing and destination options headers
/// stepped over (RFC 8200 section 4), at most [`IPV6_MAX_EXT`], to TCP or a Fragment
/// header. Fragments follow the IPv4 rule: a first fragment of a served tuple is dropped
/// (the kernel must never reassemble and answer for it), later ones are passed.
#[inline(always)]
fn classify_v6(ctx: &XdpContext) -> (u32, XdpCounter) {
    const PASS: u32 = xdp_action::XDP_PASS;
    let Some(ip) = bytes_at(ctx, ETH_HDR_LEN, IPV6_HDR_LEN) else {
        return (PASS, XdpCounter::Malformed6);
    };
    // Safety: 40 bytes of IPv6 header checked above.
    let (version, mut next) = unsafe { (*ip >> 4, *ip.add(6)) };
    if version != 6 {
        return (PASS, XdpCounter::Malformed6);
    }
    let mut off = 0usize; // of the next header, from the end of the fixed header
    let mut fragment = false;
    let mut i = 0;
    while i <= IPV6_MAX_EXT {
        i += 1;
        match next {
            IPPROTO_TCP => break,
            // Hop-by-hop, routing, destination options: next header, length in 8 octets.
            0 | 43 | 60 => {
                if i > IPV6_MAX_EXT || off > IPV6_MAX_EXT_BYTES {
                    // Deeper than we look: the kernel would look further, find a served
                    // tuple's TCP header and answer for it. No real traffic nests so deep.
                    return (xdp_action::XDP_DROP, XdpCounter::ExtensionsDropped6);
                }
                let Some(h) = bytes_at(ctx, ETH_HDR_LEN + IPV6_HDR_LEN + off, 2) else {
                    return (PASS, XdpCounter::Malformed6);
                };
                // Safety: 2 bytes checked above.
                let (nh, len) = unsafe { (*h, *h.add(1)) };
                next = nh;
                off += (len as usize + 1) * 8;
            }
            // Fragment: only the first (offset 0) carries the TCP header, 8 bytes on.
            44 => {
                if off > IPV6_MAX_EXT_BYTES {
                    return (xdp_action::XDP_DROP, XdpCounter::ExtensionsDropped6);
                }
                let Some(h) = bytes_at(ctx, ETH_HDR_LEN + IPV6_HDR_LEN + off, 8) else {
                    return (PASS, XdpCounter::Malformed6);
                };
                // Safety: 8 bytes checked above.
                let (nh, frag) = unsafe { (*h, u16::from_be_bytes([*h.add(2), *h.add(3)])) };
                if frag >> 3 != 0 {
                    return (PASS, XdpCounter::Fragment6);
                }
                if nh != IPPROTO_TCP {
                    return (PASS, XdpCounter::Passed6);
                }
                fragment = true;
                next = nh;
                off += 8;
                break;
            }
            _ => return (PASS, XdpCounter::Passed6),
        }
    }
    if next != IPPROTO_TCP || off > IPV6_MAX_EXT_BYTES + 8 {
        return (PASS, XdpCounter::Malformed6);
    }
    let Some(tcp) = bytes_at(ctx, ETH_HDR_LEN + IPV6_HDR_LEN + off, 4) else {
        // A first fragment too short for the ports: dropped, as for IPv4 (RFC 8200 section
        // 4.5 also requires the upper-layer header in the first fragment).
        if fragment {
            return (xdp_action::XDP_DROP, XdpCounter::FragmentDropped6);
        }
        return (PASS, XdpCounter::Malformed6);
    };
    let mut key = ServedKey6 {
        addr: [0; 16],
        port: 0,
        _pad: 0,
    };
    // Safety: the 40-byte header (destination at 24..40) and 4 TCP bytes checked above.
    unsafe {
        let mut b = 0;
        while b < 16 {
            key.addr[b] = *ip.add(24 + b);
            b += 1;
        }
        key.port = u16::from_ne_bytes([*tcp.add(2), *tcp.add(3)]);
    }
    // Safety: the value is a plain u32 and is not kept beyond this call.
    if unsafe { SERVED6.get(&key) }.is_none() {
        return (PASS, XdpCounter::Passed6);
    }
    if fragment {
        return (xdp_action::XDP_DROP, XdpCounter::FragmentDropped6);
    }
    steer(ctx, XdpCounter::Steered6, XdpCounter::NoSocket6)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
