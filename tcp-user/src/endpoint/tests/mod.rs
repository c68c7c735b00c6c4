//! The endpoint's rules, one test each, driven with crafted frames and a fake clock: what a
//! listener answers (RFC 9293 sections 3.10.7.1 and 3.10.7.2), SYN cookies past the
//! half-open bound (RFC 4987), TIME_WAIT reuse and its ISS floor (RFC 6191), the connection
//! limit and memory budget, outbound connections, and transmission back-pressure.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::rss::PortChooser;
use crate::service::{ConnId, Cx, Event, OpenError, Service, Timer};
use crate::tcp::{Segment, SeqNum, TcpFlags, TcpOptions};
use crate::wire::{emit_frame, parse_frame, Addr, FrameHeader};

mod ipv6;
mod reasons;

const SERVER: Addr = Addr::v4(0x0a00_0001);
const PEER: Addr = Addr::v4(0x0a00_0002);
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const PORT: u16 = 80;
const CLIENT_PORTS: (u16, u16) = (40000, 40003);
const T0: Instant = Instant::from_millis(5_000);

const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;
const FIN: TcpFlags = TcpFlags::FIN;
const RST: TcpFlags = TcpFlags::RST;

/// A segment the endpoint sent, copied out of its frame.
#[derive(Clone, Debug)]
struct Sent {
    src_addr: Addr,
    dst_addr: Addr,
    /// TTL or hop limit.
    ttl: u8,
    /// The IPv6 flow label (0 for IPv4).
    flow_label: u32,
    /// The MSS option, if any.
    mss: Option<u16>,
    dst_mac: MacAddr,
    src_port: u16,
    dst_port: u16,
    seq: SeqNum,
    ack: SeqNum,
    flags: TcpFlags,
    payload: Vec<u8>,
}

/// A service that records every event and, when told, answers or closes.
#[derive(Default)]
struct Recorder {
    events: Vec<(ConnId, Event)>,
    timers: Vec<Timer>,
    /// Close every connection as soon as it is established (the server closes first).
    close_on_accept: bool,
    /// Half-close every connection as soon as it is established.
    shutdown_on_accept: bool,
    /// Read nothing (what arrives stays in the receive buffer).
    hold: bool,
    /// Re-arm every service timer at `now` from `on_timer` (a "next turn" idiom).
    rearm: bool,
    /// Write this on every established connection.
    greeting: Vec<u8>,
}

impl Service for Recorder {
    type Data = ();

    fn on_event(&mut self, cx: &mut Cx<'_, ()>, id: ConnId, event: Event) {
        self.events.push((id, event));
        let Some(mut conn) = cx.conn(id) else { return };
        if !self.hold {
            let n = conn.readable();
            conn.consume(n);
        }
        if event == Event::Established {
            conn.write(&self.greeting);
            if self.close_on_accept {
                conn.close();
            }
            if self.shutdown_on_accept {
                conn.shutdown();
            }
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, ()>, timer: Timer) {
        self.timers.push(timer);
        if let (true, Timer::Service(token)) = (self.rearm, timer) {
            cx.set_timer(token, cx.now());
        }
    }
}

struct Harness {
    ep: Endpoint<Recorder>,
    now: Instant,
    /// The peer's address (the source of what [`Harness::deliver`] sends): `PEER`, or an
    /// IPv6 peer in `ipv6.rs`, talking to our address of its family.
    peer: Addr,
}

fn config() -> EndpointConfig {
    let mut cfg = EndpointConfig::new(SERVER, SERVER_MAC, &[PORT]);
    cfg.client = Some(ClientSetup {
        ports: PortChooser::fallback(CLIENT_PORTS.0, CLIENT_PORTS.1),
        next_hops: vec![(PEER, PEER_MAC)],
        default_next_hop: None,
    });
    cfg
}

impl Harness {
    fn new() -> Harness {
        Harness::with(config(), Recorder::default())
    }

    fn with(cfg: EndpointConfig, service: Recorder) -> Harness {
        Harness {
            ep: Endpoint::new(cfg, service),
            now: T0,
            peer: PEER,
        }
    }

    /// Delivers a segment from the peer (remote port `from`) and returns what was sent.
    fn deliver(&mut self, from: u16, seg: Segment<'_>) -> Vec<Sent> {
        let _ = from; // `seg` carries the port; the name says who sends
        let dst = self.ep.config().local_addr_for(self.peer).unwrap_or(SERVER);
        let frame = frame_between(self.peer, dst, seg);
        self.deliver_frame(&frame)
    }

    fn deliver_frame(&mut self, frame: &[u8]) -> Vec<Sent> {
        let mut tx = VecTx::default();
        self.ep.handle(self.now, frame, &mut tx);
        decode(tx.take())
    }

    /// Moves the clock and runs what is due.
    fn advance(&mut self, d: Duration) -> Vec<Sent> {
        self.now = self.now + d;
        let mut tx = VecTx::default();
        self.ep.handle_timeout(self.now, &mut tx);
        decode(tx.take())
    }

    fn drops(&self, reason: DropReason) -> u64 {
        self.ep.stats().drops[reason as usize]
    }

