//! The send buffer: bytes the application handed over and the peer has not yet
//! acknowledged. Allocated once per connection.

/// A ring of unacknowledged and unsent bytes whose first `mirror` bytes are also kept after
/// the end of the ring, so any read of up to `mirror` bytes is one contiguous slice: a
/// segment's payload can be borrowed straight from the buffer even across the wrap.
#[derive(Debug)]
pub struct SendBuffer {
    /// `capacity + mirror` bytes; `buf[capacity + i]` always equals `buf[i]` for `i < mirror`.
    buf: Box<[u8]>,
    capacity: usize,
    mirror: usize,
    /// Index of the oldest (first unacknowledged) byte.
    head: usize,
    len: usize,
}

impl SendBuffer {
    /// A buffer of `capacity` bytes from which slices of up to `max_read` bytes are read.
    pub fn new(capacity: usize, max_read: usize) -> SendBuffer {
        let capacity = capacity.max(1);
        let mirror = max_read.min(capacity);
        SendBuffer {
            buf: super::buffer_pool::take(capacity + mirror),
            capacity,
            mirror,
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

    /// Longest slice [`SendBuffer::read`] returns.
    pub fn max_read(&self) -> usize {
        self.mirror
    }

    /// Appends as much of `data` as fits; returns the number of bytes taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let mut tail = (self.head + self.len) % self.capacity;
        let mut rest = &data[..n];
        while !rest.is_empty() {
            let chunk = rest.len().min(self.capacity - tail);
            self.buf[tail..tail + chunk].copy_from_slice(&rest[..chunk]);
            // Keep the mirror of the ring's start up to date.
            if tail < self.mirror {
                let m = chunk.min(self.mirror - tail);
                let (ring, mirror) = self.buf.split_at_mut(self.capacity);
                mirror[tail..tail + m].copy_from_slice(&ring[tail..tail + m]);
            }
            rest = &rest[chunk..];
            tail = (tail + chunk) % self.capacity;
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
        let start = (self.head + offset) % self.capacity;
        &self.buf[start..start + len]
    }

    /// Drops `n` acknowledged bytes from the front.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head = (self.head + n) % self.capacity;
        self.len -= n;
    }
}

impl Drop for SendBuffer {
    fn drop(&mut self) {
        super::buffer_pool::give(std::mem::take(&mut self.buf));
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
}
