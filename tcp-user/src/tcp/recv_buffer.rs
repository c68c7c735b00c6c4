//! The receive buffer: a ring holding in-order data not yet read by the application, and,
//! at the right offsets beyond it, out-of-order data waiting for a hole to fill. Segments are
//! copied in.
//!
//! Its memory is taken only while it holds bytes: an idle connection's receive buffer is a
//! few integers. Data arriving takes a buffer from the per-thread pool (`buffer_pool`),
//! growing it by doubling as more is held, up to the logical capacity (the window);
//! [`ReceiveBuffer::release`] gives it back once everything was read.

use super::buffer_pool;
use super::reassembly::Reassembly;
use super::{SackBlocks, SeqNum};

/// What [`ReceiveBuffer::write`] did with a segment's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Bytes that became readable (in-order data, plus anything a filled hole released).
    pub readable: usize,
    /// The data arrived beyond RCV.NXT (kept for later, or dropped if no range was free).
    pub out_of_order: bool,
    /// The data filled (part of) a hole before previously received out-of-order data.
    pub filled_hole: bool,
    /// Bytes that could not be stored (no room, or no free reassembly range).
    pub dropped: usize,
    /// The data was dropped because it needed a new reassembly range and all were in use.
    pub no_range: bool,
    /// Data was dropped because holding it would take more memory than the budget allows
    /// (see `buffer_pool`).
    pub no_memory: bool,
}

/// Ring buffer plus reassembly state. `next` is the sequence number of the next in-order
/// byte (RCV.NXT for data; the connection adds the SYN and FIN it counts separately).
#[derive(Debug)]
pub struct ReceiveBuffer {
    /// The ring now (empty while released); it grows up to `capacity`.
    buf: Box<[u8]>,
    /// The most bytes held (what the window may offer).
    capacity: usize,
    /// Index of the first unread byte.
    head: usize,
    /// In-order bytes readable.
    len: usize,
    next: SeqNum,
    ooo: Reassembly,
}

impl ReceiveBuffer {
    /// A ring of `capacity` bytes whose first in-order byte will have sequence number `next`.
    pub fn new(capacity: usize, next: SeqNum) -> ReceiveBuffer {
        ReceiveBuffer {
            buf: Box::default(),
            capacity: capacity.max(1),
            head: 0,
            len: 0,
            next,
            ooo: Reassembly::default(),
        }
    }

    /// The most bytes held (what the window may offer).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of memory held now.
    pub fn memory(&self) -> usize {
        self.buf.len()
    }

    /// Gives the memory back if nothing is held (nothing readable, nothing out of order);
    /// true if it did.
    pub fn release(&mut self) -> bool {
        if self.len > 0 || !self.ooo.is_empty() || self.buf.is_empty() {
            return false;
        }
        buffer_pool::give(std::mem::take(&mut self.buf));
        self.head = 0;
        true
    }

    /// Makes the ring hold at least `need` bytes from its head, moving readable and
    /// out-of-order data, in place relative to the head, to a larger buffer. Returns false
    /// when the memory budget refuses (`buffer_pool::may_grow`): in-order data may grow the
    /// ring up to the hard limit, and always into a first buffer; out-of-order data only
    /// while there is no pressure, so it is what gives way first.
    fn reserve(&mut self, need: usize, in_order: bool) -> bool {
        let phys = self.buf.len();
        if need <= phys {
            return true;
        }
        let size = buffer_pool::grown_size(phys, need, 0, self.capacity);
        let first = phys == 0 && in_order;
        if !first && !buffer_pool::may_grow(phys, size, !in_order) {
            return false;
        }
        self.move_to(size);
        true
    }

    /// Moves everything held to a new buffer of `size` bytes (at least the held extent).
    fn move_to(&mut self, size: usize) {
        let phys = self.buf.len();
        let mut buf = buffer_pool::take(size);
        let extent = self.extent();
        if extent > 0 {
            let first = extent.min(phys - self.head);
            buf[..first].copy_from_slice(&self.buf[self.head..self.head + first]);
            buf[first..extent].copy_from_slice(&self.buf[..extent - first]);
        }
        buffer_pool::give(std::mem::replace(&mut self.buf, buf));
        self.head = 0;
    }

    /// Bytes from the head that hold data: the readable bytes and, beyond them, the
    /// out-of-order ranges.
    fn extent(&self) -> usize {
        let ooo_end = self.ooo.last_right().map_or(0, |r| r - self.next);
        (self.len + ooo_end).min(self.buf.len())
    }

    /// Moves what is held to a smaller buffer when the ring is more than four times what
    /// it holds (memory pressure: a ring that grew for a burst gives most of it back before
    /// it is drained). True if it shrank.
    pub fn shrink(&mut self) -> bool {
        let size = buffer_pool::grown_size(0, self.extent(), 0, self.capacity);
        if self.buf.is_empty() || self.buf.len() < 4 * size {
            return false;
        }
        self.move_to(size);
        true
    }

