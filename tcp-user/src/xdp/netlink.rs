//! A small blocking rtnetlink client: link, address, route and neighbour queries. Control
//! plane only (start-up, new destinations, and the supervisor's 500 ms checks).
//!
//! Messages are built and parsed by `netlink-packet-route` and sent on a `netlink-sys`
//! socket; this module only pairs a request with its replies (sequence number, `NLMSG_DONE`,
//! `NLMSG_ERROR`) and reads the few facts the daemon needs out of them. The `rtnetlink`
//! crate would do the pairing too, but it is async (tokio) and this runs on plain threads.
//!
//! Cost, measured: about 0.7 MB of the daemon's 3.7 MB of code is netlink-packet-route's
//! parsers (nm), and a clean build of the three crates takes about 34 s on one core. It is
//! cold code, never on the packet path; in exchange the kernel's attribute layouts are
//! parsed by a crate that follows them, with no offsets or `unsafe` of ours.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkMessage, LinkXdp};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// How long one reply may take before the query fails (the kernel answers at once; this
/// only keeps a lost reply from stalling the supervisor).
const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// A route netlink socket connected to the kernel.
pub(crate) struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// Opens a socket for one or more requests.
    pub(crate) fn open() -> Result<Netlink> {
        let socket = Socket::new(NETLINK_ROUTE).context("opening a netlink socket")?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .context("connecting the netlink socket to the kernel")?;
        socket2::SockRef::from(&socket)
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .context("setting the netlink receive timeout")?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// Sends one request (a dump when `dump`) and returns the messages the kernel answers
    /// with. A refusal (`NLMSG_ERROR` with an error code) is an `io::Error` in the chain, so
    /// callers can tell "no such device" from other failures.
    pub(crate) fn request(
        &mut self,
        message: RouteNetlinkMessage,
        dump: bool,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 };
        header.sequence_number = self.seq;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        request.finalize();
        let mut buf = vec![0u8; request.buffer_len()];
        request.serialize(&mut buf);
        self.socket.send(&buf, 0).context("netlink send")?;
        let mut out = Vec::new();
        loop {
            let (datagram, _) = self.socket.recv_from_full().context("netlink receive")?;
            if read_replies(&datagram, self.seq, &mut out)? == Replies::Finished
                || (!dump && !out.is_empty())
            {
                return Ok(out);
            }
        }
    }
}

/// Whether a datagram ended the answer to a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Replies {
    /// `NLMSG_DONE` or an ACK: nothing more comes.
    Finished,
    /// More datagrams may follow (a dump in several parts).
    More,
}

/// Appends the messages of `datagram` that answer request `seq` to `out`.
pub(crate) fn read_replies(
    datagram: &[u8],
    seq: u32,
    out: &mut Vec<RouteNetlinkMessage>,
) -> Result<Replies> {
    let mut rest = datagram;
    while !rest.is_empty() {
        let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
            .map_err(|e| anyhow::anyhow!("malformed netlink reply: {e}"))?;
        let len = message.header.length as usize;
        if len < 16 || len > rest.len() {
            bail!("malformed netlink reply: length {len}");
        }
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
        if message.header.sequence_number != seq {
            continue; // an answer to an earlier request that timed out
        }
        match message.payload {
            NetlinkPayload::Done(_) => return Ok(Replies::Finished),
            NetlinkPayload::Error(e) => match e.code {
                None => return Ok(Replies::Finished), // an ACK
                Some(code) => {
                    return Err(io::Error::from_raw_os_error(-code.get()))
                        .context("netlink request refused")
                }
            },
            NetlinkPayload::InnerMessage(m) => out.push(m),
            _ => {}
        }
    }
    Ok(Replies::More)
}

/// True when `err` is the kernel's "no such device" answer.
fn is_no_device(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.raw_os_error() == Some(libc::ENODEV))
}

/// The facts the daemon reads from a link (`RTM_NEWLINK`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Link {
    /// Interface index.
    pub index: u32,
    /// Link-layer address (6 bytes on Ethernet; absent on some virtual devices).
    pub address: Option<Vec<u8>>,
    /// MTU, when the kernel reports one.
    pub mtu: Option<u32>,
    /// Id of the attached XDP program (`IFLA_XDP_PROG_ID`), `None` when there is none.
    pub xdp_program: Option<u32>,
}

