//! Two engines through a simulated network (quinn-proto style): `connect` on the client,
//! `handle_unmatched` + `accept` on the server, a fake clock, a fixed one-way delay and a
//! loss policy chosen by each test. Checks the handshake under loss, bulk data both ways,
//! and the three ways a connection can end.

use super::*;
use crate::tcp::{handle_unmatched, Unmatched};
use crate::wire::Addr;
use std::collections::VecDeque;

const ONE_WAY: Duration = Duration::from_millis(5);
/// Client ISS close to 2^32 so the transfer wraps the sequence space.
const CLIENT_ISS: u32 = u32::MAX - 100_000;
const SERVER_ISS: u32 = 9000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

use Side::{Client, Server};

impl Side {
    fn index(self) -> usize {
        self as usize
    }
    fn other(self) -> Side {
        match self {
            Client => Server,
            Server => Client,
        }
    }
}

fn client_tuple() -> FourTuple {
    FourTuple {
        local_addr: Addr::v4(0x0a00_0002),
        local_port: 40000,
        remote_addr: Addr::v4(0x0a00_0001),
        remote_port: 80,
    }
}

fn server_tuple() -> FourTuple {
    let c = client_tuple();
    FourTuple {
        local_addr: c.remote_addr,
        local_port: c.remote_port,
        remote_addr: c.local_addr,
        remote_port: c.local_port,
    }
}

/// A segment on the wire, owning its payload.
#[derive(Clone, Debug)]
struct Packet {
    header: Segment<'static>,
    payload: Vec<u8>,
}

impl Packet {
    fn from(seg: &Segment) -> Packet {
        Packet {
            header: Segment {
                payload: &[],
                ..*seg
            },
            payload: seg.payload.to_vec(),
        }
    }
    fn segment(&self) -> Segment<'_> {
        Segment {
            payload: &self.payload,
            ..self.header
        }
    }
}

/// Decides whether a segment is lost: who sent it, the segment, and how many segments
/// that side sent before it.
type Loss = Box<dyn FnMut(Side, &Segment, u64) -> bool>;

/// Different bytes in each direction, so crossed streams would show.
fn stream(side: Side, n: usize) -> Vec<u8> {
    let k = 1 + 2 * side.index();
    (0..n)
        .map(|i| ((i * k + side.index()) % 251) as u8)
        .collect()
}

/// One endpoint: its connection (none on the server until a SYN arrives) and its
/// application: data to write, data read, events seen, states passed through.
struct Endpoint {
    conn: Option<Connection>,
    out: Vec<u8>,
    written: usize,
    received: Vec<u8>,
    events: Vec<Event>,
    states: Vec<State>,
    sent: u64,
}

impl Endpoint {
    fn new(conn: Option<Connection>, out: Vec<u8>) -> Endpoint {
        Endpoint {
            conn,
            out,
            written: 0,
            received: Vec::new(),
            events: Vec::new(),
            states: Vec::new(),
            sent: 0,
        }
    }
    fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("a connection")
    }
    fn state(&self) -> State {
        self.conn.as_ref().map_or(State::Listen, |c| c.state())
    }
    /// Records the state if it changed (two segments arriving at once may move it twice).
    fn note_state(&mut self) {
        if let Some(state) = self.conn.as_ref().map(|c| c.state()) {
            if self.states.last() != Some(&state) {
                self.states.push(state);
            }
        }
    }
    fn is_closed(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_closed())
    }
}

struct Sim {
    now: Instant,
    config: Config,
    ends: [Endpoint; 2],
    /// Segments in flight: (arrival, destination, packet), in arrival order (the delay is
    /// fixed).
    wire: VecDeque<(Instant, Side, Packet)>,
    loss: Loss,
    lost: u64,
}

impl Sim {
    /// The client calls `connect` at T0 and each side has `bytes` to send.
    fn new(bytes: usize, loss: Loss) -> Sim {
        Sim::with_config(config(), bytes, loss)
    }