    /// A full passive handshake from remote port `from`; returns (our ISS, the id).
    fn accept(&mut self, from: u16, peer_iss: u32) -> (SeqNum, ConnId) {
        let out = self.deliver(from, syn(from, peer_iss));
        let syn_ack = single(&out, SYN | ACK);
        let out = self.deliver(
            from,
            seg(from, peer_iss + 1, syn_ack.seq.0.wrapping_add(1), ACK, b""),
        );
        assert!(out.iter().all(|s| !s.flags.rst()), "handshake completes");
        let id = self.established_id().expect("an established connection");
        (syn_ack.seq, id)
    }

    fn established_id(&self) -> Option<ConnId> {
        self.ep
            .service()
            .events
            .iter()
            .rev()
            .find(|(_, e)| *e == Event::Established)
            .map(|(id, _)| *id)
    }

    fn state(&self, id: ConnId) -> Option<State> {
        self.ep
            .connection_states()
            .into_iter()
            .find(|(c, _)| *c == id)
            .map(|(_, s)| s)
    }
}

fn seg(from: u16, seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> Segment<'_> {
    Segment {
        src_port: from,
        dst_port: PORT,
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 65535,
        payload,
        ..Default::default()
    }
}

fn syn(from: u16, iss: u32) -> Segment<'static> {
    Segment {
        options: TcpOptions {
            mss: Some(1460),
            ..Default::default()
        },
        ..seg(from, iss, 0, SYN, b"")
    }
}

fn peer_frame(src_addr: Addr, from: u16, seg: Segment<'_>) -> Vec<u8> {
    let _ = from;
    frame_between(src_addr, SERVER, seg)
}

/// A frame from `src_addr` to `dst_addr` (one family) carrying `seg`.
fn frame_between(src_addr: Addr, dst_addr: Addr, seg: Segment<'_>) -> Vec<u8> {
    let hdr = FrameHeader {
        src_mac: PEER_MAC,
        dst_mac: SERVER_MAC,
        src_addr,
        dst_addr,
        ttl: 64,
        ip_id: 0,
        flow_label: 0,
    };
    let mut buf = vec![0u8; 4096];
    let len = emit_frame(&mut buf, &hdr, &seg).expect("the frame fits");
    buf.truncate(len);
    buf
}

fn decode(frames: Vec<Vec<u8>>) -> Vec<Sent> {
    frames
        .iter()
        .map(|f| {
            let p = parse_frame(f).expect("the endpoint emits valid frames");
            let flow_label = match p.src_addr.family() {
                crate::tcp::Family::V4 => 0,
                crate::tcp::Family::V6 => {
                    crate::wire::Ipv6Packet::new_unchecked(&f[14..]).flow_label()
                }
            };
            Sent {
                src_addr: p.src_addr,
                dst_addr: p.dst_addr,
                ttl: p.ttl,
                flow_label,
                mss: p.segment.options.mss,
                dst_mac: p.dst_mac,
                src_port: p.segment.src_port,
                dst_port: p.segment.dst_port,
                seq: p.segment.seq,
                ack: p.segment.ack,
                flags: p.segment.flags,
                payload: p.segment.payload.to_vec(),
            }
        })
        .collect()
}

/// The one segment sent, which must carry exactly `flags`.
fn single(out: &[Sent], flags: TcpFlags) -> Sent {
    assert_eq!(out.len(), 1, "one segment expected, got {out:?}");
    assert_eq!(out[0].flags, flags, "{:?}", out[0]);
    out[0].clone()
}

#[test]
fn a_syn_to_a_listening_port_is_answered_with_a_syn_ack_and_held_half_open() {
    let mut h = Harness::new();
    let out = h.deliver(1000, syn(1000, 7000));
    let sa = single(&out, SYN | ACK);
    assert_eq!(sa.ack, SeqNum(7001));
    assert_eq!(
        (sa.dst_addr, sa.dst_mac, sa.dst_port),
        (PEER, PEER_MAC, 1000)
    );
    assert_eq!(h.ep.connections(), 1);
    assert_eq!(h.ep.connection_states()[0].1, State::SynReceived);
    assert_eq!(h.ep.stats().conns_opened, 1);
}

#[test]
fn the_handshake_completes_and_the_service_hears_established() {
    let mut h = Harness::new();
    let (_, id) = h.accept(1000, 7000);
    assert_eq!(h.state(id), Some(State::Established));
    assert_eq!(h.ep.service().events, vec![(id, Event::Established)]);
}

#[test]
fn a_syn_to_a_port_without_listener_gets_rst_ack_acknowledging_it() {
    // RFC 9293 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    let mut h = Harness::new();
    let out = h.deliver(
        1000,
        Segment {
            dst_port: 81,
            ..syn(1000, 7000)
        },
    );
    let rst = single(&out, RST | ACK);
    assert_eq!(
        (rst.seq, rst.ack, rst.src_port),
        (SeqNum(0), SeqNum(7001), 81)
    );
    assert_eq!(h.ep.connections(), 0);
    assert_eq!(h.ep.stats().rsts_sent, 1);
}

#[test]
fn an_ack_for_no_connection_gets_a_rst_whose_seq_is_its_ack() {
    // RFC 9293 3.10.7.1/3.10.7.2: <SEQ=SEG.ACK><CTL=RST>.
    let mut h = Harness::new();
    let out = h.deliver(1000, seg(1000, 7000, 123_456, ACK, b"data"));
    let rst = single(&out, RST);
    assert_eq!(rst.seq, SeqNum(123_456));
}

