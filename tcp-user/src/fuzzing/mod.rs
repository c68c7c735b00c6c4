//! Fuzz targets as plain functions over bytes, so one body runs under cargo-fuzz (`fuzz/`,
//! nightly, libFuzzer) and under the stable replay-and-mutate test
//! (`tests/fuzz_smoke.rs`). Each target panics when, and only when, an invariant breaks.
//!
//! - [`fuzz_frame`]: any bytes through `parse_frame`; what parses must re-emit and parse
//!   back to the same fields, and the checksum must agree with a plain RFC 1071 sum.
//! - [`fuzz_connection`]: the bytes are a script for one passive connection (a SYN, then
//!   peer segments, time, and application calls), with the invariants a user of the engine
//!   relies on checked after every step.
//! - [`fuzz_filter`]: any text as a capture filter, evaluated on any frame; `not`, `or`
//!   and `and` of a filter agree with the filter.
//! - [`fuzz_table`]: several connections in one [`ConnectionTable`], driven the way the
//!   worker drives it; no connection may lose its timer.
//!
//! Test-only code: it allocates and asserts freely. Not part of the stack's API.
#![doc(hidden)]

mod connection;
mod filter;
mod frame;
mod observer;
mod table;

pub use connection::fuzz_connection;
pub use filter::fuzz_filter;
pub use frame::fuzz_frame;
pub use table::fuzz_table;

#[allow(unused_imports)]
use frame::{as_emitted, canonical};

#[allow(unused_imports)]
use std::time::Duration;

#[allow(unused_imports)]
use crate::table::ConnectionTable;
#[allow(unused_imports)]
use crate::tcp::{
    handle_unmatched, Config, Connection, Event, FourTuple, Instant, SackBlock, SackBlocks,
    Segment, SeqNum, State, TcpFlags, TcpOptions, Timestamps, Unmatched,
};
#[allow(unused_imports)]
use crate::wire::{
    checksum, emit_frame, frame_len, parse_frame, Addr, Family, FrameHeader, MacAddr,
};

/// Largest frame a fuzz input can make us emit (Ethernet, an IPv6 header and the largest
/// payload length; IPv4's total length limit is 40 bytes less).
pub(super) const MAX_FRAME: usize = 14 + 40 + 65535;

// ---------------------------------------------------------------------------------------
// Frame parser
// ---------------------------------------------------------------------------------------

/// Reads the script; past the end every read is zero, so every input is a valid script.
pub(super) struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Input { data, at: 0 }
    }
    pub(super) fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }
    pub(super) fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    pub(super) fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub(super) fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    pub(super) fn bit(&mut self) -> bool {
        self.u8() & 1 == 1
    }
}

/// The byte the peer sends at sequence number `seq`: a function of the sequence number
/// alone, so every retransmission, overlap and reordering carries consistent data and
/// whatever the application reads can be checked byte by byte.
pub(super) fn peer_byte(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9e37_79b1) >> 24) as u8
}

/// The byte the application writes at stream offset `off`.
pub(super) fn app_byte(off: u32) -> u8 {
    (off.wrapping_mul(0x85eb_ca6b).rotate_left(13) >> 24) as u8 ^ 0x5a
}

/// Signed distance from `base` to `s` in sequence space.
pub(super) fn dist(s: SeqNum, base: SeqNum) -> i64 {
    s.0.wrapping_sub(base.0) as i32 as i64
}

pub(super) const LOCAL: FourTuple = FourTuple {
    local_addr: Addr::v4(0x0a09_0002),
    local_port: 80,
    remote_addr: Addr::v4(0x0a09_0001),
    remote_port: 40_000,
};

pub(super) fn config_from(input: &mut Input) -> Config {
    let a = input.u8();
    let b = input.u8();
    Config {
        window_scaling: a & 1 != 0,
        sack: a & 2 != 0,
        timestamps: a & 4 != 0,
        nagle: a & 8 != 0,
        recv_buffer: [256 * 1024, 8192, 1000, 1 << 20][usize::from((a >> 4) & 3)],
        send_buffer: [256 * 1024, 8192, 1000, 100][usize::from((a >> 6) & 3)],
        mss: [1460, 536, 100, 8960][usize::from(b & 3)],
        data_retries: if b & 4 != 0 { 3 } else { 15 },
        syn_retries: if b & 8 != 0 { 1 } else { 5 },
        msl: if b & 16 != 0 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        },
        idle_timeout: (b & 32 != 0).then(|| Duration::from_secs(5)),
        fin_wait2_timeout: if b & 64 != 0 {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(60)
        },
        challenge_ack_limit: if b & 128 != 0 { 1 } else { 10 },
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------------------