    /// As [`Sim::new`], both sides using `config`.
    fn with_config(config: Config, bytes: usize, loss: Loss) -> Sim {
        let client = Connection::connect(T0, &Arc::new(config), client_tuple(), SeqNum(CLIENT_ISS));
        let mut sim = Sim {
            now: T0,
            config,
            ends: [
                Endpoint::new(Some(client), stream(Client, bytes)),
                Endpoint::new(None, stream(Server, bytes)),
            ],
            wire: VecDeque::new(),
            loss,
            lost: 0,
        };
        sim.pump();
        sim
    }

    fn end(&mut self, side: Side) -> &mut Endpoint {
        &mut self.ends[side.index()]
    }

    /// Runs the applications, then sends everything both connections have to send.
    fn pump(&mut self) {
        for side in [Client, Server] {
            self.run_app(side);
        }
        for side in [Client, Server] {
            let now = self.now;
            let end = &mut self.ends[side.index()];
            let Some(conn) = end.conn.as_mut() else {
                continue;
            };
            while let Some(seg) = conn.poll_transmit(now) {
                let n = end.sent;
                end.sent += 1;
                if (self.loss)(side, &seg, n) {
                    self.lost += 1;
                    continue;
                }
                self.wire
                    .push_back((now + ONE_WAY, side.other(), Packet::from(&seg)));
            }
        }
    }

    /// The application: note events and states, read everything, write what fits.
    fn run_app(&mut self, side: Side) {
        let end = self.end(side);
        let Some(conn) = end.conn.as_mut() else {
            return;
        };
        while let Some(e) = conn.poll_event() {
            end.events.push(e);
        }
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = conn.recv(&mut buf);
            if n == 0 {
                break;
            }
            end.received.extend_from_slice(&buf[..n]);
        }
        if end.written < end.out.len() {
            end.written += conn.send(&end.out[end.written..]);
        }
        end.note_state();
    }

    /// Delivers one packet. A segment for no connection goes through `handle_unmatched`;
    /// the server listens, so a SYN there creates its connection.
    fn deliver(&mut self, to: Side, packet: &Packet) {
        let now = self.now;
        let seg = packet.segment();
        let end = &mut self.ends[to.index()];
        if let Some(conn) = end.conn.as_mut().filter(|c| !c.is_closed()) {
            let _ = conn.handle_segment(now, &seg);
            end.note_state();
            return;
        }
        match handle_unmatched(&seg, to == Server) {
            Unmatched::Accept => {
                let conn = Connection::accept(
                    now,
                    &Arc::new(self.config),
                    server_tuple(),
                    &seg,
                    SeqNum(SERVER_ISS),
                );
                end.conn = Some(conn);
            }
            Unmatched::Reset(rst) => {
                self.wire
                    .push_back((now + ONE_WAY, to.other(), Packet::from(&rst)));
            }
            Unmatched::Drop(_) => {}
        }
    }

    /// Advances to the next arrival or deadline and handles it. False when nothing is left
    /// to happen.
    fn step(&mut self) -> bool {
        let timers = self
            .ends
            .iter()
            .filter_map(|e| e.conn.as_ref().and_then(|c| c.poll_timeout()));
        let arrival = self.wire.front().map(|(t, ..)| *t);
        let Some(next) = timers.chain(arrival).min() else {
            return false;
        };
        self.now = self.now.max(next);
        while self.wire.front().is_some_and(|(t, ..)| *t <= self.now) {
            let Some((_, to, packet)) = self.wire.pop_front() else {
                break;
            };
            self.deliver(to, &packet);
        }
        let now = self.now;
        for end in &mut self.ends {
            if let Some(conn) = end.conn.as_mut() {
                if conn.poll_timeout().is_some_and(|t| t <= now) {
                    conn.handle_timeout(now);
                }
            }
        }
        self.pump();
        true
    }

    /// Steps until `done` holds; panics after `limit` of simulated time.
    fn run_until(&mut self, limit: Duration, what: &str, done: impl Fn(&Sim) -> bool) {
        let deadline = self.now + limit;
        let mut steps = 0;
        while !done(self) {
            steps += 1;
            assert!(steps < 2_000_000, "{what}: no progress");
            assert!(
                self.now <= deadline && self.step(),
                "{what}: not reached by {:?} (client {:?}, server {:?})",
                self.now,
                self.ends[0].state(),
                self.ends[1].state()
            );
        }
    }

    fn established(&mut self) {
        self.run_until(Duration::from_secs(10), "handshake", |s| {
            s.ends.iter().all(|e| e.state() == State::Established)
        });
    }

    fn transferred(&mut self) {
        self.run_until(Duration::from_secs(600), "transfer", |s| {
            s.ends
                .iter()
                .zip(s.ends.iter().rev())
                .all(|(a, b)| a.received.len() == b.out.len())
        });
        for side in [Client, Server] {
            let got = &self.ends[side.index()].received;
            let sent = &self.ends[side.other().index()].out;
            assert!(
                got == sent,
                "{side:?} received the other side's bytes in order"
            );
        }
    }

    fn close(&mut self, side: Side) {
        self.end(side).conn().close();
        self.pump();
    }

    /// Runs until both connections are freed, which takes 2*MSL for the TIME-WAIT side.
    fn finished(&mut self) {
        self.run_until(Duration::from_secs(600), "both closed", |s| {
            s.ends.iter().all(|e| e.is_closed())
        });
        for e in &self.ends {
            assert!(e.events.contains(&Event::Closed), "{:?}", e.events);
            assert!(!e.events.contains(&Event::Reset), "{:?}", e.events);
            assert!(!e.events.contains(&Event::TimedOut), "{:?}", e.events);
        }
    }
}

