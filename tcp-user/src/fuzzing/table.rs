//! The endpoint target: the real [`Endpoint`] (listener rules, SYN cookies, TIME_WAIT reuse,
//! the table, timers, back-pressure, active open) driven by frames from eight peers (four
//! over IPv4, four over IPv6, to a server holding one address of each family), time, and
//! service calls, all chosen by the input. Peers either send raw header values or play
//! along (acknowledging what the endpoint sent them), so the search reaches deep states.
//!
//! Invariants checked after every step: the table's books balance (slots, half-open and
//! TIME_WAIT counts match the connections' states, every id is indexed under its own tuple,
//! no closed connection stays); after timers ran, no connection is still due (it would
//! never be called again); a closed connection stays only while the service has data of
//! it to read; every frame sent parses, comes from our address of its family and goes to
//! a peer; no RST answers a RST; a connection reached after its final event is closed or in
//! TIME_WAIT.

use std::net::SocketAddr;

use super::*;
use crate::endpoint::{ClientSetup, Endpoint, EndpointConfig, VecTx};
use crate::rss::PortChooser;
use crate::service::{ConnId, Cx, Service};

const SERVER: u32 = 0x0a09_0002;
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const PEER_BASE: u32 = 0x0a09_0010;
/// 2001:db8::2, the server's IPv6 address; peers are 2001:db8::14 .. ::17.
const SERVER_V6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// Peer `i`'s address: 0..4 are IPv4, 4..8 IPv6.
fn peer_addr(i: usize) -> Addr {
    if i < 4 {
        Addr::v4(PEER_BASE + i as u32)
    } else {
        let mut a = SERVER_V6;
        a[15] = 0x10 + i as u8;
        Addr::v6(a)
    }
}

/// The server's address of `peer`'s family.
fn server_addr(peer: Addr) -> Addr {
    match peer.family() {
        Family::V4 => Addr::v4(SERVER),
        Family::V6 => Addr::v6(SERVER_V6),
    }
}
const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x10]);
const LISTEN: u16 = 80;
const CLIENT_PORTS: (u16, u16) = (50_000, 50_003);

/// A service whose every call comes from the fuzz input.
#[derive(Default)]
struct Scripted {
    /// Connections the service heard of, in order (may be stale).
    ids: Vec<ConnId>,
    /// Ids whose last event was final: if still reachable, they are closed or in TIME_WAIT.
    gone: Vec<ConnId>,
}

impl Service for Scripted {
    type Data = u32;

    fn on_event(&mut self, cx: &mut Cx<'_, u32>, id: ConnId, event: Event) {
        if !self.ids.contains(&id) {
            self.ids.push(id);
        }
        if matches!(event, Event::Closed | Event::Reset | Event::TimedOut) {
            self.gone.push(id);
        }
        // Read half of what is there: back-pressure paths stay reachable.
        if let Some(mut conn) = cx.conn(id) {
            let n = conn.readable() / 2;
            conn.consume(n);
        }
    }
}

/// What a playing-along peer knows of its connection to the endpoint.
#[derive(Clone, Copy, Default)]
struct PeerView {
    /// Next sequence number the peer sends.
    next: u32,
    /// Highest sequence number (plus length) the endpoint sent it.
    acked: u32,
    local_port: u16,
}