    /// Readable in-order bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is readable.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room after the readable data (out-of-order data lives inside this room).
    pub fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// Sequence number of the next in-order byte.
    pub fn next(&self) -> SeqNum {
        self.next
    }

    /// Moves an empty buffer to a new starting sequence number (an active open learns the
    /// peer's ISN only from its SYN).
    pub fn reset_next(&mut self, next: SeqNum) {
        debug_assert!(self.len == 0 && self.ooo.is_empty());
        self.next = next;
    }

    /// True when out-of-order data is held.
    pub fn has_out_of_order(&self) -> bool {
        !self.ooo.is_empty()
    }

    /// Stores `data` that starts at sequence number `seq` (which must be at or after
    /// `next`: the caller trims old data first). Data beyond the room is dropped. Bytes
    /// already held out of order keep their first copy.
    pub fn write(&mut self, seq: SeqNum, data: &[u8]) -> Written {
        let mut w = Written::default();
        let offset = seq - self.next;
        if seq < self.next || offset >= self.free() {
            w.dropped = data.len();
            return w;
        }
        let mut n = data.len().min(self.free() - offset);
        if !self.reserve(self.len + offset + n, offset == 0) {
            // Keep what fits in the memory held; the sender retransmits the rest.
            n = n.min(self.buf.len().saturating_sub(self.len + offset));
            w.no_memory = true;
        }
        w.dropped = data.len() - n;
        if n == 0 {
            return w;
        }
        let had_ooo = !self.ooo.is_empty();
        if offset > 0 {
            w.out_of_order = true;
            // Copy only where nothing is held yet, then record the range (which may fail,
            // having copied into free space nobody reads: harmless).
            self.copy_gaps(seq, &data[..n]);
            if !self.ooo.insert(seq, seq + n) {
                w.dropped = data.len();
                w.no_range = true;
            }
            return w;
        }
        self.copy_gaps(seq, &data[..n]);
        self.len += n;
        self.next += n;
        w.readable = n;
        if had_ooo {
            w.filled_hole = true;
            self.ooo.trim_below(self.next);
            while let Some(right) = self.ooo.pop_contiguous(self.next) {
                let more = right - self.next;
                self.len += more;
                self.next = right;
                w.readable += more;
            }
        }
        w
    }

    /// Copies the parts of `data` (at `seq`) that no out-of-order range holds yet.
    fn copy_gaps(&mut self, seq: SeqNum, data: &[u8]) {
        if self.ooo.is_empty() {
            return self.copy_in(seq - self.next, data);
        }
        let next = self.next;
        let mut gaps = [(0usize, 0usize); super::reassembly::MAX_RANGES + 1];
        let mut count = 0;
        self.ooo.for_each_gap(seq, seq + data.len(), |a, b| {
            gaps[count] = (a - seq, b - seq);
            count += 1;
        });
        for &(from, to) in &gaps[..count] {
            self.copy_in((seq - next) + from, &data[from..to]);
        }
    }

    /// Forgets out-of-order data at or beyond `seq` (the peer's FIN is there).
    pub fn discard_from(&mut self, seq: SeqNum) {
        self.ooo.discard_from(seq);
    }

    /// Copies `data` to `offset` bytes after the readable data.
    fn copy_in(&mut self, offset: usize, data: &[u8]) {
        let cap = self.buf.len();
        let mut pos = (self.head + self.len + offset) % cap;
        let mut rest = data;
        while !rest.is_empty() {
            let chunk = rest.len().min(cap - pos);
            self.buf[pos..pos + chunk].copy_from_slice(&rest[..chunk]);
            rest = &rest[chunk..];
            pos = (pos + chunk) % cap;
        }
    }

    /// The readable bytes as up to two slices (the ring may wrap).
    pub fn slices(&self) -> (&[u8], &[u8]) {
        let cap = self.buf.len();
        if cap == 0 {
            return (&[], &[]);
        }
        let first = self.len.min(cap - self.head);
        (
            &self.buf[self.head..self.head + first],
            &self.buf[..self.len - first],
        )
    }

    /// Marks `n` readable bytes as read.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        if n == 0 {
            return 0;
        }
        self.head = (self.head + n) % self.buf.len();
        self.len -= n;
        n
    }

    /// Copies readable bytes into `out` and consumes them.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let (a, b) = self.slices();
        let n1 = a.len().min(out.len());
        out[..n1].copy_from_slice(&a[..n1]);
        let n2 = b.len().min(out.len() - n1);
        out[n1..n1 + n2].copy_from_slice(&b[..n2]);
        self.consume(n1 + n2)
    }

    /// SACK blocks for the out-of-order data, most recent first (RFC 2018).
    pub fn sack_blocks(&self, max: usize) -> SackBlocks {
        self.ooo.sack_blocks(max)
    }
}

