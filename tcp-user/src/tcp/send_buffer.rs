//! The send buffer: bytes the application handed over and the peer has not yet
//! acknowledged.
//!
//! Its memory is taken only while it holds bytes: empty, a connection's send buffer is a few
//! integers. Writes take a buffer from the per-thread pool (`buffer_pool`), growing it by
//! doubling as more is queued, up to the logical capacity; [`SendBuffer::release`] gives it
//! back once everything was acknowledged.

use super::buffer_pool;

/// A ring of unacknowledged and unsent bytes whose first `mirror` bytes are also kept after
/// the end of the ring, so any read of up to `mirror` bytes is one contiguous slice: a
/// segment's payload can be borrowed straight from the buffer even across the wrap.
#[derive(Debug)]
pub struct SendBuffer {
    /// `phys + mirror` bytes (none while released); `buf[phys + i]` always equals `buf[i]`
    /// for `i < mirror`.
    buf: Box<[u8]>,
    /// Size of the ring now (0 while released).
    phys: usize,
    /// The most bytes held.
    capacity: usize,
    mirror: usize,
    /// Index of the oldest (first unacknowledged) byte.
    head: usize,
    len: usize,
}

impl SendBuffer {
    /// A buffer of `capacity` bytes from which slices of up to `max_read` bytes are read.
    /// No memory is taken until bytes are written.
    pub fn new(capacity: usize, max_read: usize) -> SendBuffer {
        let capacity = capacity.max(1);
        SendBuffer {
            buf: Box::default(),
            phys: 0,
            capacity,
            mirror: max_read.min(capacity),
            head: 0,
            len: 0,
        }
    }

    /// Bytes held (sent or not).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Free space.
    pub fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// Bytes a [`SendBuffer::write`] would take now: the free capacity, or under memory
    /// pressure what fits in the memory held (the ring does not grow then).
    pub fn writable(&self) -> usize {
        if buffer_pool::pressure() == buffer_pool::Pressure::Normal {
            return self.free();
        }
        let phys = if self.phys == 0 {
            buffer_pool::grown_size(0, 0, self.mirror, self.capacity)
        } else {
            self.phys
        };
        self.free().min(phys - self.len)
    }

    /// Longest slice [`SendBuffer::read`] returns.
    pub fn max_read(&self) -> usize {
        self.mirror
    }

    /// Bytes of memory held now.
    pub fn memory(&self) -> usize {
        self.buf.len()
    }

    /// Gives the memory back if nothing is held; true if it did.
    pub fn release(&mut self) -> bool {
        if self.len > 0 || self.phys == 0 {
            return false;
        }
        buffer_pool::give(std::mem::take(&mut self.buf));
        self.phys = 0;
        self.head = 0;
        true
    }