fn no_loss() -> Loss {
    Box::new(|_, _, _| false)
}

/// Loses the `nth` segment `side` sends.
fn lose_nth(side: Side, nth: u64) -> Loss {
    Box::new(move |s, _, n| s == side && n == nth)
}

fn random_loss(percent: u64, seed: u64) -> Loss {
    let mut rng = Rng(seed);
    Box::new(move |_, _, _| rng.chance(percent))
}

// --- handshake ---

#[test]
fn two_engines_connect_and_accept() {
    let mut sim = Sim::new(0, no_loss());
    sim.established();
    // SYN, SYN-ACK, ACK: one and a half round trips.
    assert_eq!(sim.now, T0 + 3 * ONE_WAY);
    for e in &sim.ends {
        assert_eq!(e.events, vec![Event::Established]);
        assert_eq!(e.conn.as_ref().map(|c| c.srtt()), Some(Some(2 * ONE_WAY)));
    }
}

#[test]
fn lost_first_syn_is_retransmitted_after_1_s() {
    let mut sim = Sim::new(0, lose_nth(Client, 0));
    sim.established();
    assert_eq!(sim.now, T0 + Duration::from_secs(1) + 3 * ONE_WAY);
    assert_eq!(sim.ends[0].conn().stats().retransmissions, 1);
}

#[test]
fn lost_syn_ack_is_recovered_by_retransmission() {
    let mut sim = Sim::new(0, lose_nth(Server, 0));
    sim.established();
    // The client's SYN and the server's SYN-ACK timers both fire 1 s after their first
    // send; whichever repair arrives first completes the handshake.
    assert!(sim.now >= T0 + Duration::from_secs(1));
    assert!(sim.now <= T0 + Duration::from_secs(1) + 4 * ONE_WAY);
    // The server echoes the repeated SYN's TSval (RFC 7323 section 4.3: it updates
    // TS.Recent), so the timestamp sample is exact even though Karn forbids timing the SYN.
    assert_eq!(sim.ends[0].conn().srtt(), Some(2 * ONE_WAY));
}

#[test]
fn lost_final_ack_is_recovered_when_the_syn_ack_repeats() {
    let mut sim = Sim::new(0, lose_nth(Client, 1));
    sim.run_until(Duration::from_millis(100), "client side", |s| {
        s.ends[0].state() == State::Established
    });
    assert_eq!(sim.ends[1].state(), State::SynReceived);
    sim.established();
    // The server repeats its SYN-ACK after 1 s; the client, already established, answers
    // the duplicate with an ACK.
    assert_eq!(sim.now, T0 + ONE_WAY + Duration::from_secs(1) + 2 * ONE_WAY);
}

