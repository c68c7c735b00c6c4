//! The endpoint over IPv6, and over both families at once: a handshake, data both ways,
//! both close orders, RST, SYN cookies and TIME_WAIT reuse on IPv6 tuples; one port served
//! on an IPv4 and an IPv6 address together; frames of the wrong family or malformed IPv6
//! counted as drops that leave a running connection untouched.

use super::*;
use crate::wire::ipv6::next_header;

/// 2001:db8::1, the server's IPv6 address.
pub(super) const SERVER6: Addr =
    Addr::v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/// 2001:db8::2, the IPv6 peer.
pub(super) const PEER6: Addr =
    Addr::v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

/// The test configuration serving `PORT` on `SERVER` and `SERVER6`, with a next hop for
/// both peers.
fn dual_config() -> EndpointConfig {
    let mut cfg = config();
    cfg.local_addrs.push(SERVER6);
    if let Some(c) = cfg.client.as_mut() {
        c.next_hops.push((PEER6, PEER_MAC));
    }
    cfg
}

/// A harness on `dual_config` whose peer is `PEER6`.
fn harness6(service: Recorder) -> Harness {
    let mut h = Harness::with(dual_config(), service);
    h.peer = PEER6;
    h
}

/// A frame from `PEER6` to `SERVER6`.
pub(super) fn frame6(seg: Segment<'_>) -> Vec<u8> {
    frame_between(PEER6, SERVER6, seg)
}

/// `frame` (IPv6 without extension headers) with `headers` put between the fixed header
/// and TCP, the first of type `first` (each names the next; the last should name TCP), and
/// the payload length grown to match. The TCP checksum still verifies: the upper-layer
/// length it covers is unchanged.
pub(super) fn with_ext(frame: &[u8], first: u8, headers: &[[u8; 8]]) -> Vec<u8> {
    let mut f = frame[..14 + 40].to_vec();
    f[14 + 6] = first;
    for h in headers {
        f.extend_from_slice(h);
    }
    let tcp_len = usize::from(u16::from_be_bytes([frame[18], frame[19]]));
    f.extend_from_slice(&frame[14 + 40..14 + 40 + tcp_len]);
    let plen = (f.len() - 14 - 40) as u16;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    f
}

#[test]
fn a_v6_handshake_answers_from_our_v6_address_with_the_v6_mss_and_a_flow_label() {
    let mut h = harness6(Recorder::default());
    let sa = single(&h.deliver(1000, syn(1000, 7000)), SYN | ACK);
    assert_eq!(
        (sa.src_addr, sa.dst_addr, sa.dst_mac),
        (SERVER6, PEER6, PEER_MAC)
    );
    // MTU 1500 (config MSS 1460 for IPv4): 1500 - 40 - 20 = 1440 over IPv6.
    assert_eq!(sa.mss, Some(1440));
    assert_eq!(sa.ttl, 64, "hop limit");
    assert_ne!(sa.flow_label, 0, "RFC 6437: a labelled flow");
    let out = h.deliver(1000, seg(1000, 7001, sa.seq.0 + 1, ACK, b""));
    assert!(out.is_empty(), "{out:?}");
    let id = h.established_id().expect("established over IPv6");
    let mut tx = VecTx::default();
    let peer =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.conn(id).map(|c| c.peer_addr()));
    assert_eq!(peer, Some("[2001:db8::2]:1000".parse().unwrap()));
}

#[test]
fn a_v6_connection_keeps_one_flow_label_and_another_connection_gets_another() {
    let service = Recorder {
        greeting: b"hello".to_vec(),
        ..Recorder::default()
    };
    let mut h = harness6(service);
    let sa = single(&h.deliver(1000, syn(1000, 7000)), SYN | ACK);
    let out = h.deliver(1000, seg(1000, 7001, sa.seq.0 + 1, ACK, b""));
    let data = single(&out, ACK | TcpFlags::PSH);
    assert_eq!(
        data.flow_label, sa.flow_label,
        "stable for the connection's life"
    );
    let other = single(&h.deliver(1001, syn(1001, 9000)), SYN | ACK);
    assert_ne!(other.flow_label, sa.flow_label, "one label per connection");
}

