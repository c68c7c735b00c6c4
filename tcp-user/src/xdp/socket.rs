//! One AF_XDP socket bound to one receive queue, with its own UMEM and the four rings.
//!
//! Frames are split in two fixed pools when the port is created: half live in the fill/RX
//! rings (receive), half in a free list used for transmission and returned by the completion
//! ring. Nothing is allocated after setup: the descriptor vectors are sized once.
#![allow(unsafe_code)] // AF_XDP rings and UMEM are FFI: the one place of the datapath with `unsafe`.

pub use crate::stats::PortCounters;
use crate::stats::RingOccupancy;
use anyhow::{anyhow, Context, Result};
use std::num::NonZeroU32;
use xsk_rs::config::{
    BindFlags, FrameSize, Interface as XskInterface, LibxdpFlags, QueueSize, SocketConfig,
    UmemConfig,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

/// How to bind the socket (`--bind-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    /// Zero-copy where the driver supports it, copy otherwise.
    Auto,
    /// Copy mode: works on every driver (the only mode veth has).
    Copy,
    /// Zero-copy: fails if the driver cannot.
    ZeroCopy,
}

impl std::str::FromStr for BindMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BindMode::Auto),
            "copy" => Ok(BindMode::Copy),
            "zerocopy" | "zero-copy" => Ok(BindMode::ZeroCopy),
            _ => Err(format!(
                "unknown bind mode '{s}' (expected auto, copy or zerocopy)"
            )),
        }
    }
}

/// Why a zero-copy bind failed, in the user's words: the kernel's error only says that
/// creating the socket failed. If a copy-mode bind of the same queue works, what is missing
/// is the driver's zero-copy support; otherwise the original error stands.
fn explain_zero_copy_failure(
    e: anyhow::Error,
    ifname: &str,
    queue: u32,
    cfg: PortConfig,
) -> anyhow::Error {
    if XskPort::open_with(ifname, queue, false, cfg).is_err() {
        return e;
    }
    let driver = super::iface::Interface::lookup(ifname)
        .ok()
        .and_then(|i| i.driver())
        .unwrap_or_else(|| "(unknown)".into());
    anyhow!(
        "driver {driver} of {ifname} does not support AF_XDP zero-copy; use --bind-mode copy or auto"
    )
}

/// Sizes of one port's UMEM and rings.
#[derive(Clone, Copy, Debug)]
pub struct PortConfig {
    /// Frames in the UMEM (half for receive, half for transmit).
    pub frames: u32,
    /// Size of each ring (fill, completion, RX, TX).
    pub ring_size: u32,
    /// Frames handled per ring operation.
    pub batch: usize,
}

impl Default for PortConfig {
    fn default() -> Self {
        // 8192 receive frames: 200 connections each sending a 64 KiB initial window at
        // once are 9,000 frames; with 4096 the fill ring ran empty under such bursts (the
        // kernel's rx_dropped), costing retransmissions. 64 MiB of UMEM per queue, touched
        // only as frames are used.
        PortConfig {
            frames: 16384,
            ring_size: 8192,
            batch: 64,
        }
    }
}

/// An AF_XDP socket on one queue, its UMEM and its rings.
pub struct XskPort {
    /// The receive queue the socket is bound to.
    pub queue: u32,
    /// The mode the socket was bound in (copy or zero-copy).
    pub zero_copy: bool,
    umem: Umem,
    fill: FillQueue,
    comp: CompQueue,
    tx: TxQueue,
    rx: RxQueue,
    rx_descs: Vec<FrameDesc>,
    free_tx: Vec<FrameDesc>,
    pending_tx: Vec<FrameDesc>,
    comp_descs: Vec<FrameDesc>,
    batch: usize,
    /// Entries of each ring.
    ring_size: u32,
    /// Frames set aside for transmission (free + pending + in flight).
    tx_frames: usize,
    /// Frames were given back to the fill ring since the last flush.
    refilled: bool,
    /// Frame counters.
    pub counters: PortCounters,
}

impl XskPort {
    /// Creates the UMEM and binds a socket to `(ifname, queue)`.
    pub fn open(ifname: &str, queue: u32, mode: BindMode, cfg: PortConfig) -> Result<XskPort> {
        match mode {
            BindMode::Auto => Self::open_with(ifname, queue, true, cfg)
                .or_else(|_| Self::open_with(ifname, queue, false, cfg)),
            BindMode::Copy => Self::open_with(ifname, queue, false, cfg),
            BindMode::ZeroCopy => Self::open_with(ifname, queue, true, cfg)
                .map_err(|e| explain_zero_copy_failure(e, ifname, queue, cfg)),
        }
    }