#[test]
fn lost_final_ack_is_repaired_by_the_clients_first_data() {
    let mut sim = Sim::new(0, lose_nth(Client, 1));
    sim.run_until(Duration::from_millis(100), "client side", |s| {
        s.ends[0].state() == State::Established
    });
    // The client writes only now, after its lost ACK: the data segment carries the ACK.
    sim.end(Client).out = stream(Client, 1000);
    sim.pump();
    sim.transferred();
    assert_eq!(
        sim.ends[1].events,
        vec![Event::Established, Event::Readable]
    );
    assert!(
        sim.now < T0 + Duration::from_millis(100),
        "no timeout needed"
    );
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    // The "server" here has no listener: handle_unmatched(listening = false) answers RST.
    let mut sim = Sim::new(0, no_loss());
    let seg = sim.wire.pop_front().expect("the SYN").2;
    let Unmatched::Reset(rst) = handle_unmatched(&seg.segment(), false) else {
        panic!("closed port answers RST");
    };
    sim.wire
        .push_back((sim.now + 2 * ONE_WAY, Client, Packet::from(&rst)));
    sim.run_until(Duration::from_secs(1), "refused", |s| s.ends[0].is_closed());
    assert_eq!(sim.ends[0].events, vec![Event::Reset]);
    assert_eq!(
        sim.ends[0].conn().connect_error(),
        Some(crate::tcp::ConnectError::Refused)
    );
}

#[test]
fn simultaneous_open_between_two_engines() {
    // RFC 9293 Figure 8: both sides connect; the SYNs cross.
    let mut sim = Sim::new(10_000, no_loss());
    let server = Connection::connect(
        T0,
        &Arc::new(sim.config),
        server_tuple(),
        SeqNum(SERVER_ISS),
    );
    sim.end(Server).conn = Some(server);
    sim.pump();
    sim.established();
    assert_eq!(sim.now, T0 + 2 * ONE_WAY, "SYNs cross, then SYN-ACKs cross");
    for e in &sim.ends {
        assert!(e
            .states
            .starts_with(&[State::SynSent, State::SynReceived, State::Established]));
    }
    sim.transferred();
    sim.close(Client);
    sim.run_until(Duration::from_secs(5), "FIN arrives", |s| {
        s.ends[1].state() == State::CloseWait
    });
    sim.close(Server);
    sim.finished();
}

// --- data and teardown ---

#[test]
fn client_closes_first_client_time_wait_server_closed() {
    let mut sim = Sim::new(64 * 1024, no_loss());
    sim.transferred();
    sim.close(Client);
    sim.run_until(Duration::from_secs(5), "server sees FIN", |s| {
        s.ends[1].state() == State::CloseWait
    });
    sim.close(Server);
    sim.run_until(Duration::from_secs(5), "server closed", |s| {
        s.ends[1].is_closed()
    });
    assert_eq!(sim.ends[0].state(), State::TimeWait);
    let closed_at = sim.now;
    sim.finished();
    assert!(
        sim.now >= closed_at + (Duration::from_secs(2) - 2 * ONE_WAY),
        "2*MSL"
    );
    assert!(sim.ends[1]
        .states
        .ends_with(&[State::CloseWait, State::LastAck, State::Closed]));
    assert!(
        sim.ends[0].states.ends_with(&[
            State::FinWait1,
            State::FinWait2,
            State::TimeWait,
            State::Closed
        ]),
        "{:?}",
        sim.ends[0].states
    );
}

