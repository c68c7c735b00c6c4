//! One worker's shard of connections: a slab of connections indexed by 4-tuple, and a timer
//! heap that says which connection's deadline comes next.
//!
//! Owned by exactly one worker thread: no locks. Everything is sized at construction
//! (`max_connections`), so lookups and inserts on the packet path do not allocate.
//! Timers are a min-heap with lazy deletion: an entry is pushed only when a connection's
//! deadline moves earlier than the one already armed, and stale entries are skipped when
//! popped, so "what expires next" costs O(log n) and nothing scans the table.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::tcp::{Connection, FourTuple, Instant, State};

/// Index of a connection's slot.
pub type ConnId = u32;

/// A fast non-cryptographic hasher for 4-tuples (FxHash's multiply-rotate). The table is
/// bounded, so a peer choosing colliding tuples can only slow its own lookups; the ISN and
/// cookie secrets, not this hash, are what keep blind attackers out.
#[derive(Default, Clone, Copy)]
pub struct TupleHasher(u64);

impl Hasher for TupleHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }
    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type TupleMap = HashMap<FourTuple, ConnId, BuildHasherDefault<TupleHasher>>;

/// A connection with its per-connection application state and link-layer peer.
pub struct Entry<S> {
    pub conn: Connection,
    /// Application state kept alongside the connection (see `app::App`).
    pub app: S,
    /// Ethernet address of the peer (the source MAC of the frame that opened it).
    pub peer_mac: [u8; 6],
    /// Deadline currently in the timer heap for this slot, if any.
    armed: Option<Instant>,
    /// Bumped each time the slot is reused, so heap entries of a previous tenant are ignored.
    generation: u32,
    in_time_wait: bool,
    /// Counted in the half-open (SYN_RCVD) total.
    half_open: bool,
}

/// Why an insert failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// `max_connections` reached.
    Full,
}

/// The per-worker connection table.
pub struct ConnectionTable<S> {
    index: TupleMap,
    slots: Vec<Option<Entry<S>>>,
    generations: Vec<u32>,
    free: Vec<ConnId>,
    timers: BinaryHeap<Reverse<(Instant, ConnId, u32)>>,
    max_time_wait: usize,
    time_wait: usize,
    half_open: usize,
}

impl<S> ConnectionTable<S> {
    /// A table for at most `max_connections` connections, of which at most `max_time_wait`
    /// may be in TIME_WAIT (beyond that a connection entering TIME_WAIT is freed at once,
    /// as Linux does when its tcp_max_tw_buckets overflows).
    pub fn new(max_connections: usize, max_time_wait: usize) -> Self {
        let mut slots = Vec::with_capacity(max_connections);
        slots.resize_with(max_connections, || None);
        ConnectionTable {
            index: TupleMap::with_capacity_and_hasher(max_connections, Default::default()),
            slots,
            generations: vec![0; max_connections],
            free: (0..max_connections as ConnId).rev().collect(),
            timers: BinaryHeap::with_capacity(max_connections * 2),
            max_time_wait,
            time_wait: 0,
            half_open: 0,
        }
    }

    /// Number of live connections.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no connection is live.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Connections currently in TIME_WAIT.
    pub fn time_wait_count(&self) -> usize {
        self.time_wait
    }

    /// Connections in SYN_RCVD (half-open): bounded separately so a SYN flood cannot fill
    /// the table (beyond the bound the worker answers with SYN cookies).
    pub fn half_open_count(&self) -> usize {
        self.half_open
    }

    /// Capacity left for new connections.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Finds the connection of a 4-tuple.
    #[inline]
    pub fn lookup(&self, tuple: &FourTuple) -> Option<ConnId> {
        self.index.get(tuple).copied()
    }

    /// Inserts a new connection; the caller then calls [`Self::after_io`] for it.
    pub fn insert(
        &mut self,
        conn: Connection,
        app: S,
        peer_mac: [u8; 6],
    ) -> Result<ConnId, InsertError> {
        let id = self.free.pop().ok_or(InsertError::Full)?;
        let generation = self.generations[id as usize].wrapping_add(1);
        self.generations[id as usize] = generation;
        self.index.insert(conn.tuple(), id);
        let half_open = conn.state() == State::SynReceived;
        self.half_open += half_open as usize;
        self.slots[id as usize] = Some(Entry {
            conn,
            app,
            peer_mac,
            armed: None,
            generation,
            in_time_wait: false,
            half_open,
        });
        Ok(id)
    }

    /// The entry of a live connection.
    #[inline]
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Entry<S>> {
        self.slots.get_mut(id as usize).and_then(|s| s.as_mut())
    }

    /// Removes a connection and frees its slot.
    pub fn remove(&mut self, id: ConnId) -> Option<Entry<S>> {
        let entry = self.slots.get_mut(id as usize)?.take()?;
        self.index.remove(&entry.conn.tuple());
        if entry.in_time_wait {
            self.time_wait -= 1;
        }
        if entry.half_open {
            self.half_open -= 1;
        }
        self.free.push(id);
        Some(entry)
    }

    /// Book-keeping after the engine or the application touched a connection: frees it when
    /// closed, enforces the TIME_WAIT bound, and re-arms its timer. Returns the entry when
    /// the connection was removed (so the caller can account for it).
    pub fn after_io(&mut self, id: ConnId) -> Option<Entry<S>> {
        let max_tw = self.max_time_wait;
        let entry = self.get_mut(id)?;
        if entry.conn.is_closed() {
            return self.remove(id);
        }
        if entry.half_open && entry.conn.state() != State::SynReceived {
            entry.half_open = false;
            self.half_open -= 1;
        }
        let entry = self.get_mut(id).expect("entry exists");
        let tw = entry.conn.state() == State::TimeWait;
        if tw && !entry.in_time_wait {
            if self.time_wait >= max_tw {
                // TIME_WAIT table overflow: forget the connection rather than grow.
                return self.remove(id);
            }
            self.time_wait += 1;
            let entry = self.get_mut(id).expect("entry exists");
            entry.in_time_wait = true;
            // Nothing can be sent or received any more: keep only the control block.
            entry.conn.release_buffers();
        }
        let entry = self.get_mut(id).expect("entry exists");
        if let Some(deadline) = entry.conn.poll_timeout() {
            if entry.armed.is_none_or(|armed| deadline < armed) {
                entry.armed = Some(deadline);
                let generation = entry.generation;
                self.timers.push(Reverse((deadline, id, generation)));
            }
        }
        None
    }

    /// The earliest armed deadline (may be stale, i.e. earlier than needed: harmless).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Pops the next connection whose armed deadline is at or before `now`. The caller runs
    /// its timers (`handle_timeout` if `poll_timeout() <= now`) and then calls `after_io`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<ConnId> {
        while let Some(&Reverse((deadline, id, generation))) = self.timers.peek() {
            if deadline > now {
                return None;
            }
            self.timers.pop();
            if let Some(entry) = self.slots[id as usize].as_mut() {
                if entry.generation == generation && entry.armed == Some(deadline) {
                    entry.armed = None;
                    return Some(id);
                }
            }
        }
        None
    }

    /// Iterates over live connection ids (control plane only: draining, statistics).
    pub fn ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.index.values().copied()
    }
}