    fn open_with(ifname: &str, queue: u32, zero_copy: bool, cfg: PortConfig) -> Result<XskPort> {
        let ring = QueueSize::new(cfg.ring_size).map_err(|e| anyhow!("ring size: {e}"))?;
        let umem_cfg = UmemConfig::builder()
            .frame_size(FrameSize::new(4096).map_err(|e| anyhow!("frame size: {e}"))?)
            .fill_queue_size(ring)
            .comp_queue_size(ring)
            .build()
            .map_err(|e| anyhow!("UMEM config: {e}"))?;
        let frames = NonZeroU32::new(cfg.frames).ok_or_else(|| anyhow!("zero UMEM frames"))?;
        let (umem, mut descs) =
            Umem::new(umem_cfg, frames, false).map_err(|e| anyhow!("creating UMEM: {e}"))?;
        let bind = if zero_copy {
            BindFlags::XDP_ZEROCOPY
        } else {
            BindFlags::XDP_COPY
        } | BindFlags::XDP_USE_NEED_WAKEUP;
        let sock_cfg = SocketConfig::builder()
            .rx_queue_size(ring)
            .tx_queue_size(ring)
            // Our own XDP program steers into the XSKMAP; libxdp must not load its own.
            .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
            .bind_flags(bind)
            .build();
        let iface: XskInterface = ifname
            .parse()
            .map_err(|_| anyhow!("bad interface name {ifname}"))?;
        // Safety: this UMEM is not shared with any other socket, so the shared-UMEM
        // double-free hazard documented by xsk-rs cannot arise.
        let (tx, rx, fq_cq) = unsafe { Socket::new(sock_cfg, &umem, &iface, queue) }
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| {
                format!(
                    "binding an AF_XDP socket to {ifname} queue {queue} ({} mode)",
                    if zero_copy { "zero-copy" } else { "copy" }
                )
            })?;
        let (mut fill, comp) = fq_cq.ok_or_else(|| anyhow!("no fill/completion ring returned"))?;
        let half = descs.len() / 2;
        let free_tx = descs.split_off(half);
        // Safety: the descriptors come from this UMEM and are owned by nobody else yet.
        let filled = unsafe { fill.produce(&descs) };
        if filled != descs.len() {
            return Err(anyhow!("fill ring took {filled} of {} frames", descs.len()));
        }
        let batch = cfg.batch;
        Ok(XskPort {
            queue,
            zero_copy,
            umem,
            fill,
            comp,
            tx,
            rx,
            rx_descs: vec![FrameDesc::default(); batch],
            pending_tx: Vec::with_capacity(free_tx.len()),
            comp_descs: vec![FrameDesc::default(); batch],
            tx_frames: free_tx.len(),
            free_tx,
            batch,
            ring_size: cfg.ring_size,
            refilled: false,
            counters: PortCounters::default(),
        })
    }

    /// The socket's file descriptor, for the XSKMAP and for poll().
    pub fn fd(&self) -> &xsk_rs::socket::Fd {
        self.rx.fd()
    }

    /// Receives up to one batch of frames and calls `on_frame` for each with a transmitter
    /// for replies; the frames go back to the fill ring afterwards. Returns the count.
    pub fn receive(&mut self, mut on_frame: impl FnMut(&[u8], &mut Transmitter<'_>)) -> usize {
        // Safety: `rx_descs` is scratch space the RX ring writes descriptors into.
        let n = unsafe { self.rx.consume(&mut self.rx_descs[..self.batch]) };
        if n == 0 {
            return 0;
        }
        self.counters.rx_frames += n as u64;
        let mut tx = Transmitter {
            umem: &self.umem,
            comp: &mut self.comp,
            comp_descs: &mut self.comp_descs,
            free: &mut self.free_tx,
            pending: &mut self.pending_tx,
            counters: &mut self.counters,
        };
        for desc in &self.rx_descs[..n] {
            // Safety: the kernel handed this frame to us on the RX ring and it is not in any
            // other ring until we give it back below.
            let data = unsafe { self.umem.data(desc) };
            on_frame(data.contents(), &mut tx);
        }
        // Safety: the frames came from the RX ring of this UMEM and are no longer read.
        let back = unsafe { self.fill.produce(&self.rx_descs[..n]) };
        debug_assert_eq!(back, n, "fill ring is sized for every receive frame");
        self.refilled = true;
        n
    }

    /// A transmitter for segments not caused by a received frame (timers, applications).
    pub fn transmitter(&mut self) -> Transmitter<'_> {
        Transmitter {
            umem: &self.umem,
            comp: &mut self.comp,
            comp_descs: &mut self.comp_descs,
            free: &mut self.free_tx,
            pending: &mut self.pending_tx,
            counters: &mut self.counters,
        }
    }

    /// Hands the frames written since the last flush to the TX ring and kicks the kernel
    /// (copy mode sends only on `sendto`), then reclaims completed frames.
    pub fn flush(&mut self) {
        // Copy mode sends at most a small budget of frames per `sendto` (32 on Linux), and
        // the frames come back on the completion ring within the call: keep kicking while
        // that makes progress, so a burst larger than the budget leaves in one flush
        // instead of starving the free list. In zero-copy mode completions come later and
        // the loop stops after one kick.
        for _ in 0..MAX_KICKS {
            let produced = self.produce_pending();
            // Kick only when something was handed over: on some kernels the need-wakeup
            // flag always reads as set, and a sendto per idle loop would cost a syscall per
            // iteration. A failed wakeup (EAGAIN/ENOBUFS) is retried on the next pass.
            if (produced > 0 || self.in_flight()) && self.tx.needs_wakeup() {
                let _ = self.tx.wakeup();
                self.counters.tx_wakeups += 1;
            }
            let reclaimed = reclaim(&mut self.comp, &mut self.comp_descs, &mut self.free_tx);
            if self.pending_tx.is_empty() && (!self.in_flight() || reclaimed == 0) {
                break;
            }
        }
        if self.refilled && self.fill.needs_wakeup() {
            let _ = self.fill.wakeup(self.rx.fd_mut(), 0);
        }
        self.refilled = false;
    }

    /// Hands pending frames to the TX ring (all or nothing, as the ring allows).
    fn produce_pending(&mut self) -> usize {
        if self.pending_tx.is_empty() {
            return 0;
        }
        // Safety: pending frames were written by Transmitter::send and are owned by us.
        let produced = unsafe { self.tx.produce(&self.pending_tx) };
        if produced == self.pending_tx.len() {
            self.counters.tx_frames += produced as u64;
            self.pending_tx.clear();
        }
        produced
    }

    /// True while frames handed to the TX ring have not come back on the completion ring.
    fn in_flight(&self) -> bool {
        self.free_tx.len() + self.pending_tx.len() < self.tx_frames
    }

    /// Reads the kernel's drop counters of this socket into `counters` (a getsockopt: call it
    /// from the periodic statistics path, not per packet).
    pub fn read_kernel_stats(&mut self) {
        if let Ok(s) = self.rx.fd().xdp_statistics() {
            self.counters.rx_ring_full = s.rx_ring_full();
            self.counters.rx_dropped = s.rx_dropped();
            self.counters.rx_fill_empty = s.rx_fill_ring_empty_descs();
        }
    }

    /// How full the four rings are now: an atomic load of each ring's producer or consumer
    /// index, so cheap, but meant for the periodic statistics path, not per packet.
    pub fn ring_occupancy(&mut self) -> RingOccupancy {
        let size = self.ring_size;
        RingOccupancy {
            size,
            fill: size.saturating_sub(self.fill.nb_free_exact()),
            rx: self.rx.nb_avail_exact(),
            tx: size.saturating_sub(self.tx.nb_free_exact()),
            completion: self.comp.nb_avail_exact(),
        }
    }

    /// True when frames are waiting to be handed to the kernel.
    pub fn has_pending(&self) -> bool {
        !self.pending_tx.is_empty()
    }

    /// Waits up to `timeout_ms` for received frames (poll(2) on the socket).
    pub fn wait(&mut self, timeout_ms: i32) {
        let _ = self.rx.poll(timeout_ms);
    }
}

