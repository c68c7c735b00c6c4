//! Where the endpoint writes its frames: the worker's AF_XDP transmitter, or a vector in
//! tests.

/// A sink of frames with a bounded number of free frame buffers.
pub trait Tx {
    /// True when a frame buffer is free for [`Tx::send`]. The endpoint asks before taking a
    /// segment from a connection, so a full ring delays segments instead of losing them.
    fn has_room(&mut self) -> bool;

    /// Takes a free frame buffer and lets `write` fill it; `write` returns the frame length,
    /// or `None` to abandon it. Returns false when nothing was sent (no frame free: the
    /// frame is dropped and counted, as a NIC drops on a full queue).
    fn send(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool;
}

/// A [`Tx`] that keeps frames in memory, for tests and the in-memory link
/// ([`crate::testing`]). It holds at most `capacity` frames until they are taken.
#[derive(Debug)]
pub struct VecTx {
    /// Frames sent, oldest first.
    pub frames: Vec<Vec<u8>>,
    /// Frames held at most (a full ring); `usize::MAX` for no limit.
    pub capacity: usize,
    /// Frames refused for want of room.
    pub dropped: u64,
    frame_size: usize,
}

impl Default for VecTx {
    fn default() -> Self {
        VecTx::new(usize::MAX)
    }
}

impl VecTx {
    /// Frames are 4 KiB, as in the AF_XDP UMEM.
    pub const FRAME_SIZE: usize = 4096;

    /// A sink holding at most `capacity` frames.
    pub fn new(capacity: usize) -> VecTx {
        VecTx {
            frames: Vec::new(),
            capacity,
            dropped: 0,
            frame_size: Self::FRAME_SIZE,
        }
    }

    /// Takes the frames sent so far.
    pub fn take(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.frames)
    }
}

impl Tx for VecTx {
    fn has_room(&mut self) -> bool {
        self.frames.len() < self.capacity
    }

    fn send(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        if !self.has_room() {
            self.dropped += 1;
            return false;
        }
        let mut buf = vec![0u8; self.frame_size];
        match write(&mut buf) {
            Some(len) => {
                buf.truncate(len);
                self.frames.push(buf);
                true
            }
            None => false,
        }
    }
}