#[test]
fn server_closes_first_server_time_wait_client_closed() {
    let mut sim = Sim::new(64 * 1024, no_loss());
    sim.transferred();
    sim.close(Server);
    sim.run_until(Duration::from_secs(5), "client sees FIN", |s| {
        s.ends[0].state() == State::CloseWait
    });
    sim.close(Client);
    sim.run_until(Duration::from_secs(5), "client closed", |s| {
        s.ends[0].is_closed()
    });
    assert_eq!(sim.ends[1].state(), State::TimeWait);
    sim.finished();
    assert!(sim.ends[0]
        .states
        .ends_with(&[State::CloseWait, State::LastAck, State::Closed]));
    assert!(sim.ends[1].states.contains(&State::TimeWait));
}

#[test]
fn simultaneous_close_both_sides_pass_through_closing_and_time_wait() {
    let mut sim = Sim::new(64 * 1024, no_loss());
    sim.transferred();
    sim.run_until(Duration::from_secs(5), "quiet", |s| s.wire.is_empty());
    sim.end(Client).conn().close();
    sim.end(Server).conn().close();
    sim.pump();
    sim.finished();
    for e in &sim.ends {
        assert!(
            e.states.ends_with(&[
                State::FinWait1,
                State::Closing,
                State::TimeWait,
                State::Closed
            ]),
            "{:?}",
            e.states
        );
    }
}

/// 1 MiB each way with `percent` random loss in both directions (handshake and teardown
/// included), then the given close order.
fn lossy_session(seed: u64, close: &[Side]) -> Sim {
    let mut sim = Sim::new(1 << 20, random_loss(5, seed));
    sim.established();
    sim.transferred();
    match close {
        [first, second] => {
            sim.close(*first);
            let (f, s) = (first.index(), second.index());
            sim.run_until(Duration::from_secs(60), "FIN arrives", |sim| {
                sim.ends[s].state() == State::CloseWait
            });
            sim.close(*second);
            sim.run_until(Duration::from_secs(60), "second side closed", |sim| {
                sim.ends[s].is_closed()
            });
            assert_eq!(
                sim.ends[f].state(),
                State::TimeWait,
                "the first closer waits"
            );
        }
        _ => {
            sim.end(Client).conn().close();
            sim.end(Server).conn().close();
            sim.pump();
        }
    }
    sim.finished();
    assert!(sim.lost > 0);
    sim
}

#[test]
fn one_mib_each_way_through_5_percent_loss_then_client_closes_first() {
    for seed in [1, 2] {
        let sim = lossy_session(seed, &[Client, Server]);
        assert!(sim.ends[0].states.contains(&State::TimeWait));
        assert!(!sim.ends[1].states.contains(&State::TimeWait));
    }
}

#[test]
fn one_mib_each_way_through_5_percent_loss_then_server_closes_first() {
    let sim = lossy_session(3, &[Server, Client]);
    assert!(sim.ends[1].states.contains(&State::TimeWait));
    assert!(!sim.ends[0].states.contains(&State::TimeWait));
}

#[test]
fn one_mib_each_way_through_5_percent_loss_then_simultaneous_close() {
    let sim = lossy_session(4, &[]);
    for e in &sim.ends {
        assert!(e.states.contains(&State::TimeWait), "{:?}", e.states);
    }
}

// --- loss recovery: SACK (RFC 6675) against NewReno (RFC 6582) ---

/// Loss-recovery figures of one bulk run, summed over both directions.
#[derive(Clone, Copy, Debug, Default)]
struct RecoveryFigures {
    timeouts: u64,
    fast_retransmits: u64,
    retransmissions: u64,
    lost: u64,
    /// Payload bytes moved (both directions) per simulated second.
    throughput: f64,
}

/// `bytes` each way through `percent` random loss in both directions, SACK on or off;
/// runs until both sides received everything.
fn bulk_figures(bytes: usize, percent: u64, seed: u64, sack: bool) -> RecoveryFigures {
    bulk_figures_with(Config { sack, ..config() }, bytes, percent, seed)
}