/// Most `sendto` kicks per flush.
const MAX_KICKS: usize = 16;

/// Moves completed TX frames back to the free list; returns how many.
fn reclaim(comp: &mut CompQueue, scratch: &mut [FrameDesc], free: &mut Vec<FrameDesc>) -> usize {
    let mut total = 0;
    loop {
        // Safety: completed descriptors are frames of this UMEM the kernel has finished
        // sending; they become ours again.
        let n = unsafe { comp.consume(scratch) };
        free.extend_from_slice(&scratch[..n]);
        total += n;
        if n < scratch.len() {
            return total;
        }
    }
}

/// Writes outgoing frames into free UMEM frames and queues them for the TX ring.
pub struct Transmitter<'a> {
    umem: &'a Umem,
    comp: &'a mut CompQueue,
    comp_descs: &'a mut Vec<FrameDesc>,
    free: &'a mut Vec<FrameDesc>,
    pending: &'a mut Vec<FrameDesc>,
    counters: &'a mut PortCounters,
}

impl Transmitter<'_> {
    /// True when a frame is free for [`Self::send`] (reclaiming completed ones if needed).
    /// Callers check it before asking the engine for a segment, so a full TX ring delays
    /// segments instead of dropping them.
    pub fn has_room(&mut self) -> bool {
        if self.free.is_empty() {
            reclaim(self.comp, self.comp_descs, self.free);
        }
        !self.free.is_empty()
    }

    /// Takes a free frame and lets `write` fill it; `write` returns the frame length, or
    /// `None` to abandon it. Returns false when no frame was free (the frame is dropped and
    /// counted, as a NIC drops on a full queue; TCP retransmits).
    pub fn send(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        if self.free.is_empty() {
            reclaim(self.comp, self.comp_descs, self.free);
        }
        let Some(mut desc) = self.free.pop() else {
            self.counters.tx_dropped += 1;
            return false;
        };
        // Safety: `desc` came from the free list, so no ring and no other reference holds it.
        let mut data = unsafe { self.umem.data_mut(&mut desc) };
        let mut cursor = data.cursor();
        let cap = cursor.buf_len();
        cursor.set_pos(cap);
        let len = write(data.contents_mut());
        match len {
            Some(len) => {
                data.cursor().set_pos(len);
                self.pending.push(desc);
                true
            }
            None => {
                self.free.push(desc);
                false
            }
        }
    }
}