pub fn fuzz_table(data: &[u8]) {
    let mut input = Input::new(data);
    let tcp = config_from(&mut input);
    let shape = input.u8();
    let addrs = [Addr::v4(SERVER), Addr::v6(SERVER_V6)];
    let mut cfg = EndpointConfig::with_addrs(&addrs, SERVER_MAC, &[LISTEN]);
    cfg.tcp = tcp;
    cfg.max_connections = usize::from(shape % 8) + 1;
    cfg.max_time_wait = usize::from((shape >> 3) % 4);
    cfg.max_half_open = usize::from((shape >> 5) % 4);
    cfg.syn_cookies = input.bit();
    // Small budgets, so the pressure states and refusals are reached.
    cfg.max_memory = match input.u8() {
        0 => usize::MAX,
        n => (16 << 10) + usize::from(n) * (4 << 10),
    };
    cfg.client = Some(ClientSetup {
        ports: PortChooser::fallback(CLIENT_PORTS.0, CLIENT_PORTS.1),
        next_hops: Vec::new(),
        default_next_hop: Some(PEER_MAC),
    });
    let max = cfg.max_connections;
    let mut ep = Endpoint::new(cfg, Scripted::default());
    let mut now = Instant::from_millis(1_000_000);
    let mut peers = [PeerView::default(); 8];
    let mut tx = VecTx::new(usize::from(input.u8() % 16) + 1);
    while !input.is_empty() {
        let op = input.u8();
        match op >> 5 {
            0..=2 => {
                let frame = peer_frame(&mut input, &mut peers, op);
                ep.handle(now, &frame, &mut tx);
            }
            3 => {
                now = now + Duration::from_millis(u64::from(input.u16()) * 4);
                ep.handle_timeout(now, &mut tx);
                check_timers(&ep, now);
            }
            4 => service_call(&mut ep, now, &mut input, &mut tx),
            5 => {
                let i = usize::from(op % 8);
                let remote = SocketAddr::new(peer_addr(i).to_ip(), 7);
                let r = ep.with_service(now, &mut tx, |_, cx| cx.connect(remote, 0));
                if r.is_ok() {
                    peers[i].next = input.u32();
                }
            }
            6 => ep.set_accepting(op & 1 == 0),
            _ => {
                // The ring drains: frames are free again, blocked connections go on.
                check_sent(&tx.take(), &mut peers);
                ep.retry_blocked(now, &mut tx);
            }
        }
        let sent = tx.take();
        check_sent(&sent, &mut peers);
        check_books(&ep, max);
    }
}