#[test]
fn data_flows_both_ways_over_v6_within_the_v6_mss() {
    let service = Recorder {
        greeting: vec![5u8; 3000],
        ..Recorder::default()
    };
    let mut h = harness6(service);
    let sa = single(&h.deliver(1000, syn(1000, 7000)), SYN | ACK);
    // The peer offers 1460 (its own IPv4-sized MSS): we still send at most our 1440.
    let out = h.deliver(1000, seg(1000, 7001, sa.seq.0 + 1, ACK, b""));
    let sizes: Vec<usize> = out.iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, vec![1440, 1440, 120], "{out:?}");
    assert!(out
        .iter()
        .all(|s| s.src_addr == SERVER6 && s.dst_addr == PEER6));
    // And the peer's data reaches the service, acknowledged.
    let mut sent = h.deliver(1000, seg(1000, 7001, sa.seq.0 + 3001, ACK, b"ping"));
    sent.extend(h.advance(Duration::from_millis(500)));
    assert!(sent.iter().any(|s| s.ack == SeqNum(7005)), "{sent:?}");
    assert_eq!(h.ep.stats().drops.iter().sum::<u64>(), 0);
}

#[test]
fn a_v6_connection_closed_by_us_first_ends_in_time_wait_on_our_side() {
    let service = Recorder {
        close_on_accept: true,
        ..Recorder::default()
    };
    let mut h = harness6(service);
    let sa = single(&h.deliver(1000, syn(1000, 7000)), SYN | ACK);
    let out = h.deliver(1000, seg(1000, 7001, sa.seq.0 + 1, ACK, b""));
    let fin = single(&out, ACK | FIN);
    assert_eq!(fin.dst_addr, PEER6);
    let id = h.established_id().unwrap();
    h.deliver(1000, seg(1000, 7001, sa.seq.0 + 2, ACK | FIN, b""));
    assert_eq!(h.state(id), Some(State::TimeWait));
}

#[test]
fn a_v6_connection_closed_by_the_peer_first_is_freed_after_our_fin_is_acked() {
    let mut h = harness6(Recorder::default());
    let (iss, id) = h.accept(1000, 7000);
    let out = h.deliver(1000, seg(1000, 7001, iss.0 + 1, ACK | FIN, b""));
    assert!(out.iter().all(|s| s.dst_addr == PEER6));
    assert_eq!(h.state(id), Some(State::CloseWait));
    let mut tx = VecTx::default();
    h.ep.with_service(h.now, &mut tx, |_, cx| cx.conn(id).unwrap().close());
    let fin = single(&decode(tx.take()), ACK | FIN);
    assert_eq!(fin.src_addr, SERVER6);
    h.deliver(1000, seg(1000, 7002, iss.0 + 2, ACK, b""));
    assert_eq!(h.state(id), None, "LAST_ACK acknowledged: freed");
}

#[test]
fn a_rst_over_v6_resets_the_connection_and_a_closed_v6_port_answers_rst() {
    let mut h = harness6(Recorder::default());
    let (_, id) = h.accept(1000, 7000);
    h.deliver(1000, seg(1000, 7001, 0, RST, b""));
    assert_eq!(h.state(id), None);
    assert_eq!(h.ep.stats().conns_reset, 1);
    let out = h.deliver(
        1001,
        Segment {
            dst_port: 81,
            ..syn(1001, 9000)
        },
    );
    let rst = single(&out, RST | ACK);
    assert_eq!((rst.src_addr, rst.dst_addr), (SERVER6, PEER6));
}

