//! XDP program: steer IPv4 TCP segments addressed to a served (address, port) pair into the
//! AF_XDP socket bound to the receive queue the frame arrived on; pass everything else (ARP,
//! ICMP, IPv6, other ports, frames it cannot parse) to the kernel untouched.
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
use tcp_common::{ServedKey, XdpCounter, MAX_QUEUES, MAX_SERVED, XDP_COUNTERS};

/// Served (address, port) pairs, filled by user space. Value unused (1). Not preallocated
/// (`BPF_F_NO_PREALLOC`): the map is large enough for a client's whole port range, and
/// kernel memory goes only to the entries inserted.
#[map(name = "SERVED")]
static SERVED: HashMap<ServedKey, u32> = HashMap::with_max_entries(MAX_SERVED, BPF_F_NO_PREALLOC);

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
const IPPROTO_TCP: u8 = 6;

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
    if ethertype != ETH_P_IPV4 {
        return (PASS, XdpCounter::Passed);
    }
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
    // A served tuple on a queue with no socket (the daemon serves fewer queues than the
    // NIC has, and RSS sent the flow elsewhere) is dropped, not passed: the kernel has no
    // socket for it either and would answer with a RST.
    let queue = ctx.rx_queue_index();
    if XSKS.get(queue).is_none() {
        return (xdp_action::XDP_DROP, XdpCounter::NoSocket);
    }
    match XSKS.redirect(queue, xdp_action::XDP_DROP as u64) {
        Ok(action) => (action, XdpCounter::Steered),
        Err(_) => (xdp_action::XDP_DROP, XdpCounter::NoSocket),
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
