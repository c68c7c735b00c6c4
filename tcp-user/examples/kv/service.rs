//! The key-value service: RESP requests in, Redis's replies out, on a keyspace sharded over
//! the workers.
//!
//! **Design (Seastar's shared-nothing).** Each worker owns one shard of the keyspace, the
//! keys `k` with `shard_of(k, workers) == index`, and is the only thread that touches it, so
//! the packet path takes no lock. A request for a key of this worker's shard runs at once,
//! in the callback that parsed it. A request for another shard's key goes to its owner over
//! the [`Mesh`] (a lock-free channel and a wake-up), runs there, and the reply comes back
//! the same way. Multi-key commands are split per shard and their replies merged; DBSIZE
//! and FLUSHALL run on every shard. With one worker everything is local and no message is
//! ever sent.
//!
//! **Order.** Replies leave in request order, as Redis's do, however the requests were
//! pipelined: a reply still waiting for another shard holds back those behind it.
//!
//! **Bounded memory per connection.** Requests are parsed in place from the receive buffer
//! when they are contiguous; a request that is not complete yet (a 1 MiB value arriving over
//! many segments) is gathered in the connection's own buffer, up to [`MAX_QUERY`]. While the
//! replies waiting to be written exceed [`OUTPUT_HIGH`], or too many replies wait for other
//! shards, no more requests are read: the receive window closes until the client reads.

use std::collections::VecDeque;
use std::time::Duration;

use tcp_user::service::{Conn, ConnId, Cx, Event, Metric, Service, State, Timer, WorkerInfo};

use crate::command::merge::{merge_integer_replies, merge_mget, merge_ok_replies, split_by_shard};
use crate::command::{
    classify, execute, shard_of, AllKind, Class, MultiKind, Outcome, ServerConfig, Session,
};
use crate::mesh::{Mesh, MeshBuilder, Msg};
use crate::resp::{Args, Parsed, Parser};
use crate::store::Store;

/// Largest request gathered in a connection's buffer (Redis's `client-query-buffer-limit`
/// is 1 GB; values here are bounded by the memory budget anyway).
pub const MAX_QUERY: usize = 64 << 20;
/// Reply bytes waiting (to be written, or queued behind a reply from another shard) above
/// which no more requests are read.
pub const OUTPUT_HIGH: usize = 1 << 20;
/// Request buffers larger than this are freed once the request is done.
const ARGS_KEEP: usize = 64 * 1024;
/// Replies waiting for other shards above which no more requests are read.
pub const MAX_WAITING: usize = 4096;
/// How often the active expiry runs, and how many keys it looks at each time.
const EXPIRE_EVERY: Duration = Duration::from_millis(100);
const EXPIRE_BUDGET: usize = 200;
/// The service timer of the active expiry.
const EXPIRE_TIMER: u64 = 1;

/// How the kv service is configured.
#[derive(Clone, Debug)]
pub struct KvConfig {
    /// Memory budget of all shards together, bytes (0: unlimited); each worker's shard gets
    /// its share.
    pub max_memory: u64,
    /// The listening port (INFO reports it).
    pub port: u16,
}

/// A reply that is not complete yet: it waits for parts from other shards.
struct Waiting {
    tag: u64,
    merge: Merge,
    parts: Vec<Option<Vec<u8>>>,
    missing: usize,
}

/// How the parts of a split request become one reply.
enum Merge {
    /// One part, sent to the key's owner: its reply is the reply.
    Single,
    /// Sum of integer replies (DEL, EXISTS, DBSIZE).
    Integer,
    /// `+OK` if every part answered it (MSET, FLUSHALL, FLUSHDB).
    Ok,
    /// MGET: each part's values go back to their keys' positions.
    Mget {
        positions: Vec<Vec<usize>>,
        keys: usize,
    },
}

/// A reply slot in request order.
enum Slot {
    Done(Vec<u8>),
    Waiting(Waiting),
}

/// The service's state for one connection.
#[derive(Default)]
pub struct KvConn {
    session: Option<Session>,
    parser: Parser,
    /// The arguments of the request being parsed (kept across partial reads, so the parser
    /// resumes where it stopped instead of starting over).
    args: Args,
    /// Received bytes of an unfinished request, taken out of the receive buffer; the part
    /// before `input_pos` is already parsed.
    input: Vec<u8>,
    input_pos: usize,
    /// Bytes of the complete replies queued in `slots` behind one that waits.
    slot_bytes: usize,
    /// Complete replies, in order, not yet written.
    output: Vec<u8>,
    /// Replies behind one that waits for another shard (the first one is waiting).
    slots: VecDeque<Slot>,
    /// Close once the output is written (QUIT, a protocol error).
    close_after: bool,
    /// Already closed: ignore the rest.
    closed: bool,
}

