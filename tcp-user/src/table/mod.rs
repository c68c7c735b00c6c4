//! One worker's shard of connections: a slab of connections indexed by 4-tuple, and a timing
//! wheel that says which connections' deadlines have come.
//!
//! Owned by exactly one worker thread: no locks. Slots are handed out as [`ConnId`]s that
//! carry the slot's generation, so an id kept by a service after its connection was freed
//! finds nothing instead of touching the slot's next tenant.
//!
//! Slots grow on demand up to `max_connections` (a table sized for a million connections
//! costs nothing until they come), and the 4-tuple index grows a few entries per insert
//! (see `index.rs`), never all at once. Each connection has one deadline (the earliest of its
//! timers) in a hierarchical timing wheel ([`TimerWheel`]), moved in O(1) whenever it
//! changes: nothing goes stale, so nothing ever scans the table (a heap with lazy deletion
//! needed an O(N) rebuild, a 35 ms stall at 10^6 connections).

use std::collections::VecDeque;
use std::mem::size_of;

use crate::tcp::{buffer_pool, Connection, FourTuple, Instant, State};
use crate::timer_wheel::TimerWheel;

mod index;
pub use index::TupleHasher;
use index::TupleIndex;

/// A connection's handle: its slot and the slot's generation when it was handed out.
///
/// Ids are cheap to copy and compare. One that outlived its connection is simply not found
/// (`None` from every lookup), never another connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl ConnId {
    /// The slot index (stable while the connection lives; reused after).
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// The id as one integer (for tokens and logs); [`ConnId::from_u64`] reverses it.
    pub fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The id [`ConnId::to_u64`] encoded.
    pub fn from_u64(v: u64) -> ConnId {
        ConnId {
            index: v as u32,
            generation: (v >> 32) as u32,
        }
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.index, self.generation)
    }
}

/// A connection with the service's state for it and its link-layer peer.
pub struct Entry<D> {
    /// The TCP state machine.
    pub conn: Connection,
    /// The service's per-connection state (see `service::Service::Data`).
    pub data: D,
    /// Ethernet address of the peer (the source MAC of the frame that opened it, or the
    /// next hop of an active open).
    pub peer_mac: [u8; 6],
    /// A deadline the service set on this connection (`Conn::set_timer`).
    pub(crate) service_timer: Option<Instant>,
    /// Listed in the endpoint's work list (to be driven before the batch ends).
    pub(crate) queued: bool,
    /// Listed among the connections waiting for TX frames.
    pub(crate) blocked: bool,
    /// The service closed it: data still arriving is discarded, not reported.
    pub(crate) discard: bool,
    /// The service aborted it: no event at all is reported any more.
    pub(crate) aborted: bool,
    /// Listed for the release of its idle buffers (`Shard::idle_buffers`).
    pub(crate) release_listed: bool,
    /// Deadline set in the timing wheel for this slot, if any (the connection's, as of its
    /// last `after_io`).
    armed: Option<Instant>,
    in_time_wait: bool,
    /// Counted in the half-open (SYN_RCVD) total.
    half_open: bool,
}