#[test]
fn a_v6_syn_cookie_ack_opens_a_connection_on_the_v6_tuple() {
    let mut cfg = dual_config();
    cfg.max_half_open = 0;
    let mut h = Harness::with(cfg, Recorder::default());
    h.peer = PEER6;
    let cookie = single(&h.deliver(1001, syn(1001, 8000)), SYN | ACK);
    assert_eq!(
        cookie.mss,
        Some(1440),
        "the cookie SYN-ACK offers the v6 MSS"
    );
    assert_eq!(h.ep.connections(), 0);
    // The same cookie is no good for the IPv4 twin of the tuple.
    h.peer = PEER;
    let out = h.deliver(1001, seg(1001, 8001, cookie.seq.0 + 1, ACK, b""));
    single(&out, RST);
    assert_eq!(h.drops(DropReason::BadCookie), 1);
    h.peer = PEER6;
    let out = h.deliver(1001, seg(1001, 8001, cookie.seq.0 + 1, ACK, b"hi"));
    assert!(out.iter().all(|s| !s.flags.rst()), "{out:?}");
    let id = h.established_id().expect("the cookie ACK opened it");
    let mut tx = VecTx::default();
    let tuple = h.ep.with_service(h.now, &mut tx, |_, cx| {
        let c = cx.conn(id).unwrap();
        (c.local_addr(), c.peer_addr())
    });
    assert_eq!(
        tuple,
        (
            "[2001:db8::1]:80".parse().unwrap(),
            "[2001:db8::2]:1001".parse().unwrap()
        )
    );
}

#[test]
fn a_new_v6_syn_reopens_a_time_wait_tuple() {
    let service = Recorder {
        close_on_accept: true,
        ..Recorder::default()
    };
    let mut h = harness6(service);
    let (iss, id) = h.accept(1000, 7000);
    h.deliver(1000, seg(1000, 7001, iss.0 + 2, ACK | FIN, b""));
    assert_eq!(h.state(id), Some(State::TimeWait));
    let sa = single(&h.deliver(1000, syn(1000, 90_000)), SYN | ACK);
    assert_eq!(sa.dst_addr, PEER6);
    assert!(sa.seq > iss + 1, "above the old sequence space");
    assert_eq!(h.ep.stats().time_wait_reused, 1);
    assert_eq!(h.state(id), None);
}

#[test]
fn one_port_is_served_on_a_v4_and_a_v6_address_at_once() {
    let mut h = Harness::with(dual_config(), Recorder::default());
    let (_, v4) = h.accept(1000, 7000);
    h.peer = PEER6;
    let (_, v6) = h.accept(1000, 7000);
    assert_ne!(v4, v6, "same ports, two families: two connections");
    assert_eq!(h.state(v4), Some(State::Established));
    assert_eq!(h.state(v6), Some(State::Established));
    // A RST over IPv6 touches only the IPv6 connection.
    h.deliver(1000, seg(1000, 7001, 0, RST, b""));
    assert_eq!(h.state(v6), None);
    assert_eq!(h.state(v4), Some(State::Established));
}

#[test]
fn a_frame_of_the_family_we_do_not_serve_is_not_served() {
    // IPv4-only endpoint, IPv6 SYN.
    let mut h = Harness::new();
    assert!(h.deliver_frame(&frame6(syn(1000, 7000))).is_empty());
    assert_eq!(h.drops(DropReason::NotServed), 1);
    // IPv6-only endpoint, IPv4 SYN.
    let mut cfg = dual_config();
    cfg.local_addrs = vec![SERVER6];
    let mut h = Harness::with(cfg, Recorder::default());
    assert!(h
        .deliver_frame(&peer_frame(PEER, 1000, syn(1000, 7000)))
        .is_empty());
    assert_eq!(h.drops(DropReason::NotServed), 1);
    assert_eq!(h.ep.connections(), 0);
}