/// Counters of one worker's service.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvStats {
    /// Requests executed for this worker's connections.
    pub commands: u64,
    /// Requests (or parts) sent to another worker's shard.
    pub remote: u64,
    /// Requests other workers asked this shard to run.
    pub served_remote: u64,
    /// Connections closed for a protocol error.
    pub protocol_errors: u64,
    /// Keys freed by the active expiry.
    pub expired: u64,
}

/// One worker's kv service.
pub struct Kv {
    mesh: Mesh,
    store: Store,
    config: ServerConfig,
    /// Client ids `index + 1, index + 1 + workers, ...`: unique across workers.
    next_client: u64,
    next_tag: u64,
    /// Unix time in ms at the runtime's clock origin: the store's clock is Unix time (for
    /// EXAT/PXAT and INFO), read from the wall clock once.
    epoch_offset_ms: Option<u64>,
    expiry_armed: bool,
    /// Counters.
    pub stats: KvStats,
}

impl Kv {
    /// Worker `info.index`'s service; `mesh` is shared by every worker's factory call.
    pub fn new(cfg: &KvConfig, info: &WorkerInfo, mesh: &MeshBuilder) -> Kv {
        Kv::with_mesh(cfg, mesh.join(info))
    }

    /// A service on a given mesh end (tests build meshes of several workers by hand).
    pub fn with_mesh(cfg: &KvConfig, mesh: Mesh) -> Kv {
        let workers = mesh.workers() as u64;
        Kv {
            store: Store::new(cfg.max_memory / workers.max(1)),
            config: ServerConfig {
                max_memory: cfg.max_memory,
                tcp_port: cfg.port,
                started_ms: 0,
            },
            next_client: mesh.index as u64 + 1,
            next_tag: 1,
            epoch_offset_ms: None,
            expiry_armed: false,
            stats: KvStats::default(),
            mesh,
        }
    }

    /// Milliseconds of Unix time now: the runtime's monotonic clock plus an offset read from
    /// the wall clock the first time.
    fn now_ms(&mut self, cx: &Cx<'_, KvConn>) -> u64 {
        let mono = cx.now().millis();
        let offset = *self.epoch_offset_ms.get_or_insert_with(|| {
            let wall = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            wall.saturating_sub(mono)
        });
        mono + offset
    }

    /// Keys in this worker's shard.
    pub fn keys(&self) -> usize {
        self.store.len()
    }

    /// Reads, runs and answers requests on `id` while it has some and room for replies.
    fn serve(&mut self, cx: &mut Cx<'_, KvConn>, id: ConnId) {
        let now_ms = self.now_ms(cx);
        let Some(mut conn) = cx.conn(id) else { return };
        if conn.data().closed {
            return;
        }
        if conn.data().session.is_none() {
            let client = self.next_client;
            self.next_client += self.mesh.workers() as u64;
            conn.data_mut().session = Some(Session::new(client, self.config));
        }
        loop {
            flush(&mut conn);
            let st = conn.data();
            if st.close_after || st.closed {
                break;
            }
            if st.output.len() + st.slot_bytes > OUTPUT_HIGH || st.slots.len() > MAX_WAITING {
                return; // Writable, or the replies from other shards, resume us
            }
            if !self.next_request(&mut conn, now_ms) {
                flush(&mut conn);
                break;
            }
        }
        // The client closed its side and everything it sent was read: answer the complete
        // requests, then close (a partial one can never complete: it is dropped).
        let peer_done = conn.state() == State::CloseWait && conn.readable() == 0;
        let st = conn.data_mut();
        st.close_after |= peer_done;
        if st.close_after && st.output.is_empty() && st.slots.is_empty() && !st.closed {
            st.closed = true;
            conn.close();
        }
    }