impl<D> Entry<D> {
    /// The earliest of the engine's and the service's deadlines.
    fn deadline(&self) -> Option<Instant> {
        match (self.conn.poll_timeout(), self.service_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Why an insert failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// `max_connections` reached.
    Full,
    /// The 4-tuple already has a connection.
    Exists,
}

struct Slot<D> {
    generation: u32,
    entry: Option<Entry<D>>,
}

/// The per-worker connection table.
pub struct ConnectionTable<D> {
    index: TupleIndex,
    slots: Vec<Slot<D>>,
    free: Vec<u32>,
    max_connections: usize,
    timers: TimerWheel,
    max_time_wait: usize,
    time_wait: usize,
    /// Connections in the order they entered TIME_WAIT (oldest first; ids of connections
    /// that left it since are skipped lazily): the one to forget when the bound is reached.
    time_wait_order: VecDeque<ConnId>,
    /// Connections forgotten because the TIME_WAIT bound was reached.
    time_wait_overflow: u64,
    half_open: usize,
    /// Bytes of the table's own memory charged to the thread's budget (`buffer_pool`).
    charged: usize,
}

impl<D> Drop for ConnectionTable<D> {
    fn drop(&mut self) {
        buffer_pool::uncharge(self.charged);
    }
}

/// Slots reserved up front; beyond, the table grows as connections come.
const INITIAL_SLOTS: usize = 1024;

impl<D> ConnectionTable<D> {
    /// A table for at most `max_connections` connections, of which at most `max_time_wait`
    /// may be in TIME_WAIT (beyond that a connection entering TIME_WAIT is freed at once,
    /// as Linux does when its tcp_max_tw_buckets overflows).
    pub fn new(max_connections: usize, max_time_wait: usize) -> Self {
        let initial = max_connections.min(INITIAL_SLOTS);
        let mut table = ConnectionTable {
            index: TupleIndex::with_capacity(initial),
            slots: Vec::with_capacity(initial),
            free: Vec::with_capacity(initial),
            max_connections,
            timers: TimerWheel::new(),
            max_time_wait,
            time_wait: 0,
            time_wait_order: VecDeque::new(),
            time_wait_overflow: 0,
            half_open: 0,
            charged: 0,
        };
        table.recharge();
        table
    }

    /// Bytes one slot costs: the slot itself (a connection's control block and the
    /// service's data), its index entry (hashbrown: the pair and a control byte) and its
    /// place in the free list.
    pub const SLOT_BYTES: usize =
        size_of::<Slot<D>>() + size_of::<(FourTuple, ConnId)>() + 1 + size_of::<u32>();

    /// Bytes the table's structures take now (from their capacities: memory a peak took
    /// stays taken).
    pub fn footprint(&self) -> usize {
        self.slots.capacity() * size_of::<Slot<D>>()
            + self.index.footprint()
            + self.free.capacity() * size_of::<u32>()
            + self.timers.footprint()
            + self.time_wait_order.capacity() * size_of::<ConnId>()
    }

    /// Charges the thread's memory budget with what the table's footprint changed by.
    fn recharge(&mut self) {
        let now = self.footprint();
        if now > self.charged {
            buffer_pool::charge(now - self.charged);
        } else {
            buffer_pool::uncharge(self.charged - now);
        }
        self.charged = now;
    }

    /// Connections forgotten because the TIME_WAIT bound was reached.
    pub fn time_wait_overflow(&self) -> u64 {
        self.time_wait_overflow
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
    /// the table (beyond the bound the endpoint answers with SYN cookies).
    pub fn half_open_count(&self) -> usize {
        self.half_open
    }

    /// Capacity left for new connections.
    pub fn available(&self) -> usize {
        self.max_connections - self.len()
    }

    /// The most connections the table holds.
    pub fn capacity(&self) -> usize {
        self.max_connections
    }

    /// Finds the connection of a 4-tuple.
    #[inline]
    pub fn lookup(&self, tuple: &FourTuple) -> Option<ConnId> {
        self.index.get(tuple)
    }

    /// Inserts a new connection; the caller then calls [`Self::after_io`] for it.
    pub fn insert(
        &mut self,
        conn: Connection,
        data: D,
        peer_mac: [u8; 6],
    ) -> Result<ConnId, InsertError> {
        if self.len() >= self.max_connections {
            return Err(InsertError::Full);
        }
        let tuple = conn.tuple();
        if self.index.contains_key(&tuple) {
            return Err(InsertError::Exists);
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        let id = ConnId {
            index,
            generation: slot.generation,
        };
        let half_open = conn.state() == State::SynReceived;
        self.half_open += half_open as usize;
        slot.entry = Some(Entry {
            conn,
            data,
            peer_mac,
            service_timer: None,
            queued: false,
            blocked: false,
            discard: false,
            aborted: false,
            release_listed: false,
            armed: None,
            in_time_wait: false,
            half_open,
        });
        let slots = &self.slots;
        self.index.insert(
            tuple,
            id,
            |i| slots.get(i)?.entry.as_ref().map(|e| e.conn.tuple()),
            slots.len(),
        );
        self.recharge();
        Ok(id)
    }

    /// The entry of a live connection.
    #[inline]
    pub fn get(&self, id: ConnId) -> Option<&Entry<D>> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_ref()
    }

    /// The entry of a live connection, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Entry<D>> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.entry.as_mut()
    }

    /// Two different live connections at once (a proxy moving bytes from one to the other).
    pub fn get_pair_mut(&mut self, a: ConnId, b: ConnId) -> Option<[&mut Entry<D>; 2]> {
        if a.index == b.index {
            return None;
        }
        let [sa, sb] = self
            .slots
            .get_disjoint_mut([a.index as usize, b.index as usize])
            .ok()?;
        if sa.generation != a.generation || sb.generation != b.generation {
            return None;
        }
        Some([sa.entry.as_mut()?, sb.entry.as_mut()?])
    }

    /// Removes a connection and frees its slot.
    pub fn remove(&mut self, id: ConnId) -> Option<Entry<D>> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let entry = slot.entry.take()?;
        self.index.remove(&entry.conn.tuple());
        self.timers.set(id.index, None);
        if entry.in_time_wait {
            self.time_wait -= 1;
        }
        if entry.half_open {
            self.half_open -= 1;
        }
        self.free.push(id.index);
        // Ids of connections that are gone, at the front of the TIME_WAIT order (where
        // expired ones are), go too, so the list stays as long as TIME_WAIT is.
        while let Some(&front) = self.time_wait_order.front() {
            if self.get(front).is_some_and(|e| e.in_time_wait) {
                break;
            }
            self.time_wait_order.pop_front();
        }
        Some(entry)
    }

    /// Book-keeping after the engine or the service touched a connection: frees it when
    /// closed, enforces the TIME_WAIT bound, and re-arms its timer. Returns the entry when
    /// the connection was removed (so the caller can account for it).
    pub fn after_io(&mut self, id: ConnId) -> Option<Entry<D>> {
        let max_tw = self.max_time_wait;
        let mut evicted = None;
        let entry = self.get_mut(id)?;
        // A connection that ended gracefully keeps what it received until the service has
        // read it (or closed or aborted it, which discards).
        if entry.conn.is_closed() && (entry.discard || !entry.conn.keeps_unread_data()) {
            return self.remove(id);
        }
        let state = entry.conn.state();
        let left_half_open = entry.half_open && state != State::SynReceived;
        let entered_tw = state == State::TimeWait && !entry.in_time_wait;
        // TIME_WAIT expired and the connection is kept, CLOSED, for its unread data.
        let left_tw = entry.in_time_wait && state != State::TimeWait;
        let unread = entry.conn.recv_len();
        if entered_tw && self.time_wait >= max_tw {
            // TIME_WAIT table overflow (Linux: past tcp_max_tw_buckets): rather than grow,
            // forget the oldest TIME_WAIT connection, the nearest to its end anyway; with
            // none to forget, this one (unless it has data still to read).
            self.time_wait_overflow += 1;
            match self.pop_oldest_time_wait() {
                Some(oldest) => evicted = self.remove(oldest),
                None if unread == 0 => return self.remove(id),
                None => {}
            }
        }
        self.half_open -= usize::from(left_half_open);
        self.time_wait = self.time_wait + usize::from(entered_tw) - usize::from(left_tw);
        if entered_tw {
            self.time_wait_order.push_back(id);
        }
        let entry = self.get_mut(id).expect("entry exists");
        entry.half_open &= !left_half_open;
        entry.in_time_wait = (entry.in_time_wait || entered_tw) && !left_tw;
        // Nothing can be sent or received any more: once the service has read what it
        // received, keep only the control block.
        if entry.in_time_wait && entry.conn.recv_len() == 0 {
            entry.conn.release_buffers();
        }
        let deadline = entry.deadline();
        if deadline != entry.armed {
            entry.armed = deadline;
            self.timers.set(id.index, deadline);
        }
        self.recharge();
        evicted
    }

    /// Takes the oldest connection still in TIME_WAIT off the order list.
    fn pop_oldest_time_wait(&mut self) -> Option<ConnId> {
        while let Some(id) = self.time_wait_order.pop_front() {
            if self.get(id).is_some_and(|e| e.in_time_wait) {
                return Some(id);
            }
        }
        None
    }

    /// The earliest instant a deadline may be due (never later than the earliest one).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Pops the next connection whose armed deadline is at or before `now`. The caller runs
    /// its timers and then calls `after_io`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<ConnId> {
        self.timers.advance(now);
        while let Some(index) = self.timers.pop_due() {
            let slot = &mut self.slots[index as usize];
            if let Some(entry) = slot.entry.as_mut() {
                entry.armed = None;
                return Some(ConnId {
                    index,
                    generation: slot.generation,
                });
            }
        }
        None
    }