/// A frame from peer `op % 8`: raw values, or (bit 3 of `op`) values that play along.
fn peer_frame(input: &mut Input, peers: &mut [PeerView; 8], op: u8) -> Vec<u8> {
    let i = usize::from(op % 8);
    let play = op & 8 != 0;
    let flags = TcpFlags(input.u8());
    let to_listener = input.bit();
    let (mut seq, mut ack) = (SeqNum(input.u32()), SeqNum(input.u32()));
    let dst_port = if to_listener || peers[i].local_port == 0 {
        LISTEN
    } else {
        peers[i].local_port
    };
    if play {
        seq = SeqNum(peers[i].next);
        ack = SeqNum(peers[i].acked);
    }
    let len = usize::from(input.u16() % 3000) * usize::from(input.bit());
    let payload: Vec<u8> = (0..len as u32)
        .map(|k| peer_byte(seq.0.wrapping_add(k)))
        .collect();
    let options = if input.bit() {
        TcpOptions {
            mss: Some(input.u16()),
            window_scale: input.bit().then(|| input.u8() % 16),
            sack_permitted: input.bit(),
            timestamps: input.bit().then(|| Timestamps {
                value: input.u32(),
                echo: input.u32(),
            }),
            ..TcpOptions::default()
        }
    } else {
        TcpOptions::default()
    };
    let seg = Segment {
        src_port: 40_000 + i as u16,
        dst_port,
        seq,
        ack,
        flags,
        window: input.u16(),
        options,
        payload: &payload,
        ..Segment::default()
    };
    if play {
        peers[i].next = seq.0.wrapping_add(seg.seq_len() as u32);
    }
    let hdr = FrameHeader {
        src_mac: PEER_MAC,
        dst_mac: SERVER_MAC,
        src_addr: peer_addr(i),
        dst_addr: server_addr(peer_addr(i)),
        ttl: 64,
        ip_id: 0,
        flow_label: 0x12345,
    };
    let mut buf = vec![0u8; MAX_FRAME];
    let n = emit_frame(&mut buf, &hdr, &seg).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// A service call on one of the connections it heard of (possibly a stale one).
fn service_call(ep: &mut Endpoint<Scripted>, now: Instant, input: &mut Input, tx: &mut VecTx) {
    let pick = usize::from(input.u8());
    let what = input.u8();
    let n = usize::from(input.u16());
    let ids = ep.service().ids.clone();
    let Some(&id) = ids.get(pick % ids.len().max(1)) else {
        return;
    };
    let gone = ep.service().gone.contains(&id);
    ep.with_service(now, tx, |_, cx| {
        let Some(mut conn) = cx.conn(id) else {
            return;
        };
        // After its final event a connection may still be there only as TIME_WAIT, or
        // CLOSED (kept for unread data, or holding a RST that waits for a TX frame).
        assert!(
            !gone || matches!(conn.state(), State::Closed | State::TimeWait),
            "connection {id} in {:?} after its final event",
            conn.state()
        );
        match what % 8 {
            0 => {
                let data: Vec<u8> = (0..n as u32).map(app_byte).collect();
                conn.write(&data);
            }
            1 => {
                let k = n.min(conn.readable());
                conn.consume(k);
            }
            2 => conn.shutdown(),
            3 => conn.close(),
            4 => conn.abort(),
            5 => conn.set_timer(now + Duration::from_millis(n as u64)),
            6 => {
                let _ = conn.info();
                let _ = conn.echo();
            }
            _ => conn.clear_timer(),
        }
    });
}

/// Every frame parses, is ours, goes to a peer; no RST answers a RST. Playing-along peers
/// learn what was sent to them.
fn check_sent(frames: &[Vec<u8>], peers: &mut [PeerView; 8]) {
    for f in frames {
        let p = parse_frame(f).expect("the endpoint sent a frame that does not parse");
        let i = (0..8)
            .find(|&i| peer_addr(i) == p.dst_addr)
            .unwrap_or_else(|| panic!("a frame to a non-peer {}", p.dst_addr));
        assert_eq!(
            p.src_addr,
            server_addr(p.dst_addr),
            "a frame from another address"
        );
        let s = &p.segment;
        let end = s.seq.0.wrapping_add(s.seq_len() as u32);
        if s.flags.syn() && !s.flags.ack() {
            // Our active open: the peer will answer it.
            peers[i].local_port = s.src_port;
        }
        if s.flags.syn() && s.flags.ack() {
            peers[i].acked = s.seq.0.wrapping_add(1);
        } else if dist(SeqNum(end), SeqNum(peers[i].acked)) > 0 {
            peers[i].acked = end;
        }
    }
}

/// After `handle_timeout(now)`, nothing is still due.
fn check_timers(ep: &Endpoint<Scripted>, now: Instant) {
    for (id, e) in ep.shard().table.iter() {
        if let Some(t) = e.conn.poll_timeout() {
            assert!(
                t > now,
                "connection {id} lost its timer: due {t:?}, now {now:?}"
            );
        }
    }
}

/// The table's books balance.
fn check_books(ep: &Endpoint<Scripted>, max: usize) {
    let table = &ep.shard().table;
    assert_eq!(table.len() + table.available(), max, "slots leaked");
    let (mut half_open, mut time_wait) = (0, 0);
    for (id, e) in table.iter() {
        // A connection that ended gracefully stays, closed, while its data is unread.
        assert!(
            !e.conn.is_closed() || (e.conn.keeps_unread_data() && !e.discard),
            "a closed connection stayed in the table"
        );
        assert_eq!(
            table.lookup(&e.conn.tuple()),
            Some(id),
            "indexed under another tuple"
        );
        half_open += usize::from(e.conn.state() == State::SynReceived);
        time_wait += usize::from(e.conn.state() == State::TimeWait);
    }
    // Simultaneous open enters SYN_RCVD from SYN_SENT without being counted half-open.
    assert!(
        table.half_open_count() <= half_open,
        "half-open count {} but {half_open} in SYN_RCVD",
        table.half_open_count()
    );
    assert_eq!(table.time_wait_count(), time_wait, "TIME_WAIT count");
}