    /// Parses and runs one request; false when there is none complete.
    fn next_request(&mut self, conn: &mut Conn<'_, KvConn>, now_ms: u64) -> bool {
        let id = conn.id();
        let mut args = std::mem::take(&mut conn.data_mut().args);
        let parsed = if pending_input(conn.data()) == 0 {
            // In place, from the receive buffer, when the request is in its first slice.
            let ((first, _), st) = conn.peek_with_data();
            if first.is_empty() {
                conn.data_mut().args = args;
                return false;
            }
            match st.parser.parse(first, &mut args) {
                Parsed::Complete { consumed } => {
                    conn.consume(consumed);
                    Parsed::Complete { consumed }
                }
                Parsed::Incomplete { .. } => {
                    // Gather it in our buffer (the window opens), and go on from there.
                    gather(conn);
                    parse_input(conn.data_mut(), &mut args)
                }
                error => error,
            }
        } else {
            gather(conn);
            parse_input(conn.data_mut(), &mut args)
        };
        let progressed = match parsed {
            Parsed::Complete { .. } => {
                let outcome = if args.is_empty() {
                    Outcome::Continue
                } else {
                    self.run(conn, id, &args, now_ms)
                };
                args.clear();
                args.shrink_to(ARGS_KEEP);
                if outcome == Outcome::Abort {
                    // As Redis does with what looks like HTTP (a cross-protocol attack):
                    // drop the client at once, unsent replies included.
                    let st = conn.data_mut();
                    st.output.clear();
                    st.slots.clear();
                    st.slot_bytes = 0;
                    st.closed = true;
                    conn.abort();
                    false
                } else {
                    true
                }
            }
            Parsed::Incomplete { .. } => {
                // The arguments parsed so far stay for the next read.
                if pending_input(conn.data()) > MAX_QUERY {
                    // As Redis does past client-query-buffer-limit: drop the client.
                    conn.data_mut().closed = true;
                    conn.abort();
                }
                false
            }
            Parsed::ProtocolError(reply) => {
                self.stats.protocol_errors += 1;
                args.clear();
                let st = conn.data_mut();
                push_reply(st, reply);
                st.close_after = true;
                false
            }
        };
        conn.data_mut().args = args;
        progressed
    }

    /// Runs one request where its keys live; returns what the connection does next (only
    /// requests run here can close or abort it).
    fn run(
        &mut self,
        conn: &mut Conn<'_, KvConn>,
        id: ConnId,
        args: &Args,
        now_ms: u64,
    ) -> Outcome {
        self.stats.commands += 1;
        let workers = self.mesh.workers();
        let here = self.mesh.index;
        let class = if workers == 1 {
            Class::NoKey
        } else {
            classify(args)
        };
        let st = conn.data_mut();
        match class {
            Class::Single { key } if shard_of(args.get(key), workers) != here => {
                let tag = self.send_parts(
                    id,
                    std::iter::once((shard_of(args.get(key), workers), args.clone())),
                );
                st.slots.push_back(Slot::Waiting(Waiting {
                    tag,
                    merge: Merge::Single,
                    parts: vec![None],
                    missing: 1,
                }));
            }
            Class::NoKey | Class::Single { .. } => {
                let session = st
                    .session
                    .as_mut()
                    .expect("a session from the first request");
                let mut out = Vec::new();
                let outcome = if st.slots.is_empty() {
                    execute(session, &mut self.store, now_ms, args, &mut st.output)
                } else {
                    let o = execute(session, &mut self.store, now_ms, args, &mut out);
                    st.slot_bytes += out.len();
                    st.slots.push_back(Slot::Done(out));
                    o
                };
                if outcome == Outcome::Close {
                    st.close_after = true;
                }
                return outcome;
            }
            Class::Multi { kind, first, step } => {
                let split = split_by_shard(args, first, step, workers);
                let keys = split.iter().map(|p| p.positions.len()).sum();
                let merge = match kind {
                    MultiKind::Del | MultiKind::Exists => Merge::Integer,
                    MultiKind::Mset => Merge::Ok,
                    MultiKind::Mget => Merge::Mget {
                        positions: split.iter().map(|p| p.positions.clone()).collect(),
                        keys,
                    },
                };
                let parts: Vec<(usize, Args)> =
                    split.into_iter().map(|p| (p.shard, p.args)).collect();
                self.fan_out(conn, id, parts, merge, now_ms);
            }
            Class::All { kind } => {
                let merge = match kind {
                    AllKind::DbSize => Merge::Integer,
                    AllKind::FlushAll | AllKind::FlushDb => Merge::Ok,
                };
                let parts: Vec<(usize, Args)> = (0..workers).map(|w| (w, args.clone())).collect();
                self.fan_out(conn, id, parts, merge, now_ms);
            }
        }
        Outcome::Continue
    }