    /// Iterates over live connection ids (control plane only: draining, listing).
    pub fn ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.index.values()
    }

    /// Iterates over live connections (control plane only).
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Entry<D>)> + '_ {
        self.ids().filter_map(|id| Some((id, self.get(id)?)))
    }

    /// Live connections in slot order from slot `from` on, with each one's slot: a listing
    /// taken a piece at a time resumes at the slot after the last it saw. Connections opened
    /// or closed between pieces may or may not be seen, as with `ss` on Linux.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = (usize, &Entry<D>)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .skip(from)
            .filter_map(|(i, slot)| Some((i, slot.entry.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{Config, SeqNum};
    use crate::wire::Addr;

    /// The memory goal is about 1 KB per idle connection at 10^6: a control block and its
    /// table slot must not creep up unnoticed (printed for the record, bounded here).
    #[test]
    fn connection_and_slot_sizes_stay_within_the_per_connection_budget() {
        let conn = size_of::<Connection>();
        let slot = ConnectionTable::<()>::SLOT_BYTES;
        println!(
            "size_of::<Connection>() = {conn}, SLOT_BYTES = {slot}, FourTuple = {}",
            size_of::<FourTuple>()
        );
        assert!(conn <= 800, "Connection is {conn} bytes");
        assert!(slot < 1024, "a table slot is {slot} bytes");
    }

    fn conn(port: u16) -> Connection {
        let tuple = FourTuple {
            local_addr: Addr::v4(1),
            local_port: 80,
            remote_addr: Addr::v4(2),
            remote_port: port,
        };
        Connection::connect(
            Instant::ZERO,
            &std::sync::Arc::new(Config::default()),
            tuple,
            SeqNum(1),
        )
    }

    #[test]
    fn every_connection_is_found_while_and_after_the_index_grows() {
        // 60,000 ports: the index grows from 1,024 several times, with slots freed and
        // reused while its entries are being moved.
        let mut t: ConnectionTable<u16> = ConnectionTable::new(usize::MAX, 0);
        let mut ids = std::collections::HashMap::new();
        for port in 1..=60_000u16 {
            let id = t.insert(conn(port), port, [0; 6]).unwrap();
            ids.insert(port, id);
            if port % 5 == 0 {
                let gone = port / 2;
                if let Some(id) = ids.remove(&gone) {
                    assert_eq!(t.remove(id).map(|e| e.data), Some(gone));
                }
            }
            if port % 1000 == 0 {
                for (p, id) in &ids {
                    assert_eq!(t.lookup(&conn(*p).tuple()), Some(*id), "port {p}");
                }
            }
        }
        assert_eq!(t.len(), ids.len());
        assert_eq!(t.ids().count(), ids.len());
        let kept = *ids.keys().min().unwrap();
        assert_eq!(
            t.insert(conn(kept), 0, [0; 6]).err(),
            Some(InsertError::Exists),
            "a moved entry still counts as present"
        );
    }

    #[test]
    fn a_stale_id_finds_nothing_after_its_slot_is_reused() {
        let mut t: ConnectionTable<u8> = ConnectionTable::new(4, 0);
        let a = t.insert(conn(1), 1, [0; 6]).unwrap();
        t.remove(a).unwrap();
        let b = t.insert(conn(2), 2, [0; 6]).unwrap();
        assert_eq!(a.index(), b.index(), "the slot is reused");
        assert!(t.get(a).is_none() && t.get_mut(a).is_none() && t.remove(a).is_none());
        assert_eq!(t.get(b).map(|e| e.data), Some(2));
        assert_eq!(ConnId::from_u64(b.to_u64()), b);
    }

    #[test]
    fn inserts_beyond_the_limit_or_for_a_known_tuple_fail() {
        let mut t: ConnectionTable<()> = ConnectionTable::new(2, 0);
        t.insert(conn(1), (), [0; 6]).unwrap();
        assert_eq!(t.insert(conn(1), (), [0; 6]), Err(InsertError::Exists));
        t.insert(conn(2), (), [0; 6]).unwrap();
        assert_eq!(t.insert(conn(3), (), [0; 6]), Err(InsertError::Full));
        assert_eq!(t.available(), 0);
    }

    #[test]
    fn a_pair_of_entries_is_lent_only_for_two_live_distinct_ids() {
        let mut t: ConnectionTable<u8> = ConnectionTable::new(4, 0);
        let a = t.insert(conn(1), 1, [0; 6]).unwrap();
        let b = t.insert(conn(2), 2, [0; 6]).unwrap();
        let [ea, eb] = t.get_pair_mut(a, b).unwrap();
        std::mem::swap(&mut ea.data, &mut eb.data);
        assert_eq!((t.get(a).unwrap().data, t.get(b).unwrap().data), (2, 1));
        assert!(t.get_pair_mut(a, a).is_none());
        t.remove(b);
        assert!(t.get_pair_mut(a, b).is_none());
    }
}