#[test]
fn a_rst_for_no_connection_is_never_answered() {
    let mut h = Harness::new();
    let out = h.deliver(1000, seg(1000, 7000, 0, RST, b""));
    assert!(out.is_empty());
    assert_eq!(h.drops(DropReason::NoConnectionRst), 1);
}

#[test]
fn a_syn_to_an_outbound_port_is_refused_as_by_a_closed_port() {
    // Local ports of outbound connections are steered to the endpoint but have no listener.
    let mut h = Harness::new();
    let out = h.deliver(
        1000,
        Segment {
            dst_port: CLIENT_PORTS.0,
            ..syn(1000, 7000)
        },
    );
    single(&out, RST | ACK);
    assert_eq!(h.ep.connections(), 0);
}

#[test]
fn a_frame_for_another_local_address_is_dropped_as_not_served() {
    let mut h = Harness::new();
    let mut frame = peer_frame(PEER, 1000, syn(1000, 7000));
    // Rewrite the destination address and fix the checksums by re-emitting.
    let hdr = FrameHeader {
        src_mac: PEER_MAC,
        dst_mac: SERVER_MAC,
        src_addr: PEER,
        dst_addr: Addr::v4(0x0a00_0008),
        ttl: 64,
        ip_id: 0,
        flow_label: 0,
    };
    let len = emit_frame(&mut frame, &hdr, &syn(1000, 7000)).unwrap();
    frame.truncate(len);
    assert!(h.deliver_frame(&frame).is_empty());
    assert_eq!(h.drops(DropReason::NotServed), 1);
}

#[test]
fn a_frame_with_a_bad_tcp_checksum_is_counted_and_changes_nothing() {
    let mut h = Harness::new();
    let mut frame = peer_frame(PEER, 1000, syn(1000, 7000));
    frame[14 + 20 + 16] ^= 0xff; // the TCP checksum field
    assert!(h.deliver_frame(&frame).is_empty());
    assert_eq!(h.drops(DropReason::BadTcpChecksum), 1);
    assert_eq!(h.ep.connections(), 0);
}