    /// Makes the ring big enough for `need` bytes (or as close as the memory budget
    /// allows), moving what it holds to the front of a larger buffer. Send buffers grow only
    /// without memory pressure (`buffer_pool`): the application is told to wait, as Linux
    /// stops expanding `sk_sndbuf` under pressure. An empty buffer always gets its first,
    /// smallest size, so a connection can always send.
    fn reserve(&mut self, need: usize) {
        if need <= self.phys {
            return;
        }
        let mut phys = buffer_pool::grown_size(self.phys, need, self.mirror, self.capacity);
        if !buffer_pool::may_grow(self.buf.len(), phys + self.mirror, true) {
            if self.phys > 0 {
                return;
            }
            phys = buffer_pool::grown_size(0, 0, self.mirror, self.capacity);
        }
        let mut buf = buffer_pool::take(phys + self.mirror);
        let mut at = 0;
        for part in self.parts(0, self.len) {
            buf[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        let m = self.mirror.min(self.len);
        let (ring, mirror) = buf.split_at_mut(phys);
        mirror[..m].copy_from_slice(&ring[..m]);
        buffer_pool::give(std::mem::replace(&mut self.buf, buf));
        self.phys = phys;
        self.head = 0;
    }

    /// The `len` bytes from `offset` as up to two slices of the ring (before and after the
    /// wrap).
    fn parts(&self, offset: usize, len: usize) -> [&[u8]; 2] {
        if len == 0 {
            return [&[], &[]];
        }
        let start = (self.head + offset) % self.phys;
        let first = len.min(self.phys - start);
        [&self.buf[start..start + first], &self.buf[..len - first]]
    }

    /// Appends as much of `data` as fits (in the capacity, and in the memory the budget
    /// lets the ring have); returns the number of bytes taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        self.reserve(self.len + n);
        let n = n.min(self.phys - self.len);
        if n == 0 {
            return 0;
        }
        let mut tail = (self.head + self.len) % self.phys;
        let mut rest = &data[..n];
        while !rest.is_empty() {
            let chunk = rest.len().min(self.phys - tail);
            self.buf[tail..tail + chunk].copy_from_slice(&rest[..chunk]);
            // Keep the mirror of the ring's start up to date.
            if tail < self.mirror {
                let m = chunk.min(self.mirror - tail);
                let (ring, mirror) = self.buf.split_at_mut(self.phys);
                mirror[tail..tail + m].copy_from_slice(&ring[tail..tail + m]);
            }
            rest = &rest[chunk..];
            tail = (tail + chunk) % self.phys;
        }
        self.len += n;
        n
    }

    /// Up to `len` bytes (at most `max_read`) starting `offset` bytes after the oldest byte.
    pub fn read(&self, offset: usize, len: usize) -> &[u8] {
        if offset >= self.len {
            return &[];
        }
        let len = len.min(self.len - offset).min(self.mirror);
        let start = (self.head + offset) % self.phys;
        &self.buf[start..start + len]
    }

    /// Drops `n` acknowledged bytes from the front.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        if n == 0 {
            return;
        }
        self.head = (self.head + n) % self.phys;
        self.len -= n;
    }
}

impl Drop for SendBuffer {
    fn drop(&mut self) {
        buffer_pool::give(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_the_wrap_are_contiguous() {
        let mut b = SendBuffer::new(10, 4);
        assert_eq!(b.write(b"abcdefgh"), 8);
        b.consume(7);
        assert_eq!(b.write(b"ijklmnopq"), 9, "room for 9 after consuming 7");
        assert_eq!(b.write(b"z"), 0, "full");
        assert_eq!(b.read(0, 4), b"hijk", "wraps through the mirror");
        assert_eq!(b.read(4, 10), b"lmno", "reads are capped at max_read");
        assert_eq!(b.read(8, 4), b"pq");
        assert_eq!(b.read(10, 4), b"");
    }

    #[test]
    fn under_memory_pressure_the_ring_does_not_grow_but_an_empty_one_always_takes_a_write() {
        buffer_pool::set_limits(0, 0);
        let mut b = SendBuffer::new(1 << 20, 1448);
        let first = b.writable();
        assert!(first >= buffer_pool::MIN_BUFFER, "{first}");
        assert_eq!(
            b.write(&[1u8; 100_000]),
            first,
            "a short write: the first buffer"
        );
        assert_eq!(b.writable(), 0);
        assert_eq!(b.write(b"more"), 0);
        b.consume(1000);
        assert_eq!(b.writable(), 1000, "room frees as data is acknowledged");
        buffer_pool::set_limits(usize::MAX, usize::MAX);
        assert_eq!(b.writable(), b.free(), "no pressure: the whole capacity");
        assert_eq!(b.write(&[2u8; 100_000]), 100_000);
    }

    #[test]
    fn memory_is_taken_on_write_grows_with_what_is_held_and_goes_back_when_empty() {
        let mut b = SendBuffer::new(1 << 20, 1448);
        assert_eq!(b.memory(), 0, "nothing held, nothing taken");
        b.write(&[1u8; 100]);
        let small = b.memory();
        assert!(small > 0 && small <= 2 * buffer_pool::MIN_BUFFER, "{small}");
        // Wrap the ring, then grow it: the bytes keep their order.
        b.consume(90);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(b.write(&data), data.len());
        assert!(b.memory() >= 200_010);
        let mut got = b.read(0, 10).to_vec();
        assert_eq!(got, [1u8; 10]);
        let mut off = 10;
        got.clear();
        while off < b.len() {
            let part = b.read(off, 100_000);
            got.extend_from_slice(part);
            off += part.len();
        }
        assert_eq!(got, data);
        assert!(!b.release(), "not while bytes are held");
        b.consume(b.len());
        assert!(b.release());
        assert_eq!(b.memory(), 0);
    }
}