impl Link {
    /// Reads the facts out of a link message.
    pub(crate) fn from_message(message: &LinkMessage) -> Link {
        let mut link = Link {
            index: message.header.index,
            ..Link::default()
        };
        for attr in &message.attributes {
            match attr {
                LinkAttribute::Address(a) => link.address = Some(a.clone()),
                LinkAttribute::Mtu(m) => link.mtu = Some(*m),
                LinkAttribute::Xdp(xdp) => {
                    for x in xdp {
                        if let LinkXdp::ProgId(id) = x {
                            link.xdp_program = (*id != 0).then_some(*id);
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }
}

/// Sends a `RTM_GETLINK` and returns the link in the answer; `None` for no such device.
fn get_link(request: LinkMessage) -> Result<Option<Link>> {
    let mut nl = Netlink::open()?;
    let replies = match nl.request(RouteNetlinkMessage::GetLink(request), false) {
        Ok(r) => r,
        Err(e) if is_no_device(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(replies.iter().find_map(|m| match m {
        RouteNetlinkMessage::NewLink(l) => Some(Link::from_message(l)),
        _ => None,
    }))
}

/// The link named `name`, `None` when there is no such interface.
pub(crate) fn link_by_name(name: &str) -> Result<Option<Link>> {
    let mut request = LinkMessage::default();
    request
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    get_link(request)
}

/// The link of index `ifindex`, `None` when there is no such interface.
pub(crate) fn link_by_index(ifindex: u32) -> Result<Option<Link>> {
    let mut request = LinkMessage::default();
    request.header.index = ifindex;
    get_link(request)
}

/// The id of the XDP program attached to interface `ifindex`, if any.
pub fn attached_xdp_program(ifindex: u32) -> Result<Option<u32>> {
    Ok(link_by_index(ifindex)?
        .context("no such interface")?
        .xdp_program)
}

/// The IPv4 addresses of interface `ifindex`, in the kernel's order (primary first).
pub(crate) fn ipv4_addresses(ifindex: u32) -> Result<Vec<Ipv4Addr>> {
    Ok(addresses(ifindex, AddressFamily::Inet)?
        .into_iter()
        .filter_map(|a| match a {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        })
        .collect())
}

/// The IPv6 addresses of interface `ifindex`, in the kernel's order (link-local ones
/// included; see [`is_link_local`]).
pub(crate) fn ipv6_addresses(ifindex: u32) -> Result<Vec<Ipv6Addr>> {
    Ok(addresses(ifindex, AddressFamily::Inet6)?
        .into_iter()
        .filter_map(|a| match a {
            IpAddr::V6(v) => Some(v),
            IpAddr::V4(_) => None,
        })
        .collect())
}

/// True for `fe80::/10`: an address only valid on its link, which a default never picks.
pub(crate) fn is_link_local(addr: &Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// The addresses of one family of interface `ifindex` (`RTM_GETADDR` dump).
fn addresses(ifindex: u32, family: AddressFamily) -> Result<Vec<IpAddr>> {
    let mut nl = Netlink::open()?;
    let mut request = AddressMessage::default();
    request.header.family = family;
    request.header.index = ifindex;
    let replies = nl.request(RouteNetlinkMessage::GetAddress(request), true)?;
    Ok(replies
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) if a.header.index == ifindex => address_of(a),
            _ => None,
        })
        .collect())
}

/// The interface's own address in an address message: `IFA_LOCAL`, else `IFA_ADDRESS`
/// (on point-to-point links `IFA_ADDRESS` is the peer; getifaddrs(3) reads it the same way;
/// IPv6 messages carry `IFA_ADDRESS` only).
fn address_of(message: &AddressMessage) -> Option<IpAddr> {
    let find = |want_local: bool| {
        message.attributes.iter().find_map(|attr| match attr {
            AddressAttribute::Local(a) if want_local => Some(*a),
            AddressAttribute::Address(a) if !want_local => Some(*a),
            _ => None,
        })
    };
    find(true).or_else(|| find(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::ErrorMessage;
    use std::num::NonZeroI32;

    /// The bytes the kernel would send: `payload` framed with sequence number `seq`.
    fn frame(seq: u32, payload: NetlinkPayload<RouteNetlinkMessage>) -> Vec<u8> {
        let mut header = NetlinkHeader::default();
        header.sequence_number = seq;
        let mut m = NetlinkMessage::new(header, payload);
        m.finalize();
        let mut buf = vec![0u8; m.buffer_len()];
        m.serialize(&mut buf);
        buf
    }

    fn link_message(index: u32, attributes: Vec<LinkAttribute>) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes = attributes;
        m
    }

    #[test]
    fn a_dump_collects_every_part_until_done() {
        let mut datagram = frame(
            7,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link_message(2, vec![]))),
        );
        datagram.extend(frame(
            7,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link_message(3, vec![]))),
        ));
        let mut out = Vec::new();
        assert_eq!(read_replies(&datagram, 7, &mut out).unwrap(), Replies::More);
        // NLMSG_DONE: length 20, type 3, flags NLM_F_MULTI, seq 7, port 0, then a zero code.
        let done: Vec<u8> = [20u32.to_ne_bytes(), (3u32 | 2 << 16).to_ne_bytes()]
            .into_iter()
            .chain([7u32.to_ne_bytes(), [0; 4], [0; 4]])
            .flatten()
            .collect();
        assert_eq!(read_replies(&done, 7, &mut out).unwrap(), Replies::Finished);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn replies_to_another_request_are_skipped() {
        let datagram = frame(
            6,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link_message(2, vec![]))),
        );
        let mut out = Vec::new();
        read_replies(&datagram, 7, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_refusal_carries_the_errno() {
        let mut error = ErrorMessage::default();
        error.code = NonZeroI32::new(-libc::ENODEV);
        let datagram = frame(1, NetlinkPayload::Error(error));
        let err = read_replies(&datagram, 1, &mut Vec::new()).unwrap_err();
        assert!(is_no_device(&err), "{err:#}");
        assert!(format!("{err:#}").starts_with("netlink request refused"));
    }

    #[test]
    fn an_ack_ends_the_answer() {
        let datagram = frame(1, NetlinkPayload::Error(ErrorMessage::default()));
        assert_eq!(
            read_replies(&datagram, 1, &mut Vec::new()).unwrap(),
            Replies::Finished
        );
    }

    #[test]
    fn a_truncated_reply_is_an_error_not_a_panic() {
        let datagram = frame(
            1,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link_message(
                2,
                vec![LinkAttribute::Mtu(1500)],
            ))),
        );
        for cut in 1..datagram.len() {
            let _ = read_replies(&datagram[..cut], 1, &mut Vec::new());
        }
        assert!(read_replies(&datagram[..10], 1, &mut Vec::new()).is_err());
    }

    #[test]
    fn link_facts_include_the_xdp_program_id() {
        let m = link_message(
            4,
            vec![
                LinkAttribute::Mtu(3000),
                LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]),
                LinkAttribute::Xdp(vec![LinkXdp::ProgId(42)]),
            ],
        );
        let link = Link::from_message(&m);
        assert_eq!(link.index, 4);
        assert_eq!(link.mtu, Some(3000));
        assert_eq!(link.address.as_deref(), Some(&[2, 0, 0, 0, 0, 1][..]));
        assert_eq!(link.xdp_program, Some(42));
        let detached = link_message(4, vec![LinkAttribute::Xdp(vec![LinkXdp::ProgId(0)])]);
        assert_eq!(Link::from_message(&detached).xdp_program, None);
    }

    #[test]
    fn the_local_address_wins_over_the_peer_address() {
        let mut m = AddressMessage::default();
        m.attributes = vec![
            AddressAttribute::Address([10, 0, 0, 2].into()),
            AddressAttribute::Local([10, 0, 0, 1].into()),
        ];
        assert_eq!(address_of(&m), Some(Ipv4Addr::new(10, 0, 0, 1).into()));
        m.attributes = vec![AddressAttribute::Address([10, 0, 0, 2].into())];
        assert_eq!(address_of(&m), Some(Ipv4Addr::new(10, 0, 0, 2).into()));
        let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        m.attributes = vec![AddressAttribute::Address(v6.into())];
        assert_eq!(address_of(&m), Some(v6.into()));
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        for (text, local) in [
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", false),
            ("2001:db8::1", false),
            ("::1", false),
        ] {
            assert_eq!(is_link_local(&text.parse().unwrap()), local, "{text}");
        }
    }

    /// Against the kernel of this machine: the loopback device exists and has 127.0.0.1.
    #[test]
    fn loopback_is_found_by_name_and_has_its_address() {
        let lo = link_by_name("lo").unwrap().expect("lo exists");
        assert_eq!(
            link_by_index(lo.index).unwrap().map(|l| l.index),
            Some(lo.index)
        );
        assert!(ipv4_addresses(lo.index)
            .unwrap()
            .contains(&Ipv4Addr::LOCALHOST));
        assert_eq!(link_by_name("xdptcp-no-such0").unwrap(), None);
    }
}
