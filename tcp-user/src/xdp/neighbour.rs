//! Next-hop Ethernet addresses from the kernel over rtnetlink, for connections we open
//! ourselves (a server answers the frame's source MAC; a client must ask).
//!
//! `RTM_GETROUTE` gives the next hop (the gateway, or the destination when it is on-link),
//! `RTM_GETNEIGH` the neighbour entry. When there is none yet we make the kernel resolve it by
//! sending one UDP datagram through a kernel socket (which triggers ARP), then poll the table.
//! Control plane only: called when a connection is opened to a new destination, never per
//! packet.

use anyhow::{bail, Context, Result};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::Netlink;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use crate::wire::MacAddr;

/// Neighbour states whose link-layer address can be used (REACHABLE, STALE, DELAY, PROBE,
/// NOARP, PERMANENT). A bit mask, as the kernel's `NUD_VALID`: the state field is one.
const NUD_VALID: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

/// The next hop towards `dst` (host order): the gateway or `dst` itself, and the outgoing
/// interface index.
pub fn next_hop(dst: u32) -> Result<(u32, u32)> {
    let mut nl = Netlink::open()?;
    let mut request = RouteMessage::default();
    request.header.address_family = AddressFamily::Inet;
    request.header.destination_prefix_length = 32;
    request
        .attributes
        .push(RouteAttribute::Destination(RouteAddress::Inet(
            Ipv4Addr::from(dst),
        )));
    let replies = nl.request(RouteNetlinkMessage::GetRoute(request), false)?;
    let route = replies
        .iter()
        .find_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r) => Some(r),
            _ => None,
        })
        .with_context(|| format!("no route to {}", Ipv4Addr::from(dst)))?;
    Ok(hop_of(route, dst))
}

/// The gateway (or `dst` when on-link) and the outgoing interface of a route reply.
fn hop_of(route: &RouteMessage, dst: u32) -> (u32, u32) {
    let (mut hop, mut oif) = (dst, 0);
    for attr in &route.attributes {
        match attr {
            RouteAttribute::Gateway(RouteAddress::Inet(gw)) => hop = u32::from(*gw),
            RouteAttribute::Oif(index) => oif = *index,
            _ => {}
        }
    }
    (hop, oif)
}

/// Looks `addr` up in the kernel's neighbour table of interface `ifindex`.
pub fn lookup(addr: u32, ifindex: u32) -> Result<Option<MacAddr>> {
    let mut nl = Netlink::open()?;
    let mut request = NeighbourMessage::default();
    request.header.family = AddressFamily::Inet;
    request.header.ifindex = ifindex;
    let replies = nl.request(RouteNetlinkMessage::GetNeighbour(request), true)?;
    Ok(replies.iter().find_map(|m| match m {
        RouteNetlinkMessage::NewNeighbour(n) => usable_entry(n, addr, ifindex),
        _ => None,
    }))
}

/// The MAC of a neighbour entry for `addr` on `ifindex` in a usable state.
fn usable_entry(entry: &NeighbourMessage, addr: u32, ifindex: u32) -> Option<MacAddr> {
    if entry.header.ifindex != ifindex || u16::from(entry.header.state) & NUD_VALID == 0 {
        return None;
    }
    let mut dst = None;
    let mut mac = None;
    for attr in &entry.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => dst = Some(u32::from(*a)),
            NeighbourAttribute::LinkLayerAddress(l) => mac = <[u8; 6]>::try_from(l.as_slice()).ok(),
            _ => {}
        }
    }
    if dst == Some(addr) {
        mac.map(MacAddr)
    } else {
        None
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::neighbour::NeighbourState;

    fn entry(ifindex: u32, state: NeighbourState, addr: [u8; 4], mac: &[u8]) -> NeighbourMessage {
        let mut m = NeighbourMessage::default();
        m.header.ifindex = ifindex;
        m.header.state = state;
        m.attributes = vec![
            NeighbourAttribute::Destination(NeighbourAddress::Inet(addr.into())),
            NeighbourAttribute::LinkLayerAddress(mac.to_vec()),
        ];
        m
    }

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 9];
    const ADDR: u32 = 0x0a00_0001;

    #[test]
    fn a_reachable_or_stale_entry_gives_its_mac() {
        for state in [
            NeighbourState::Reachable,
            NeighbourState::Stale,
            NeighbourState::Permanent,
        ] {
            let e = entry(3, state, [10, 0, 0, 1], &MAC);
            assert_eq!(usable_entry(&e, ADDR, 3), Some(MacAddr(MAC)), "{state:?}");
        }
    }

    #[test]
    fn incomplete_failed_or_foreign_entries_are_not_used() {
        for state in [NeighbourState::Incomplete, NeighbourState::Failed] {
            let e = entry(3, state, [10, 0, 0, 1], &MAC);
            assert_eq!(usable_entry(&e, ADDR, 3), None, "{state:?}");
        }
        let other_if = entry(4, NeighbourState::Reachable, [10, 0, 0, 1], &MAC);
        assert_eq!(usable_entry(&other_if, ADDR, 3), None);
        let other_addr = entry(3, NeighbourState::Reachable, [10, 0, 0, 2], &MAC);
        assert_eq!(usable_entry(&other_addr, ADDR, 3), None);
        let short_mac = entry(3, NeighbourState::Reachable, [10, 0, 0, 1], &MAC[..4]);
        assert_eq!(usable_entry(&short_mac, ADDR, 3), None);
    }

    #[test]
    fn the_next_hop_is_the_gateway_or_the_destination() {
        let mut on_link = RouteMessage::default();
        on_link.attributes = vec![RouteAttribute::Oif(5)];
        assert_eq!(hop_of(&on_link, ADDR), (ADDR, 5));
        let mut via = on_link.clone();
        via.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(
                [10, 0, 0, 254].into(),
            )));
        assert_eq!(hop_of(&via, ADDR), (0x0a00_00fe, 5));
    }
}