#[test]
fn connect_over_v6_leaves_from_our_v6_address_and_needs_one() {
    let mut h = Harness::with(dual_config(), Recorder::default());
    let mut tx = VecTx::default();
    let remote: SocketAddr = "[2001:db8::2]:7".parse().unwrap();
    let id =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(remote, ()))
            .unwrap();
    let s = single(&decode(tx.take()), SYN);
    assert_eq!((s.src_addr, s.dst_addr, s.dst_port), (SERVER6, PEER6, 7));
    assert_eq!(s.mss, Some(1440));
    h.peer = PEER6;
    let out = h.deliver(
        7,
        Segment {
            dst_port: s.src_port,
            ..seg(7, 3000, s.seq.0 + 1, SYN | ACK, b"")
        },
    );
    single(&out, ACK);
    assert_eq!(h.state(id), Some(State::Established));
    // Without an IPv6 address there is no route to an IPv6 remote.
    let mut v4_only = Harness::new();
    let r = v4_only
        .ep
        .with_service(v4_only.now, &mut tx, |_, cx| cx.connect(remote, ()));
    assert_eq!(r, Err(OpenError::NoRoute));
}

#[test]
fn hop_limit_0_is_a_counted_drop_and_hop_limit_1_is_served() {
    // RFC 8200 section 3: no node forwards a packet at hop limit 0, so one arriving so came
    // from a sender that crafted it (Linux's ip6_rcv_core would deliver it; we do not). The
    // hop limit is outside the TCP pseudo-header, so the checksum still holds.
    let mut h = harness6(Recorder::default());
    let mut f = frame6(syn(1000, 7000));
    f[14 + 7] = 0;
    assert!(h.deliver_frame(&f).is_empty(), "no answer at hop limit 0");
    assert_eq!(h.drops(DropReason::Ipv6HopLimitZero), 1);
    f[14 + 7] = 1;
    single(&h.deliver_frame(&f), SYN | ACK);
}

#[test]
fn a_syn_behind_extension_headers_is_accepted() {
    let mut h = harness6(Recorder::default());
    let f = with_ext(
        &frame6(syn(1000, 7000)),
        next_header::HOP_BY_HOP,
        &[
            [next_header::DESTINATION, 0, 1, 4, 0, 0, 0, 0],
            [next_header::TCP, 0, 1, 4, 0, 0, 0, 0],
        ],
    );
    let sa = single(&h.deliver_frame(&f), SYN | ACK);
    assert_eq!(sa.ack, SeqNum(7001));
}

#[test]
fn malformed_v6_frames_are_counted_and_leave_a_running_v6_connection_untouched() {
    let mut h = harness6(Recorder::default());
    let (iss, id) = h.accept(1000, 7000);
    let data = |payload| frame6(seg(1000, 7001, iss.0 + 1, ACK, payload));
    let mut bad_len = data(b"evil");
    bad_len[18..20].copy_from_slice(&200u16.to_be_bytes());
    let truncated_ext = with_ext(
        &data(b"evil"),
        next_header::ROUTING,
        &[[next_header::TCP, 9, 0, 0, 0, 0, 0, 0]],
    );
    let mut mapped = data(b"evil");
    mapped[22..38].copy_from_slice(PEER.octets());
    let mut bad_sum = data(b"evil");
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 0x55;
    let fragment = with_ext(
        &data(b"evil"),
        next_header::FRAGMENT,
        &[[next_header::TCP, 0, 0, 0, 0, 0, 0, 1]],
    );
    for f in [&bad_len, &truncated_ext, &mapped, &bad_sum, &fragment] {
        assert!(h.deliver_frame(f).is_empty(), "a drop is never answered");
    }
    for r in [
        DropReason::TruncatedIpv6,
        DropReason::BadIpv6ExtensionHeader,
        DropReason::V4MappedOnV6,
        DropReason::BadTcpChecksum,
        DropReason::Ipv6Fragment,
    ] {
        assert_eq!(h.drops(r), 1, "{}", r.name());
    }
    // The connection saw none of it: the next in-order byte is still 7001.
    assert_eq!(h.state(id), Some(State::Established));
    h.deliver_frame(&data(b"good"));
    let out = h.advance(Duration::from_millis(300));
    assert!(out.iter().any(|s| s.ack == SeqNum(7005)), "{out:?}");
}
