//! Every [`DropReason`] is reachable: each one produced through [`Endpoint::handle`] with a
//! frame or a scenario of its own, and counted exactly where the operator looks. A reason
//! added without a case here fails the test.

use super::*;
use crate::tcp::Timestamps;

/// RFC 1071 over `data`, for re-checksumming edited frames.
fn sum16(data: &[u8], initial: u32) -> u16 {
    let mut sum = initial;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Recomputes the IPv4 header checksum of an edited frame.
fn fix_ip(f: &mut [u8]) {
    let ihl = usize::from(f[14] & 0x0f) * 4;
    f[24..26].fill(0);
    let s = sum16(&f[14..14 + ihl], 0);
    f[24..26].copy_from_slice(&s.to_be_bytes());
}

/// Recomputes the TCP checksum of an edited frame (20-byte IPv4 header).
fn fix_tcp(f: &mut [u8]) {
    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
    let tcp_len = total - 20;
    f[50..52].fill(0);
    let pseudo: u32 = [26usize, 28, 30, 32]
        .iter()
        .map(|&i| u32::from(u16::from_be_bytes([f[i], f[i + 1]])))
        .sum::<u32>()
        + 6
        + tcp_len as u32;
    let s = sum16(&f[34..34 + tcp_len], pseudo);
    f[50..52].copy_from_slice(&s.to_be_bytes());
}

fn ack_to(port: u16) -> Vec<u8> {
    peer_frame(PEER, port, seg(port, 7000, 1, ACK, b"payload!"))
}

/// The harness with one established connection from remote port 2000, and its sequence
/// state: (our ISS, the id, the peer's next sequence number).
fn with_connection(cfg: EndpointConfig) -> (Harness, SeqNum, ConnId) {
    let mut h = Harness::with(cfg, Recorder::default());
    let (iss, id) = h.accept(2000, 50_000);
    (h, iss, id)
}

#[test]
fn every_drop_reason_is_produced_and_counted() {
    let mut produced: Vec<DropReason> = Vec::new();
    let check = |h: &Harness, r: DropReason, produced: &mut Vec<DropReason>| {
        assert!(h.drops(r) > 0, "{} was not counted", r.name());
        produced.push(r);
    };

    // --- the frame parser --------------------------------------------------------------
    let mut h = Harness::new();
    h.deliver_frame(&[0u8; 10]);
    check(&h, DropReason::TruncatedEthernet, &mut produced);

    let mut f = ack_to(PORT);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes()); // ARP
    h.deliver_frame(&f);
    check(&h, DropReason::NotIpv4, &mut produced);

    let f = ack_to(PORT);
    h.deliver_frame(&f[..14 + 10]);
    check(&h, DropReason::TruncatedIpv4, &mut produced);

    let mut f = ack_to(PORT);
    f[14] = 0x44; // IHL 4
    h.deliver_frame(&f);
    check(&h, DropReason::BadIpv4HeaderLength, &mut produced);

    let mut f = ack_to(PORT);
    f[14] = 0x65; // version 6
    h.deliver_frame(&f);
    check(&h, DropReason::BadIpVersion, &mut produced);

    let mut f = ack_to(PORT);
    f[24] ^= 0xff;
    h.deliver_frame(&f);
    check(&h, DropReason::BadIpv4Checksum, &mut produced);

    let mut f = ack_to(PORT);
    f[20] = 0x20; // MF, offset 0
    fix_ip(&mut f);
    h.deliver_frame(&f);
    check(&h, DropReason::Ipv4Fragment, &mut produced);

    let mut f = ack_to(PORT);
    f[23] = 17; // UDP
    fix_ip(&mut f);
    h.deliver_frame(&f);
    check(&h, DropReason::NotTcp, &mut produced);

    let mut f = ack_to(PORT);
    f.truncate(14 + 20 + 10);
    f[16..18].copy_from_slice(&30u16.to_be_bytes());
    fix_ip(&mut f);
    h.deliver_frame(&f);
    check(&h, DropReason::TruncatedTcp, &mut produced);

    let mut f = ack_to(PORT);
    f[46] = 0x40; // data offset 4
    fix_tcp(&mut f);
    h.deliver_frame(&f);
    check(&h, DropReason::BadTcpDataOffset, &mut produced);

    let mut f = ack_to(PORT);
    f[50] ^= 0xff;
    h.deliver_frame(&f);
    check(&h, DropReason::BadTcpChecksum, &mut produced);

    let mut f = peer_frame(PEER, 1000, syn(1000, 7000)); // MSS option at 54..58
    f[55] = 0; // option length 0
    fix_tcp(&mut f);
    h.deliver_frame(&f);
    check(&h, DropReason::BadTcpOption, &mut produced);

    let mut f = ack_to(PORT);
    f[30..34].copy_from_slice(&[255, 255, 255, 255]); // to broadcast
    fix_ip(&mut f);
    fix_tcp(&mut f);
    h.deliver_frame(&f);
    check(&h, DropReason::BadAddress, &mut produced);

    let mut f = ack_to(PORT);
    f[30..34].copy_from_slice(&(SERVER.to_v4().unwrap() + 5).to_be_bytes());
    fix_ip(&mut f);
    fix_tcp(&mut f);
    h.deliver_frame(&f);
    check(&h, DropReason::NotServed, &mut produced);

    // --- IPv6 ---------------------------------------------------------------------------
    use super::ipv6::{frame6, with_ext};
    use crate::wire::ipv6::next_header;
    let mut f = frame6(seg(PORT, 7000, 1, ACK, b"payload!"));
    f[18..20].copy_from_slice(&100u16.to_be_bytes()); // payload length past the frame
    h.deliver_frame(&f);
    check(&h, DropReason::TruncatedIpv6, &mut produced);

    let f = frame6(seg(PORT, 7000, 1, ACK, b""));
    // A destination options header claiming 40 bytes where 8 follow.
    let f = with_ext(&f, next_header::DESTINATION, &[[6, 4, 1, 4, 0, 0, 0, 0]]);
    h.deliver_frame(&f);
    check(&h, DropReason::BadIpv6ExtensionHeader, &mut produced);

    let f = frame6(seg(PORT, 7000, 1, ACK, b""));
    let nine = [[next_header::DESTINATION, 0, 1, 4, 0, 0, 0, 0]; 9];
    let f = with_ext(&f, next_header::DESTINATION, &nine);
    h.deliver_frame(&f);
    check(&h, DropReason::TooManyIpv6ExtensionHeaders, &mut produced);

    let f = frame6(seg(PORT, 7000, 1, ACK, b""));
    let f = with_ext(&f, next_header::FRAGMENT, &[[6, 0, 0, 0, 0, 0, 0, 1]]);
    h.deliver_frame(&f);
    check(&h, DropReason::Ipv6Fragment, &mut produced);

    let mut f = frame6(seg(PORT, 7000, 1, ACK, b""));
    // Source ::ffff:10.0.0.2: PEER's IPv4 address posing over IPv6.
    f[22..38].copy_from_slice(PEER.octets());
    h.deliver_frame(&f);
    check(&h, DropReason::V4MappedOnV6, &mut produced);

    let mut f = frame6(seg(PORT, 7000, 1, ACK, b""));
    f[14 + 7] = 0; // hop limit
    h.deliver_frame(&f);
    check(&h, DropReason::Ipv6HopLimitZero, &mut produced);

    // --- segments for no connection ----------------------------------------------------
    h.deliver(1000, seg(1000, 7000, 0, SYN | FIN, b""));
    check(&h, DropReason::BadFlags, &mut produced);
    h.deliver(1000, seg(1000, 7000, 0, RST, b""));
    check(&h, DropReason::NoConnectionRst, &mut produced);

    let mut cfg = config();
    cfg.max_connections = 0;
    let mut full = Harness::with(cfg, Recorder::default());
    full.deliver(1000, syn(1000, 7000));
    check(&full, DropReason::TableFull, &mut produced);

    let mut cfg = config();
    cfg.max_half_open = 0;
    cfg.syn_cookies = false;
    let mut no_cookies = Harness::with(cfg, Recorder::default());
    no_cookies.deliver(1000, syn(1000, 7000));
    check(&no_cookies, DropReason::SynQueueFull, &mut produced);

    let mut cfg = config();
    cfg.max_half_open = 0;
    let mut cookies = Harness::with(cfg, Recorder::default());
    let cookie = single(&cookies.deliver(1000, syn(1000, 7000)), SYN | ACK);
    cookies.deliver(1000, seg(1000, 7001, cookie.seq.0 + 9, ACK, b""));
    check(&cookies, DropReason::BadCookie, &mut produced);

    // No TX frame for the RST a closed port owes.
    let mut tx = VecTx::new(0);
    let f = peer_frame(
        PEER,
        1000,
        Segment {
            dst_port: 81,
            ..syn(1000, 7000)
        },
    );
    h.ep.handle(h.now, &f, &mut tx);
    check(&h, DropReason::TxRingFull, &mut produced);

    // --- segments of a connection ------------------------------------------------------
    let (mut c, iss, _) = with_connection(config());
    let ack = iss.0 + 1;
    c.deliver(2000, seg(2000, 50_001 + 5_000_000, ack, ACK, b"far away"));
    check(&c, DropReason::OutOfWindow, &mut produced);
    c.deliver(2000, seg(2000, 50_001, ack + 100_000, ACK, b""));
    check(&c, DropReason::BadAck, &mut produced);
    c.deliver(2000, seg(2000, 50_001 + 100, ack, RST, b""));
    check(&c, DropReason::BadRst, &mut produced);
    c.deliver(2000, seg(2000, 50_001, ack, SYN, b""));
    check(&c, DropReason::UnexpectedSyn, &mut produced);
    c.deliver(2000, seg(2000, 50_001, ack, TcpFlags::PSH, b"no ack"));
    check(&c, DropReason::MissingAck, &mut produced);
    // Challenge ACKs are limited to 10 a second: the next ones are rate-limited.
    for k in 0..20 {
        c.deliver(2000, seg(2000, 50_001 + 1 + k, ack, RST, b""));
    }
    check(&c, DropReason::RateLimited, &mut produced);
    // 33 disjoint out-of-order pieces: one more range than reassembly keeps.
    for k in 0..33u32 {
        c.deliver(2000, seg(2000, 50_001 + 10 + 4 * k, ack, ACK, b"x"));
    }
    check(&c, DropReason::ReassemblyFull, &mut produced);
    // A FIN beyond a hole, then data after it.
    let (mut d, iss, _) = with_connection(config());
    let ack = iss.0 + 1;
    d.deliver(2000, seg(2000, 50_001 + 10, ack, ACK | FIN, b"end"));
    d.deliver(2000, seg(2000, 50_001 + 14, ack, ACK, b"after"));
    check(&d, DropReason::DataBeyondFin, &mut produced);
    // PAWS: timestamps negotiated, then an older TSval.
    let mut p = Harness::new();
    let ts = |value| TcpOptions {
        timestamps: Some(Timestamps { value, echo: 0 }),
        ..TcpOptions::default()
    };
    let out = p.deliver(
        3000,
        Segment {
            options: TcpOptions {
                mss: Some(1460),
                ..ts(1000)
            },
            ..seg(3000, 60_000, 0, SYN, b"")
        },
    );
    let sa = single(&out, SYN | ACK);
    p.deliver(
        3000,
        Segment {
            options: ts(1001),
            ..seg(3000, 60_001, sa.seq.0 + 1, ACK, b"")
        },
    );
    p.deliver(
        3000,
        Segment {
            options: ts(900),
            ..seg(3000, 60_001, sa.seq.0 + 1, ACK, b"old")
        },
    );
    check(&p, DropReason::PawsRejected, &mut produced);
    // SYN-SENT: neither SYN nor RST.
    let mut a = Harness::new();
    let mut tx = VecTx::default();
    let remote = SocketAddr::new(PEER.to_ip(), 7);
    a.ep.with_service(a.now, &mut tx, |_, cx| cx.connect(remote, ()))
        .unwrap();
    let s = decode(tx.take()).remove(0);
    a.deliver(
        7,
        Segment {
            dst_port: s.src_port,
            ..seg(7, 3000, s.seq.0 + 1, ACK, b"")
        },
    );
    check(&a, DropReason::MissingSyn, &mut produced);
    // A connection aborted while no TX frame was free holds its RST, CLOSED: a segment for
    // it meets a closed connection.
    let (mut z, iss, id2) = with_connection(config());
    let mut none = VecTx::new(0);
    z.ep.with_service(z.now, &mut none, |_, cx| cx.conn(id2).unwrap().abort());
    z.deliver(2000, seg(2000, 50_001, iss.0 + 1, ACK, b"late"));
    check(&z, DropReason::ClosedConnection, &mut produced);
    // Memory, last: the budget is the thread's, shared by every harness here. With it used
    // up, out-of-order data needing a buffer is dropped and a SYN is refused.
    let (mut m, iss, _) = with_connection(config());
    crate::tcp::buffer_pool::set_limits(0, 0);
    m.deliver(2000, seg(2000, 50_001 + 100, iss.0 + 1, ACK, b"later"));
    check(&m, DropReason::NoBufferMemory, &mut produced);
    m.deliver(1000, syn(1000, 7000));
    check(&m, DropReason::MemoryFull, &mut produced);

    for r in DropReason::ALL {
        assert!(
            produced.contains(&r),
            "{} has no case here: every reason must be reachable",
            r.name()
        );
    }
}