#[test]
fn while_not_accepting_a_syn_gets_rst_and_open_connections_go_on() {
    let mut h = Harness::new();
    let (iss, id) = h.accept(1000, 7000);
    h.ep.set_accepting(false);
    single(&h.deliver(1001, syn(1001, 9000)), RST | ACK);
    let out = h.deliver(1000, seg(1000, 7001, iss.0 + 1, ACK, b"more"));
    assert!(out.iter().all(|s| !s.flags.rst()));
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn syns_beyond_the_half_open_bound_get_cookies_and_keep_no_state() {
    let mut cfg = config();
    cfg.max_half_open = 1;
    let mut h = Harness::with(cfg, Recorder::default());
    single(&h.deliver(1000, syn(1000, 7000)), SYN | ACK);
    let cookie = single(&h.deliver(1001, syn(1001, 8000)), SYN | ACK);
    assert_eq!(cookie.ack, SeqNum(8001));
    assert_eq!(h.ep.connections(), 1, "the cookie SYN-ACK keeps no state");
    assert_eq!(h.ep.stats().syn_cookies_sent, 1);
}

#[test]
fn the_ack_of_a_cookie_opens_an_established_connection() {
    let mut cfg = config();
    cfg.max_half_open = 0;
    let mut h = Harness::with(cfg, Recorder::default());
    let cookie = single(&h.deliver(1001, syn(1001, 8000)), SYN | ACK);
    assert_eq!(h.ep.connections(), 0);
    let out = h.deliver(1001, seg(1001, 8001, cookie.seq.0 + 1, ACK, b"hi"));
    assert!(out.iter().all(|s| !s.flags.rst()), "{out:?}");
    let id = h
        .established_id()
        .expect("the cookie ACK opened the connection");
    assert_eq!(h.state(id), Some(State::Established));
}

#[test]
fn an_ack_with_a_wrong_cookie_is_counted_and_reset() {
    let mut cfg = config();
    cfg.max_half_open = 0;
    let mut h = Harness::with(cfg, Recorder::default());
    let cookie = single(&h.deliver(1001, syn(1001, 8000)), SYN | ACK);
    let out = h.deliver(1001, seg(1001, 8001, cookie.seq.0 + 2, ACK, b""));
    single(&out, RST);
    assert_eq!(h.drops(DropReason::BadCookie), 1);
    assert_eq!(h.ep.connections(), 0);
}

#[test]
fn acks_are_not_checked_as_cookies_when_none_was_sent_lately() {
    // Only after a cookie went out (128 s) is an unmatched ACK hashed as one.
    let mut cfg = config();
    cfg.max_half_open = 0;
    let mut h = Harness::with(cfg, Recorder::default());
    single(&h.deliver(1001, seg(1001, 8001, 5, ACK, b"")), RST);
    assert_eq!(h.drops(DropReason::BadCookie), 0);
    let cookie = single(&h.deliver(1002, syn(1002, 8000)), SYN | ACK);
    h.advance(Duration::from_secs(130));
    single(
        &h.deliver(1002, seg(1002, 8001, cookie.seq.0 + 1, ACK, b"")),
        RST,
    );
    assert_eq!(h.drops(DropReason::BadCookie), 0);
}

#[test]
fn without_cookies_syns_beyond_the_half_open_bound_are_dropped_and_counted() {
    let mut cfg = config();
    cfg.max_half_open = 1;
    cfg.syn_cookies = false;
    let mut h = Harness::with(cfg, Recorder::default());
    single(&h.deliver(1000, syn(1000, 7000)), SYN | ACK);
    assert!(h.deliver(1001, syn(1001, 8000)).is_empty());
    assert_eq!(h.drops(DropReason::SynQueueFull), 1);
}

#[test]
fn a_full_table_refuses_a_syn_with_rst() {
    let mut cfg = config();
    cfg.max_connections = 1;
    let mut h = Harness::with(cfg, Recorder::default());
    h.accept(1000, 7000);
    single(&h.deliver(1001, syn(1001, 8000)), RST | ACK);
    assert_eq!(h.drops(DropReason::TableFull), 1);
    assert_eq!(h.ep.connections(), 1);
}

#[test]
fn at_the_memory_budgets_hard_limit_a_syn_is_refused_with_rst_until_memory_goes_back() {
    use crate::tcp::buffer_pool::{self, Pressure};
    let service = Recorder {
        hold: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let (iss, id) = h.accept(1000, 7000);
    // Limits just above what the table holds now: the first buffer of data passes both.
    let used = buffer_pool::in_use() + buffer_pool::charged();
    buffer_pool::set_limits(used + 1024, used + 2048);
    assert_eq!(buffer_pool::pressure(), Pressure::Normal);
    h.deliver(1000, seg(1000, 7001, iss.0 + 1, ACK, &[1u8; 1000]));
    assert_eq!(buffer_pool::pressure(), Pressure::Hard);
    single(&h.deliver(1001, syn(1001, 8000)), RST | ACK);
    assert_eq!(h.drops(DropReason::MemoryFull), 1);
    h.ep.refresh_gauges();
    assert_eq!(h.ep.stats().memory_pressure, Pressure::Hard as u64);
    // The service reads: under pressure the idle buffer goes back at once, not after the
    // linger, and the next SYN is taken.
    let mut tx = VecTx::default();
    h.ep.with_service(h.now, &mut tx, |_, cx| {
        let mut c = cx.conn(id).expect("live");
        let n = c.readable();
        c.consume(n);
    });
    assert_eq!(buffer_pool::pressure(), Pressure::Normal);
    single(&h.deliver(1002, syn(1002, 9000)), SYN | ACK);
}

#[test]
fn a_syn_reusing_a_time_wait_tuple_starts_above_the_old_sequence_space() {
    // RFC 9293 3.4.1 / RFC 6191: the new incarnation's ISS must lie above every sequence
    // number the old one used, or its old duplicates could be taken for new data. The old
    // connection sends 200 kB in well under a millisecond, far more than the RFC 6528 clock
    // moves the ISS (250 per ms), so the plain ISS would fall inside the old space.
    let service = Recorder {
        close_on_accept: true,
        greeting: vec![7u8; 200_000],
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let sa = single(&h.deliver(1000, syn(1000, 7000)), SYN | ACK);
    let iss = sa.seq;
    // Acknowledge everything (200 kB and the FIN) as it is sent.
    let mut out = h.deliver(1000, seg(1000, 7001, iss.0 + 1, ACK, b""));
    let id = h.established_id().expect("established");
    let mut acked = iss.0 + 1;
    let mut fin_seen = false;
    for _ in 0..10_000 {
        for s in &out {
            let end = s.seq.0 + s.payload.len() as u32 + u32::from(s.flags.fin());
            if SeqNum(end) > SeqNum(acked) {
                acked = end;
            }
            fin_seen |= s.flags.fin();
        }
        if fin_seen {
            break;
        }
        out = h.deliver(1000, seg(1000, 7001, acked, ACK, b""));
    }
    assert!(fin_seen, "the server sent all its data and its FIN");
    let old_snd_max = acked;
    h.deliver(1000, seg(1000, 7001, acked, ACK | FIN, b""));
    assert_eq!(h.state(id), Some(State::TimeWait));
    assert!(old_snd_max.wrapping_sub(iss.0) > 200_000);
    // A new SYN on the same tuple, with a sequence number beyond the old RCV.NXT.
    h.now = h.now + Duration::from_micros(100);
    let sa = single(&h.deliver(1000, syn(1000, 90_000)), SYN | ACK);
    assert!(
        SeqNum(sa.seq.0) > SeqNum(old_snd_max),
        "new ISS {} must be above the old connection's {old_snd_max}",
        sa.seq.0
    );
    assert_eq!(h.ep.stats().time_wait_reused, 1);
    assert_eq!(h.state(id), None, "the TIME_WAIT connection is gone");
}

#[test]
fn an_old_syn_on_a_time_wait_tuple_does_not_reopen_it() {
    let service = Recorder {
        close_on_accept: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let (iss, id) = h.accept(1000, 7000);
    h.deliver(1000, seg(1000, 7001, iss.0 + 2, ACK | FIN, b""));
    assert_eq!(h.state(id), Some(State::TimeWait));
    // A SYN at or below RCV.NXT is an old duplicate: TIME_WAIT answers it with an ACK.
    let out = h.deliver(1000, syn(1000, 7000));
    assert!(out.iter().all(|s| !s.flags.syn()), "{out:?}");
    assert_eq!(h.state(id), Some(State::TimeWait));
}

#[test]
fn connect_sends_a_syn_from_a_local_port_to_the_next_hop() {
    let mut h = Harness::new();
    let mut tx = VecTx::default();
    let remote = SocketAddr::new(PEER.to_ip(), 7);
    let id =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(remote, ()))
            .unwrap();
    let out = decode(tx.take());
    let s = single(&out, SYN);
    assert_eq!((s.dst_addr, s.dst_mac, s.dst_port), (PEER, PEER_MAC, 7));
    assert!((CLIENT_PORTS.0..=CLIENT_PORTS.1).contains(&s.src_port));
    assert_eq!(h.state(id), Some(State::SynSent));
    // The SYN-ACK completes it.
    let out = h.deliver(
        7,
        Segment {
            dst_port: s.src_port,
            ..seg(7, 3000, s.seq.0 + 1, SYN | ACK, b"")
        },
    );
    single(&out, ACK);
    assert_eq!(h.state(id), Some(State::Established));
    assert_eq!(h.ep.service().events, vec![(id, Event::Established)]);
}

#[test]
fn connect_uses_each_free_local_port_once_then_reports_none_left() {
    let mut h = Harness::new();
    let mut tx = VecTx::default();
    let remote = SocketAddr::new(PEER.to_ip(), 7);
    let mut ports = Vec::new();
    for _ in 0..4 {
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(remote, ()))
            .unwrap();
        ports.push(decode(tx.take())[0].src_port);
    }
    ports.sort_unstable();
    assert_eq!(ports, vec![40000, 40001, 40002, 40003]);
    let err =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(remote, ()));
    assert_eq!(err, Err(OpenError::NoLocalPort));
    // Another remote port has its own 4-tuples.
    let other = SocketAddr::new(PEER.to_ip(), 8);
    assert!(h
        .ep
        .with_service(h.now, &mut tx, |_, cx| cx.connect(other, ()))
        .is_ok());
}

#[test]
fn connect_fails_without_a_route_without_setup_and_at_the_limit() {
    let remote = SocketAddr::new(PEER.to_ip(), 7);
    let unknown = SocketAddr::from(([192, 0, 2, 9], 7));
    let mut tx = VecTx::default();
    let mut h = Harness::new();
    let r =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(unknown, ()));
    assert_eq!(r, Err(OpenError::NoRoute));

    let mut cfg = config();
    cfg.client = None;
    let mut h = Harness::with(cfg, Recorder::default());
    let r =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(remote, ()));
    assert_eq!(r, Err(OpenError::NotConfigured));

    let mut cfg = config();
    cfg.max_connections = 1;
    let mut h = Harness::with(cfg, Recorder::default());
    h.accept(1000, 7000);
    let r =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(remote, ()));
    assert_eq!(r, Err(OpenError::NoRoom));
}