impl Drop for ReceiveBuffer {
    fn drop(&mut self) {
        buffer_pool::give(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_data_is_released_when_the_hole_fills() {
        let mut b = ReceiveBuffer::new(16, SeqNum(100));
        let w = b.write(SeqNum(104), b"efgh");
        assert!(w.out_of_order && w.readable == 0);
        assert_eq!(b.sack_blocks(4).as_slice()[0].left, SeqNum(104));
        let w = b.write(SeqNum(100), b"abcd");
        assert_eq!((w.readable, w.filled_hole), (8, true));
        assert_eq!(b.next(), SeqNum(108));
        let mut out = [0u8; 16];
        assert_eq!(b.read(&mut out), 8);
        assert_eq!(&out[..8], b"abcdefgh");
        assert!(!b.has_out_of_order());
    }

    #[test]
    fn an_overlapping_retransmission_keeps_the_first_copy_of_held_bytes() {
        let mut b = ReceiveBuffer::new(32, SeqNum(0));
        b.write(SeqNum(4), b"EFGH");
        // Other bytes for 2..10: only the gaps (2..4 and 8..10) are taken.
        b.write(SeqNum(2), b"xxyyyyzz");
        b.write(SeqNum(0), b"ab");
        let mut out = [0u8; 16];
        let n = b.read(&mut out);
        assert_eq!(&out[..n], b"abxxEFGHzz");
    }

    #[test]
    fn out_of_order_data_beyond_the_peers_fin_is_discarded() {
        let mut b = ReceiveBuffer::new(32, SeqNum(0));
        b.write(SeqNum(10), b"late");
        b.discard_from(SeqNum(8));
        assert!(!b.has_out_of_order());
        assert!(b.sack_blocks(4).is_empty());
    }

    #[test]
    fn memory_is_taken_when_data_arrives_grows_with_it_and_goes_back_when_read() {
        let mut b = ReceiveBuffer::new(1 << 20, SeqNum(0));
        assert_eq!(b.memory(), 0, "nothing held, nothing taken");
        // Out of order first, far from the head: the ring grows to hold it in place.
        b.write(SeqNum(50_000), b"later");
        assert!(b.memory() >= 50_005);
        b.write(SeqNum(0), &[7u8; 1000]);
        assert!(!b.release(), "not while data is held");
        let mut sink = vec![0u8; 1000];
        assert_eq!(b.read(&mut sink), 1000);
        // The hole 1000..50000 fills; the ring grows again with both parts kept in place.
        let fill: Vec<u8> = (1000..50_000u32).map(|i| (i % 253) as u8).collect();
        let w = b.write(SeqNum(1000), &fill);
        assert_eq!(w.readable, fill.len() + 5);
        let mut out = vec![0u8; 60_000];
        let n = b.read(&mut out);
        assert_eq!(&out[..fill.len()], &fill[..]);
        assert_eq!(&out[fill.len()..n], b"later");
        assert!(b.release());
        assert_eq!(b.memory(), 0);
        assert_eq!(b.free(), 1 << 20, "the logical capacity stays");
    }

    #[test]
    fn under_pressure_out_of_order_data_gives_way_first_and_a_big_ring_shrinks() {
        let mut b = ReceiveBuffer::new(1 << 20, SeqNum(0));
        b.write(SeqNum(0), &[1u8; 100_000]);
        let big = b.memory();
        assert!(big >= 100_000);
        buffer_pool::set_limits(0, usize::MAX);
        // Soft pressure: in-order data still grows the ring, out-of-order data may not.
        let w = b.write(SeqNum(400_000), b"far");
        assert!(w.no_memory && w.dropped == 3, "{w:?}");
        let w = b.write(SeqNum(100_000), &[2u8; 100_000]);
        assert_eq!(w.readable, 100_000);
        // Read almost everything: the ring shrinks to what it still holds.
        let mut sink = vec![0u8; 199_000];
        assert_eq!(b.read(&mut sink), 199_000);
        assert!(b.shrink());
        assert_eq!(b.memory(), buffer_pool::MIN_BUFFER);
        let mut rest = [0u8; 1000];
        assert_eq!(b.read(&mut rest), 1000);
        assert_eq!(rest, [2u8; 1000], "the bytes held move with the shrink");
        buffer_pool::set_limits(usize::MAX, usize::MAX);
    }

    #[test]
    fn ring_wraps_and_limits_to_free_space() {
        let mut b = ReceiveBuffer::new(8, SeqNum(0));
        assert_eq!(b.write(SeqNum(0), b"abcdef").readable, 6);
        assert_eq!(b.consume(5), 5);
        let w = b.write(SeqNum(6), b"ghijklmno");
        assert_eq!((w.readable, w.dropped), (7, 2));
        let (x, y) = b.slices();
        assert_eq!([x, y].concat(), b"fghijklm");
    }
}