    /// Runs the parts of a split request: this shard's at once, the others' by message.
    fn fan_out(
        &mut self,
        conn: &mut Conn<'_, KvConn>,
        id: ConnId,
        parts: Vec<(usize, Args)>,
        merge: Merge,
        now_ms: u64,
    ) {
        let here = self.mesh.index;
        let mut results: Vec<Option<Vec<u8>>> = vec![None; parts.len()];
        let mut remote = Vec::new();
        for (i, (shard, args)) in parts.into_iter().enumerate() {
            if shard == here {
                let mut out = Vec::new();
                let mut session = Session::new(0, self.config);
                execute(&mut session, &mut self.store, now_ms, &args, &mut out);
                results[i] = Some(out);
            } else {
                remote.push((i, shard, args));
            }
        }
        let missing = remote.len();
        let tag = self.next_tag;
        self.next_tag += 1;
        for (part, shard, args) in remote {
            self.stats.remote += 1;
            self.mesh.send(
                shard,
                Msg::Request {
                    from: here,
                    conn: id,
                    tag,
                    part,
                    args,
                },
            );
        }
        let waiting = Waiting {
            tag,
            merge,
            parts: results,
            missing,
        };
        let st = conn.data_mut();
        if missing == 0 && st.slots.is_empty() {
            finish(waiting, &mut st.output);
        } else {
            st.slots.push_back(Slot::Waiting(waiting));
        }
    }

    /// Sends single-part requests; returns their tag.
    fn send_parts(&mut self, id: ConnId, parts: impl Iterator<Item = (usize, Args)>) -> u64 {
        let tag = self.next_tag;
        self.next_tag += 1;
        for (part, (shard, args)) in parts.enumerate() {
            self.stats.remote += 1;
            self.mesh.send(
                shard,
                Msg::Request {
                    from: self.mesh.index,
                    conn: id,
                    tag,
                    part,
                    args,
                },
            );
        }
        tag
    }

    /// A part of a reply came back from another shard.
    fn on_reply(
        &mut self,
        cx: &mut Cx<'_, KvConn>,
        id: ConnId,
        tag: u64,
        part: usize,
        reply: Vec<u8>,
    ) {
        let Some(mut conn) = cx.conn(id) else {
            return; // the connection is gone (its id is stale): drop the reply
        };
        let st = conn.data_mut();
        let Some(w) = st.slots.iter_mut().find_map(|s| match s {
            Slot::Waiting(w) if w.tag == tag => Some(w),
            _ => None,
        }) else {
            return;
        };
        if let Some(p) = w.parts.get_mut(part) {
            if p.is_none() {
                *p = Some(reply);
                w.missing -= 1;
            }
        }
        // Complete replies at the head go out, in order.
        while let Some(head) = st.slots.front() {
            match head {
                Slot::Waiting(w) if w.missing > 0 => break,
                _ => {}
            }
            match st.slots.pop_front().expect("a head") {
                Slot::Done(bytes) => {
                    st.slot_bytes -= bytes.len();
                    st.output.extend_from_slice(&bytes);
                }
                Slot::Waiting(w) => finish(w, &mut st.output),
            }
        }
        self.serve(cx, id);
    }
}

/// Merges a complete reply into `out`.
fn finish(w: Waiting, out: &mut Vec<u8>) {
    let parts: Vec<Vec<u8>> = w.parts.into_iter().map(|p| p.unwrap_or_default()).collect();
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    match w.merge {
        Merge::Single => out.extend_from_slice(refs[0]),
        Merge::Integer => merge_integer_replies(&refs, out),
        Merge::Ok => merge_ok_replies(&refs, out),
        Merge::Mget { positions, keys } => {
            let pairs: Vec<(&[usize], &[u8])> = positions
                .iter()
                .map(|p| p.as_slice())
                .zip(refs.iter().copied())
                .collect();
            merge_mget(&pairs, keys, out)
        }
    }
}

/// Appends a reply behind those already queued.
fn push_reply(st: &mut KvConn, reply: Vec<u8>) {
    if st.slots.is_empty() {
        st.output.extend_from_slice(&reply);
    } else {
        st.slot_bytes += reply.len();
        st.slots.push_back(Slot::Done(reply));
    }
}

/// Received bytes gathered and not parsed yet.
fn pending_input(st: &KvConn) -> usize {
    st.input.len() - st.input_pos
}

/// Parses the next request out of the connection's request buffer.
fn parse_input(st: &mut KvConn, args: &mut Args) -> Parsed {
    let r = st.parser.parse(&st.input[st.input_pos..], args);
    if let Parsed::Complete { consumed } = r {
        st.input_pos += consumed;
        if st.input_pos == st.input.len() {
            st.input.clear();
            st.input_pos = 0;
            if st.input.capacity() > ARGS_KEEP {
                st.input = Vec::new();
            }
        } else if st.input_pos > st.input.len() / 2 {
            // Compact now and then rather than moving the rest after every request.
            st.input.drain(..st.input_pos);
            st.input_pos = 0;
        }
    }
    r
}

