//! The worker's side of the control plane: the requests it answers between batches, and
//! the capture sink that copies frames while a capture runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::capture::{CapturedFrame, Direction, Filter};
use crate::endpoint::Tx;
use crate::tcp::{ConnFilter, ConnInfo};

/// What the control thread asks of a worker.
pub(crate) enum WorkerRequest {
    /// List the connections the filter asks for, from table slot `from` on (a piece
    /// per turn, see `Endpoint::connection_infos`); the reply says where the next piece
    /// starts, `None` at the end.
    Connections {
        filter: ConnFilter,
        from: usize,
        reply: Sender<(Vec<ConnInfo>, Option<usize>)>,
    },
    /// Copy frames into this sink from now on (replacing any other).
    StartCapture(CaptureSink),
    /// Stop copying frames.
    StopCapture,
}

/// A worker's end of a capture: frames the filter passes go into a bounded channel, and
/// when it is full they are dropped and counted instead of slowing the datapath.
pub(crate) struct CaptureSink {
    pub filter: Arc<Filter>,
    pub snaplen: usize,
    pub queue: u32,
    pub out: Sender<CapturedFrame>,
    /// Frames dropped because the channel was full, shared by every worker's sink.
    pub dropped: Arc<AtomicU64>,
    /// The capture's reader went away: the worker drops the sink.
    pub gone: bool,
}

impl CaptureSink {
    /// Copies `frame` if the filter passes it.
    #[inline(never)]
    pub fn record(&mut self, direction: Direction, frame: &[u8]) {
        if self.gone || !self.filter.matches(frame) {
            return;
        }
        let ts_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let captured = CapturedFrame {
            ts_us,
            queue: self.queue,
            direction,
            orig_len: frame.len() as u32,
            data: frame[..frame.len().min(self.snaplen)].to_vec(),
        };
        match self.out.try_send(captured) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => self.gone = true,
        }
    }
}

/// What a worker holds of the control plane.
pub(crate) struct WorkerControl {
    pub requests: Receiver<WorkerRequest>,
    pub capture: Option<CaptureSink>,
}

impl WorkerControl {
    /// True when a request waits (one atomic load: it is asked every turn).
    #[inline]
    pub fn pending(&self) -> bool {
        !self.requests.is_empty()
    }
}

/// A [`Tx`] that also copies what it sends into the capture sink, if one runs.
pub(crate) struct CaptureTx<'a, T: Tx> {
    pub inner: &'a mut T,
    pub capture: &'a mut Option<CaptureSink>,
}

impl<T: Tx> Tx for CaptureTx<'_, T> {
    #[inline]
    fn has_room(&mut self) -> bool {
        self.inner.has_room()
    }

    #[inline]
    fn send(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        match self.capture.as_mut() {
            None => self.inner.send(write),
            Some(sink) => self.inner.send(|buf| {
                let n = write(buf)?;
                sink.record(Direction::Out, &buf[..n]);
                Some(n)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::VecTx;

    fn sink(capacity: usize, filter: &str) -> (CaptureSink, Receiver<CapturedFrame>) {
        let (out, rx) = crossbeam_channel::bounded(capacity);
        let sink = CaptureSink {
            filter: Arc::new(Filter::parse(filter).unwrap()),
            snaplen: 8,
            queue: 2,
            out,
            dropped: Arc::new(AtomicU64::new(0)),
            gone: false,
        };
        (sink, rx)
    }

    #[test]
    fn a_full_capture_ring_drops_and_counts_instead_of_blocking() {
        let (mut s, rx) = sink(2, "");
        for _ in 0..5 {
            s.record(Direction::In, &[1u8; 20]);
        }
        assert_eq!(rx.len(), 2);
        assert_eq!(s.dropped.load(Ordering::Relaxed), 3);
        let f = rx.recv().unwrap();
        assert_eq!(
            (f.data.len(), f.orig_len, f.queue),
            (8, 20, 2),
            "cut at snaplen"
        );
        drop(rx);
        s.record(Direction::In, &[1u8; 20]);
        assert!(s.gone, "the reader left");
    }

    #[test]
    fn sent_frames_are_copied_as_written_and_filtered() {
        let (s, rx) = sink(16, "");
        let mut capture = Some(s);
        let mut inner = VecTx::default();
        let mut tx = CaptureTx {
            inner: &mut inner,
            capture: &mut capture,
        };
        assert!(tx.send(|buf| {
            buf[..3].copy_from_slice(b"abc");
            Some(3)
        }));
        assert!(!tx.send(|_| None), "an abandoned frame is not captured");
        assert_eq!(inner.frames, vec![b"abc".to_vec()]);
        let f = rx.try_recv().unwrap();
        assert_eq!(
            (f.direction, f.data.as_slice()),
            (Direction::Out, &b"abc"[..])
        );
        assert!(rx.try_recv().is_err());
        // A filter that passes nothing copies nothing.
        let (s, rx) = sink(16, "port 7");
        let mut capture = Some(s);
        let mut tx = CaptureTx {
            inner: &mut inner,
            capture: &mut capture,
        };
        tx.send(|buf| {
            buf[..3].copy_from_slice(b"abc");
            Some(3)
        });
        assert!(rx.try_recv().is_err());
    }
}
