//! Next-hop Ethernet addresses from the kernel over rtnetlink, for connections we open
//! ourselves (a server answers the frame's source MAC; a client must ask). Both families:
//! the neighbour table holds ARP entries for IPv4 and neighbour-discovery entries for IPv6
//! (RFC 4861), and the kernel fills both.
//!
//! `RTM_GETROUTE` gives the next hop (the gateway, or the destination when it is on-link),
//! `RTM_GETNEIGH` the neighbour entry. When there is none yet we make the kernel resolve it by
//! sending one UDP datagram through a kernel socket (which triggers ARP or a neighbour
//! solicitation), then poll the table. Control plane only: called when a connection is opened
//! to a new destination, never per packet.

use anyhow::{bail, Context, Result};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::Netlink;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use crate::wire::MacAddr;

/// Neighbour states whose link-layer address can be used (REACHABLE, STALE, DELAY, PROBE,
/// NOARP, PERMANENT). A bit mask, as the kernel's `NUD_VALID`: the state field is one.
const NUD_VALID: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

fn family_of(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// True for an IPv6 link-local address (`fe80::/10`): valid only with its interface.
fn is_link_local(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(a) if super::netlink::is_link_local(&a))
}

/// The next hop towards `dst`: the gateway or `dst` itself, and the outgoing interface
/// index. A link-local `dst` is on the link of `ifindex` (it names no interface itself).
pub fn next_hop(dst: IpAddr, ifindex: u32) -> Result<(IpAddr, u32)> {
    if is_link_local(dst) {
        return Ok((dst, ifindex));
    }
    let mut nl = Netlink::open()?;
    let mut request = RouteMessage::default();
    request.header.address_family = family_of(dst);
    request.header.destination_prefix_length = if dst.is_ipv4() { 32 } else { 128 };
    request
        .attributes
        .push(RouteAttribute::Destination(RouteAddress::from(dst)));
    let replies = nl.request(RouteNetlinkMessage::GetRoute(request), false)?;
    let route = replies
        .iter()
        .find_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r) => Some(r),
            _ => None,
        })
        .with_context(|| format!("no route to {dst}"))?;
    Ok(hop_of(route, dst))
}

/// The gateway (or `dst` when on-link) and the outgoing interface of a route reply.
fn hop_of(route: &RouteMessage, dst: IpAddr) -> (IpAddr, u32) {
    let (mut hop, mut oif) = (dst, 0);
    for attr in &route.attributes {
        match attr {
            RouteAttribute::Gateway(RouteAddress::Inet(gw)) => hop = IpAddr::V4(*gw),
            RouteAttribute::Gateway(RouteAddress::Inet6(gw)) => hop = IpAddr::V6(*gw),
            RouteAttribute::Oif(index) => oif = *index,
            _ => {}
        }
    }
    (hop, oif)
}

/// Looks `addr` up in the kernel's neighbour table of interface `ifindex`.
pub fn lookup(addr: IpAddr, ifindex: u32) -> Result<Option<MacAddr>> {
    let mut nl = Netlink::open()?;
    let mut request = NeighbourMessage::default();
    request.header.family = family_of(addr);
    request.header.ifindex = ifindex;
    let replies = nl.request(RouteNetlinkMessage::GetNeighbour(request), true)?;
    Ok(replies.iter().find_map(|m| match m {
        RouteNetlinkMessage::NewNeighbour(n) => usable_entry(n, addr, ifindex),
        _ => None,
    }))
}

/// The MAC of a neighbour entry for `addr` on `ifindex` in a usable state.
fn usable_entry(entry: &NeighbourMessage, addr: IpAddr, ifindex: u32) -> Option<MacAddr> {
    if entry.header.ifindex != ifindex || u16::from(entry.header.state) & NUD_VALID == 0 {
        return None;
    }
    let mut dst = None;
    let mut mac = None;
    for attr in &entry.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                dst = Some(IpAddr::V4(*a))
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                dst = Some(IpAddr::V6(*a))
            }
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
/// the kernel to resolve it (ARP, or neighbour discovery for IPv6) when missing, waiting up
/// to `timeout`. `ifindex` is the served interface, the link of a link-local `dst`.
pub fn resolve(dst: IpAddr, ifindex: u32, timeout: Duration) -> Result<MacAddr> {
    let (hop, oif) = next_hop(dst, ifindex)?;
    if let Some(mac) = lookup(hop, oif)? {
        return Ok(mac);
    }
    // Nothing yet: one datagram to the discard port makes the kernel resolve the next hop.
    let (bind, to): (SocketAddr, SocketAddr) = match dst {
        IpAddr::V4(a) => ((Ipv4Addr::UNSPECIFIED, 0).into(), (IpAddr::V4(a), 9).into()),
        IpAddr::V6(a) => (
            (Ipv6Addr::UNSPECIFIED, 0).into(),
            SocketAddrV6::new(a, 9, 0, if is_link_local(dst) { oif } else { 0 }).into(),
        ),
    };
    let sock =
        UdpSocket::bind(bind).context("binding a UDP socket to trigger neighbour resolution")?;
    let _ = sock.send_to(&[0], to);
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        if let Some(mac) = lookup(hop, oif)? {
            return Ok(mac);
        }
    }
    let how = if dst.is_ipv4() {
        "ARP"
    } else {
        "neighbour discovery"
    };
    bail!("next hop {hop} of {dst} did not resolve ({how})")
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
    const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

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
        assert_eq!(hop_of(&via, ADDR), (Ipv4Addr::new(10, 0, 0, 254).into(), 5));
        let dst6: IpAddr = "2001:db8::9".parse().unwrap();
        assert_eq!(hop_of(&on_link, dst6), (dst6, 5));
        let gw6: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut via6 = on_link.clone();
        via6.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet6(gw6)));
        assert_eq!(hop_of(&via6, dst6), (gw6.into(), 5));
    }

    #[test]
    fn ipv6_entries_are_matched_by_their_address() {
        let addr: Ipv6Addr = "fd00::2".parse().unwrap();
        let mut e = NeighbourMessage::default();
        e.header.ifindex = 3;
        e.header.state = NeighbourState::Reachable;
        e.attributes = vec![
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(addr)),
            NeighbourAttribute::LinkLayerAddress(MAC.to_vec()),
        ];
        assert_eq!(usable_entry(&e, addr.into(), 3), Some(MacAddr(MAC)));
        assert_eq!(usable_entry(&e, "fd00::3".parse().unwrap(), 3), None);
        // The IPv4 address with the same last bits is another neighbour.
        assert_eq!(usable_entry(&e, ADDR, 3), None);
    }

    #[test]
    fn a_link_local_destination_is_its_own_next_hop_on_the_served_link() {
        let ll: IpAddr = "fe80::2".parse().unwrap();
        assert_eq!(next_hop(ll, 7).unwrap(), (ll, 7));
    }
}