#[test]
fn a_connect_refused_by_rst_reports_reset_with_the_reason() {
    let mut h = Harness::new();
    let mut tx = VecTx::default();
    let remote = SocketAddr::new(PEER.to_ip(), 7);
    let id =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.connect(remote, ()))
            .unwrap();
    let s = decode(tx.take()).remove(0);
    h.deliver(
        7,
        Segment {
            dst_port: s.src_port,
            ..seg(7, 0, s.seq.0 + 1, RST | ACK, b"")
        },
    );
    assert_eq!(h.ep.service().events, vec![(id, Event::Reset)]);
    assert_eq!(h.ep.connections(), 0, "the failed connection is freed");
}

#[test]
fn segments_wait_for_free_frames_instead_of_being_lost() {
    let service = Recorder {
        greeting: vec![1u8; 20_000],
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let out = h.deliver(1000, syn(1000, 7000));
    let sa = single(&out, SYN | ACK);
    // The handshake's last ACK arrives while only one TX frame is free.
    let frame = peer_frame(PEER, 1000, seg(1000, 7001, sa.seq.0 + 1, ACK, b""));
    let mut tx = VecTx::new(1);
    h.ep.handle(h.now, &frame, &mut tx);
    assert_eq!(tx.frames.len(), 1);
    assert_eq!(tx.dropped, 0, "no segment was taken without a frame for it");
    let first = decode(tx.take()).remove(0);
    assert!(h.ep.has_blocked());
    // Once frames are free the rest follows, in order.
    let mut tx = VecTx::default();
    h.ep.retry_blocked(h.now, &mut tx);
    let out = decode(tx.take());
    assert!(!out.is_empty());
    assert_eq!(out[0].seq.0, first.seq.0 + first.payload.len() as u32);
    assert!(!h.ep.has_blocked());
}

#[test]
fn a_connection_timer_fires_once_and_a_stale_id_reaches_nothing() {
    let mut h = Harness::new();
    let (_, id) = h.accept(1000, 7000);
    let mut tx = VecTx::default();
    let at = h.now + Duration::from_millis(50);
    h.ep.with_service(h.now, &mut tx, |_, cx| {
        cx.conn(id).unwrap().set_timer(at);
        cx.set_timer(42, at + Duration::from_millis(1));
    });
    // The timing wheel may name an earlier instant for a deadline far ahead (when it moves
    // it closer); waking then fires nothing, and within a few wake-ups it names `at`.
    let mut wakeups = 0;
    while let Some(t) = h.ep.poll_timeout().filter(|&t| t < at) {
        // (Before the first call the wheel has not seen the clock: `t` may be past.)
        h.advance(t.saturating_since(h.now));
        assert!(h.ep.service().timers.is_empty(), "fired early at {t:?}");
        wakeups += 1;
        assert!(wakeups <= 8, "the wheel does not converge on the deadline");
    }
    assert_eq!(h.ep.poll_timeout(), Some(at));
    h.advance(at.saturating_since(h.now) - Duration::from_micros(1));
    assert!(h.ep.service().timers.is_empty());
    h.advance(Duration::from_millis(5));
    assert_eq!(
        h.ep.service().timers,
        vec![Timer::Conn(id), Timer::Service(42)]
    );
    h.advance(Duration::from_secs(1));
    assert_eq!(h.ep.service().timers.len(), 2, "each fired once");
    // After the connection is gone, its id finds nothing, even once the slot is reused.
    h.ep.abort_all(h.now, &mut tx);
    h.accept(1001, 8000);
    let stale =
        h.ep.with_service(h.now, &mut tx, |_, cx| cx.conn(id).is_none());
    assert!(stale);
}

#[test]
fn abort_all_resets_open_connections_and_keeps_time_wait_quiet() {
    let mut h = Harness::new();
    let (_, open) = h.accept(1000, 7000);
    let mut tx = VecTx::default();
    h.ep.abort_all(h.now, &mut tx);
    let out = decode(tx.take());
    let rst = single(&out, RST);
    assert_eq!(rst.dst_port, 1000);
    assert_eq!(h.state(open), None);
}

/// Reads everything readable on `id` through the service API.
fn read_all(h: &mut Harness, id: ConnId) -> Option<Vec<u8>> {
    let mut tx = VecTx::default();
    h.ep.with_service(h.now, &mut tx, |_, cx| {
        let mut conn = cx.conn(id)?;
        let mut out = vec![0u8; conn.readable()];
        let n = conn.read(&mut out);
        out.truncate(n);
        Some(out)
    })
}

#[test]
fn data_received_before_time_wait_stays_readable_until_the_service_reads_it() {
    let service = Recorder {
        shutdown_on_accept: true,
        hold: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let (iss, id) = h.accept(1000, 7000);
    // Our FIN is out; the peer acknowledges it, sends data and its own FIN: TIME_WAIT.
    h.deliver(1000, seg(1000, 7001, iss.0 + 2, ACK | FIN, b"last words"));
    assert_eq!(h.state(id), Some(State::TimeWait));
    // A new SYN on the tuple does not take over a connection with unread data.
    h.deliver(1000, syn(1000, 90_000));
    assert_eq!(h.state(id), Some(State::TimeWait));
    assert_eq!(read_all(&mut h, id).as_deref(), Some(&b"last words"[..]));
    assert_eq!(
        h.state(id),
        Some(State::TimeWait),
        "and then the buffers go"
    );
}

#[test]
fn a_connection_closed_with_unread_data_is_kept_until_it_is_read() {
    let service = Recorder {
        hold: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let (iss, id) = h.accept(1000, 7000);
    h.deliver(1000, seg(1000, 7001, iss.0 + 1, ACK | FIN, b"unread"));
    assert_eq!(h.state(id), Some(State::CloseWait));
    // The service half-closes without reading; the peer acknowledges our FIN: CLOSED.
    let mut tx = VecTx::default();
    h.ep.with_service(h.now, &mut tx, |_, cx| cx.conn(id).unwrap().shutdown());
    h.deliver(1000, seg(1000, 7008, iss.0 + 2, ACK, b""));
    assert_eq!(h.state(id), Some(State::Closed), "kept: data is unread");
    assert_eq!(read_all(&mut h, id).as_deref(), Some(&b"unread"[..]));
    assert_eq!(h.state(id), None, "freed once read");
}

#[test]
fn an_aborted_connection_is_freed_whatever_it_holds() {
    let service = Recorder {
        hold: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let (iss, id) = h.accept(1000, 7000);
    h.deliver(1000, seg(1000, 7001, iss.0 + 1, ACK, b"unread"));
    let mut tx = VecTx::default();
    h.ep.with_service(h.now, &mut tx, |_, cx| cx.conn(id).unwrap().abort());
    assert_eq!(h.state(id), None);
}

#[test]
fn unread_data_of_a_closed_connection_is_kept_for_2_msl_then_discarded() {
    let service = Recorder {
        hold: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let (iss, id) = h.accept(1000, 7000);
    h.deliver(
        1000,
        seg(1000, 7001, iss.0 + 1, ACK | FIN, b"nobody reads this"),
    );
    let mut tx = VecTx::default();
    h.ep.with_service(h.now, &mut tx, |_, cx| cx.conn(id).unwrap().shutdown());
    h.deliver(1000, seg(1000, 7019, iss.0 + 2, ACK, b""));
    assert_eq!(h.state(id), Some(State::Closed));
    let msl = config().tcp.msl;
    h.advance(2 * msl - Duration::from_millis(1));
    assert_eq!(h.state(id), Some(State::Closed), "kept up to 2*MSL");
    h.advance(Duration::from_millis(2));
    assert_eq!(h.state(id), None, "then discarded and freed");
    assert_eq!(h.ep.connections(), 0);
}

#[test]
fn a_full_time_wait_table_forgets_its_oldest_connection_and_counts_it() {
    let mut cfg = config();
    cfg.max_time_wait = 2;
    let service = Recorder {
        close_on_accept: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(cfg, service);
    let mut ids = Vec::new();
    for k in 0..3u16 {
        let from = 1000 + k;
        let peer_iss = 7000 + 1000 * u32::from(k);
        let (iss, id) = h.accept(from, peer_iss);
        // Our FIN went out at once; the peer acknowledges it and closes: TIME_WAIT.
        h.deliver(from, seg(from, peer_iss + 1, iss.0 + 2, ACK | FIN, b""));
        ids.push(id);
        h.advance(Duration::from_millis(10));
    }
    assert_eq!(h.state(ids[0]), None, "the oldest was forgotten");
    assert_eq!(h.state(ids[1]), Some(State::TimeWait));
    assert_eq!(h.state(ids[2]), Some(State::TimeWait), "the newest is kept");
    h.ep.refresh_gauges();
    assert_eq!(h.ep.stats().time_wait_overflow, 1);
    assert_eq!(h.ep.stats().time_wait, 2);
}

#[test]
fn a_full_time_wait_table_still_keeps_a_connection_with_unread_data() {
    let mut cfg = config();
    cfg.max_time_wait = 0;
    let service = Recorder {
        shutdown_on_accept: true,
        hold: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(cfg, service);
    let (iss, id) = h.accept(1000, 7000);
    h.deliver(1000, seg(1000, 7001, iss.0 + 2, ACK | FIN, b"late reply"));
    assert_eq!(h.state(id), Some(State::TimeWait), "kept despite the bound");
    assert_eq!(read_all(&mut h, id).as_deref(), Some(&b"late reply"[..]));
}

#[test]
fn a_shutdown_while_connecting_sends_the_data_and_the_fin_after_the_handshake() {
    let mut h = Harness::new();
    let mut tx = VecTx::default();
    let remote = SocketAddr::new(PEER.to_ip(), 7);
    let id =
        h.ep.with_service(h.now, &mut tx, |_, cx| {
            let id = cx.connect(remote, ())?;
            let mut conn = cx.conn(id).unwrap();
            assert_eq!(conn.write(b"request"), 7);
            conn.shutdown();
            Ok::<_, OpenError>(id)
        })
        .unwrap();
    let s = single(&decode(tx.take()), SYN);
    assert_eq!(
        h.state(id),
        Some(State::SynSent),
        "still connecting, not deleted"
    );
    let out = h.deliver(
        7,
        Segment {
            dst_port: s.src_port,
            ..seg(7, 3000, s.seq.0 + 1, SYN | ACK, b"")
        },
    );
    let data = out
        .iter()
        .find(|s| !s.payload.is_empty())
        .expect("the request goes out");
    assert_eq!(data.payload, b"request");
    assert!(out.iter().any(|s| s.flags.fin()), "and the FIN: {out:?}");
    assert_eq!(h.state(id), Some(State::FinWait1));
}

#[test]
fn a_service_timer_rearmed_at_now_fires_on_the_next_turn_and_cancel_disarms() {
    let service = Recorder {
        rearm: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    let mut tx = VecTx::default();
    h.ep.with_service(h.now, &mut tx, |_, cx| {
        cx.set_timer(1, cx.now());
        cx.set_timer(2, cx.now() + Duration::from_secs(1));
        cx.set_timer(2, cx.now() + Duration::from_secs(2)); // replaces the first deadline
    });
    h.advance(Duration::ZERO);
    assert_eq!(
        h.ep.service().timers,
        vec![Timer::Service(1)],
        "once per turn"
    );
    h.advance(Duration::ZERO);
    assert_eq!(h.ep.service().timers.len(), 2);
    h.ep.with_service(h.now, &mut tx, |_, cx| cx.cancel_timer(1));
    h.advance(Duration::from_millis(1500));
    assert_eq!(h.ep.service().timers.len(), 2, "1 cancelled, 2 not due yet");
    h.advance(Duration::from_millis(600));
    assert_eq!(h.ep.service().timers.last(), Some(&Timer::Service(2)));
}

/// A server-closed connection in TIME_WAIT on tuple (PEER, 1000), with timestamps: (harness,
/// id, the old ISS).
fn time_wait_with_timestamps(cfg: EndpointConfig) -> (Harness, ConnId) {
    let service = Recorder {
        close_on_accept: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(cfg, service);
    let ts = |value| TcpOptions {
        timestamps: Some(crate::tcp::Timestamps { value, echo: 0 }),
        ..TcpOptions::default()
    };
    let sa = single(
        &h.deliver(
            1000,
            Segment {
                options: TcpOptions {
                    mss: Some(1460),
                    ..ts(5000)
                },
                ..syn(1000, 7000)
            },
        ),
        SYN | ACK,
    );
    h.deliver(
        1000,
        Segment {
            options: ts(5001),
            ..seg(1000, 7001, sa.seq.0 + 1, ACK, b"")
        },
    );
    let id = h.established_id().unwrap();
    h.deliver(
        1000,
        Segment {
            options: ts(5002),
            ..seg(1000, 7001, sa.seq.0 + 2, ACK | FIN, b"")
        },
    );
    assert_eq!(h.state(id), Some(State::TimeWait));
    (h, id)
}

#[test]
fn a_syn_with_an_older_timestamp_never_reopens_time_wait() {
    // RFC 6191 / Linux: PAWS rejects it, even with a sequence number beyond RCV.NXT.
    let (mut h, id) = time_wait_with_timestamps(config());
    let old = Segment {
        options: TcpOptions {
            timestamps: Some(crate::tcp::Timestamps {
                value: 4000,
                echo: 0,
            }),
            ..TcpOptions::default()
        },
        ..syn(1000, 90_000)
    };
    let out = h.deliver(1000, old);
    assert!(out.iter().all(|s| !s.flags.syn()), "{out:?}");
    assert_eq!(h.state(id), Some(State::TimeWait));
}

#[test]
fn time_wait_is_not_given_up_for_a_syn_that_would_get_a_cookie() {
    let mut cfg = config();
    cfg.max_half_open = 0;
    let (mut h, id) = time_wait_with_timestamps(cfg);
    let cookies = h.ep.stats().syn_cookies_sent;
    let newer = Segment {
        options: TcpOptions {
            timestamps: Some(crate::tcp::Timestamps {
                value: 9000,
                echo: 0,
            }),
            ..TcpOptions::default()
        },
        ..syn(1000, 90_000)
    };
    h.deliver(1000, newer);
    assert_eq!(h.state(id), Some(State::TimeWait), "TIME_WAIT answers it");
    assert_eq!(
        h.ep.stats().syn_cookies_sent,
        cookies,
        "no cookie for a reopen"
    );
}

#[test]
fn an_idle_connection_gives_its_buffer_memory_back_after_the_linger() {
    use crate::tcp::buffer_pool;
    let mut h = Harness::new();
    let base = buffer_pool::in_use();
    let (iss, id) = h.accept(1000, 7000);
    assert_eq!(
        buffer_pool::in_use(),
        base,
        "a new connection holds no buffer memory"
    );
    h.deliver(1000, seg(1000, 7001, iss.0 + 1, ACK, b"a request"));
    assert!(
        buffer_pool::in_use() > base,
        "data arrived: a receive buffer was taken"
    );
    // The service read it all: the buffer is idle, and goes back after the linger.
    let linger = config().tcp.buffer_linger;
    h.advance(linger - Duration::from_millis(1));
    assert!(
        buffer_pool::in_use() > base,
        "kept while it may be used again soon"
    );
    h.advance(Duration::from_millis(2));
    assert_eq!(buffer_pool::in_use(), base, "given back");
    assert_eq!(h.state(id), Some(State::Established));
    // More data takes memory again, and is delivered as before.
    h.deliver(1000, seg(1000, 7010, iss.0 + 1, ACK, b"another"));
    assert!(buffer_pool::in_use() > base);
    assert_eq!(
        h.ep.service()
            .events
            .iter()
            .filter(|(_, e)| *e == Event::Readable)
            .count(),
        2
    );
}

#[test]
fn a_listing_shows_each_connection_with_its_queues_timer_and_age() {
    let service = Recorder {
        greeting: vec![9u8; 3000],
        hold: true,
        ..Recorder::default()
    };
    let mut h = Harness::with(config(), service);
    // One half-open connection, one established that wrote 3000 bytes and holds 5 unread.
    h.deliver(2000, syn(2000, 9000));
    let (server_iss, _) = h.accept(1000, 7000);
    h.deliver(1000, seg(1000, 7001, server_iss.0 + 1, ACK, b"hello"));
    h.advance(Duration::from_millis(50));
    let (all, rest) =
        h.ep.connection_infos(h.now, 3, &ConnFilter::default(), 0, 10);
    assert_eq!(rest, None, "the table fits in one piece");
    assert_eq!(all.len(), 2);
    let est = all
        .iter()
        .find(|c| c.remote == "10.0.0.2:1000")
        .expect("listed");
    assert_eq!(est.state, "ESTABLISHED");
    assert_eq!((est.local.as_str(), est.queue), ("10.0.0.1:80", 3));
    assert_eq!(est.recv_q, 5, "the service read nothing");
    assert_eq!(est.bytes_received, 5);
    assert!(est.send_q > 0 && est.send_q <= 3000, "{est:?}");
    assert_eq!(
        est.timer,
        Some(crate::tcp::TimerKind::Retransmit),
        "{est:?}"
    );
    assert!(est.timer_us.is_some_and(|t| t > 0));
    assert!(est.age_us >= 50_000, "{est:?}");
    assert_eq!(est.congestion, "reno");
    let half = all
        .iter()
        .find(|c| c.remote == "10.0.0.2:2000")
        .expect("listed");
    assert_eq!(half.state, "SYN-RECEIVED");
    assert_eq!(half.timer, Some(crate::tcp::TimerKind::Retransmit));
    // Filters: by state, and by either port.
    let only = |states: &[&str], port| ConnFilter {
        states: states.iter().map(|s| s.to_string()).collect(),
        port,
    };
    let list = |f: &ConnFilter| h.ep.connection_infos(h.now, 0, f, 0, 10).0;
    assert_eq!(list(&only(&["SYN-RECEIVED"], None)).len(), 1);
    assert_eq!(list(&only(&[], Some(1000))).len(), 1);
    assert_eq!(list(&only(&[], Some(80))).len(), 2);
    assert!(list(&only(&["TIME-WAIT"], None)).is_empty());
    // A piece at a time: one connection, then the rest from where it stopped.
    let all = ConnFilter::default();
    let (first, next) = h.ep.connection_infos(h.now, 0, &all, 0, 1);
    let (second, end) = h.ep.connection_infos(h.now, 0, &all, next.unwrap(), 1);
    assert_eq!((first.len(), second.len(), end), (1, 1, None));
    assert_ne!(first[0].remote, second[0].remote);
}