/// Moves everything readable into the connection's request buffer (the window opens).
fn gather(conn: &mut Conn<'_, KvConn>) {
    let n = conn.readable();
    if n == 0 {
        return;
    }
    let (a, b) = conn.peek();
    let mut bytes = Vec::with_capacity(a.len() + b.len());
    bytes.extend_from_slice(a);
    bytes.extend_from_slice(b);
    conn.consume(n);
    conn.data_mut().input.extend_from_slice(&bytes);
}

/// Writes as much of the output as the send buffer takes.
fn flush(conn: &mut Conn<'_, KvConn>) {
    if conn.data().output.is_empty() {
        return;
    }
    let output = std::mem::take(&mut conn.data_mut().output);
    let n = conn.write(&output);
    let st = conn.data_mut();
    st.output = output;
    st.output.drain(..n);
    if st.output.is_empty() && st.output.capacity() > OUTPUT_HIGH {
        st.output = Vec::new(); // give back what a large reply grew
    }
}

impl Service for Kv {
    type Data = KvConn;

    fn on_event(&mut self, cx: &mut Cx<'_, KvConn>, id: ConnId, event: Event) {
        match event {
            Event::Established | Event::Readable | Event::Writable | Event::PeerClosed => {
                self.serve(cx, id)
            }
            Event::Closed | Event::Reset | Event::TimedOut => {}
        }
    }

    fn can_stop(&self) -> bool {
        // Other workers' clients may still need this worker's shard.
        self.mesh.all_idle()
    }

    fn poll(&mut self, cx: &mut Cx<'_, KvConn>) {
        self.mesh.set_busy(cx.open_connections() > 0);
        if !self.expiry_armed {
            self.expiry_armed = true;
            self.config.started_ms = self.now_ms(cx);
            cx.set_timer(EXPIRE_TIMER, cx.now() + EXPIRE_EVERY);
        }
        let now_ms = self.now_ms(cx);
        while let Some(msg) = self.mesh.try_recv() {
            match msg {
                Msg::Request {
                    from,
                    conn,
                    tag,
                    part,
                    args,
                } => {
                    self.stats.served_remote += 1;
                    let mut reply = Vec::new();
                    let mut session = Session::new(0, self.config);
                    execute(&mut session, &mut self.store, now_ms, &args, &mut reply);
                    self.mesh.send(
                        from,
                        Msg::Reply {
                            conn,
                            tag,
                            part,
                            reply,
                        },
                    );
                }
                Msg::Reply {
                    conn,
                    tag,
                    part,
                    reply,
                } => self.on_reply(cx, conn, tag, part, reply),
            }
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, KvConn>, timer: Timer) {
        if timer == Timer::Service(EXPIRE_TIMER) {
            let now_ms = self.now_ms(cx);
            // Like Redis's active expire cycle: go on while a good share was expired.
            for _ in 0..16 {
                let freed = self.store.expire_some(now_ms, EXPIRE_BUDGET);
                self.stats.expired += freed as u64;
                if freed < EXPIRE_BUDGET / 4 {
                    break;
                }
            }
            cx.set_timer(EXPIRE_TIMER, cx.now() + EXPIRE_EVERY);
        }
    }

    fn metrics(&self, out: &mut Vec<Metric>) {
        let s = self.stats;
        out.push(Metric::counter(
            "kv_commands_total",
            "Requests executed.",
            s.commands,
        ));
        out.push(Metric::counter(
            "kv_remote_requests_total",
            "Requests (or parts) sent to another worker's shard.",
            s.remote,
        ));
        out.push(Metric::counter(
            "kv_served_remote_total",
            "Requests run for another worker.",
            s.served_remote,
        ));
        out.push(Metric::counter(
            "kv_protocol_errors_total",
            "Connections closed for a protocol error.",
            s.protocol_errors,
        ));
        out.push(Metric::counter(
            "kv_expired_keys_total",
            "Keys freed by the active expiry.",
            s.expired,
        ));
        out.push(Metric::gauge(
            "kv_keys",
            "Keys in this worker's shard.",
            self.store.len() as u64,
        ));
        out.push(Metric::gauge(
            "kv_used_memory_bytes",
            "Memory charged to this worker's shard.",
            self.store.used_memory(),
        ));
    }
}

#[cfg(test)]
mod tests;
