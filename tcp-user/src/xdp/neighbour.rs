//! Next-hop Ethernet addresses from the kernel over rtnetlink, for connections we open
//! ourselves (a server answers the frame's source MAC; a client must ask).
//!
//! `RTM_GETROUTE` gives the next hop (the gateway, or the destination when it is on-link),
//! `RTM_GETNEIGH` the neighbour entry. When there is none yet we make the kernel resolve it by
//! sending one UDP datagram through a kernel socket (which triggers ARP), then poll the table.
//! Control plane only: called when a connection is opened to a new destination, never per
//! packet.

use anyhow::{bail, Context, Result};

use super::netlink::{attrs, Netlink, NLM_F_DUMP};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use crate::wire::MacAddr;

const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
/// Neighbour states whose link-layer address can be used (REACHABLE, STALE, DELAY, PROBE,
/// NOARP, PERMANENT).
const NUD_VALID: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

/// The next hop towards `dst` (host order): the gateway or `dst` itself, and the outgoing
/// interface index.
pub fn next_hop(dst: u32) -> Result<(u32, u32)> {
    let mut nl = Netlink::open()?;
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags(u32)
    let mut body = vec![libc::AF_INET as u8, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(&8u16.to_ne_bytes());
    body.extend_from_slice(&RTA_DST.to_ne_bytes());
    body.extend_from_slice(&dst.to_be_bytes());
    let replies = nl.request(RTM_GETROUTE, 0, &body, RTM_NEWROUTE)?;
    let reply = replies
        .first()
        .with_context(|| format!("no route to {}", Ipv4Addr::from(dst)))?;
    let (mut hop, mut oif) = (dst, 0);
    for (kind, value) in attrs(reply, 12) {
        match (kind, value.len()) {
            (RTA_GATEWAY, 4) => hop = u32::from_be_bytes(value.try_into().unwrap()),
            (RTA_OIF, 4) => oif = u32::from_ne_bytes(value.try_into().unwrap()),
            _ => {}
        }
    }
    Ok((hop, oif))
}

/// Looks `addr` up in the kernel's neighbour table of interface `ifindex`.
pub fn lookup(addr: u32, ifindex: u32) -> Result<Option<MacAddr>> {
    let mut nl = Netlink::open()?;
    // struct ndmsg: family, pad, pad(u16), ifindex(i32), state(u16), flags, type
    let mut body = vec![libc::AF_INET as u8, 0, 0, 0];
    body.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    body.extend_from_slice(&[0, 0, 0, 0]);
    for entry in nl.request(RTM_GETNEIGH, NLM_F_DUMP, &body, RTM_NEWNEIGH)? {
        if entry.len() < 12 {
            continue;
        }
        let index = i32::from_ne_bytes(entry[4..8].try_into().unwrap()) as u32;
        let state = u16::from_ne_bytes([entry[8], entry[9]]);
        if index != ifindex || state & NUD_VALID == 0 {
            continue;
        }
        let mut dst = None;
        let mut mac = None;
        for (kind, value) in attrs(&entry, 12) {
            match (kind, value.len()) {
                (NDA_DST, 4) => dst = Some(u32::from_be_bytes(value.try_into().unwrap())),
                (NDA_LLADDR, 6) => mac = Some(MacAddr(value.try_into().unwrap())),
                _ => {}
            }
        }
        if dst == Some(addr) {
            return Ok(mac);
        }
    }
    Ok(None)
}

/// The Ethernet address to send to for `dst`: the neighbour entry of its next hop, asking
/// the kernel to resolve it (ARP) when missing, waiting up to `timeout`.
pub fn resolve(dst: u32, timeout: Duration) -> Result<MacAddr> {
    let (hop, ifindex) = next_hop(dst)?;
    if let Some(mac) = lookup(hop, ifindex)? {
        return Ok(mac);
    }
    // Nothing yet: one datagram to the discard port makes the kernel resolve the next hop.
    let sock = UdpSocket::bind("0.0.0.0:0").context("binding a UDP socket to trigger ARP")?;
    let _ = sock.send_to(&[0], SocketAddrV4::new(Ipv4Addr::from(dst), 9));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        if let Some(mac) = lookup(hop, ifindex)? {
            return Ok(mac);
        }
    }
    bail!(
        "next hop {} of {} did not resolve (ARP)",
        Ipv4Addr::from(hop),
        Ipv4Addr::from(dst)
    )
}