/// As [`bulk_figures`] with both sides using `config`.
fn bulk_figures_with(config: Config, bytes: usize, percent: u64, seed: u64) -> RecoveryFigures {
    let mut sim = Sim::with_config(config, bytes, random_loss(percent, seed));
    sim.established();
    let start = sim.now;
    sim.transferred();
    let secs = (sim.now - start).as_secs_f64();
    let mut f = RecoveryFigures {
        lost: sim.lost,
        throughput: (2 * bytes) as f64 / secs,
        ..RecoveryFigures::default()
    };
    for e in &mut sim.ends {
        let s = *e.conn().stats();
        f.timeouts += s.timeouts;
        f.fast_retransmits += s.fast_retransmits;
        f.retransmissions += s.retransmissions;
    }
    f
}

/// Runs every seed with SACK and without, prints the figures, and checks that SACK
/// recovery needs fewer timeouts than NewReno over the same losses.
fn compare_sack_with_newreno(bytes: usize, percent: u64, seeds: &[u64]) {
    let mut totals = [RecoveryFigures::default(); 2];
    for &seed in seeds {
        let mut timeouts = [0; 2];
        for (i, sack) in [true, false].into_iter().enumerate() {
            let f = bulk_figures(bytes, percent, seed, sack);
            timeouts[i] = f.timeouts;
            println!(
                "{} KiB each way, {percent}% loss, seed {seed}, {}: {} RTOs, {} fast \
                 recoveries, {} retransmissions, {} lost, {:.2} MB/s",
                bytes >> 10,
                if sack { "SACK   " } else { "NewReno" },
                f.timeouts,
                f.fast_retransmits,
                f.retransmissions,
                f.lost,
                f.throughput / 1e6
            );
            let t = &mut totals[i];
            t.timeouts += f.timeouts;
            t.fast_retransmits += f.fast_retransmits;
            t.retransmissions += f.retransmissions;
            t.throughput += f.throughput / seeds.len() as f64;
        }
        assert!(
            timeouts[0] < timeouts[1],
            "seed {seed}: SACK {} RTOs, NewReno {}",
            timeouts[0],
            timeouts[1]
        );
    }
    let [sack, newreno] = totals;
    println!(
        "{} KiB, {percent}%: SACK {} RTOs {:.2} MB/s; NewReno {} RTOs {:.2} MB/s",
        bytes >> 10,
        sack.timeouts,
        sack.throughput / 1e6,
        newreno.timeouts,
        newreno.throughput / 1e6
    );
}

#[test]
fn sack_recovery_against_newreno_1_mib_2_percent_loss() {
    compare_sack_with_newreno(1 << 20, 2, &[1, 2, 3, 4]);
}

#[test]
fn sack_recovery_against_newreno_1_mib_5_percent_loss() {
    compare_sack_with_newreno(1 << 20, 5, &[1, 2, 3, 4]);
}

#[test]
fn sack_recovery_against_newreno_8_mib_2_percent_loss() {
    compare_sack_with_newreno(8 << 20, 2, &[5, 6]);
}

#[test]
fn sack_recovery_against_newreno_8_mib_5_percent_loss() {
    compare_sack_with_newreno(8 << 20, 5, &[5, 6]);
}

// --- congestion control: CUBIC (RFC 9438) against Reno ---

/// 8 MiB each way through 1% random loss with SACK, once per congestion control: both
/// complete with every byte in order (checked by `transferred`); prints the figures.
#[test]
fn eight_mib_each_way_1_percent_loss_reno_and_cubic_both_complete() {
    use crate::tcp::CongestionKind;
    let bytes = 8 << 20;
    for seed in [7, 8] {
        for kind in [CongestionKind::Reno, CongestionKind::Cubic] {
            let config = Config {
                sack: true,
                congestion: kind,
                ..config()
            };
            let f = bulk_figures_with(config, bytes, 1, seed);
            println!(
                "{} KiB each way, 1% loss, seed {seed}, {kind:?}: {} RTOs, {} fast recoveries, \
                 {} retransmissions, {} lost, {:.2} MB/s",
                bytes >> 10,
                f.timeouts,
                f.fast_retransmits,
                f.retransmissions,
                f.lost,
                f.throughput / 1e6
            );
            assert!(f.lost > 0 && f.fast_retransmits > 0, "{kind:?}: {f:?}");
        }
    }
}
