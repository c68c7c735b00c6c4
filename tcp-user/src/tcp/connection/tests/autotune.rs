//! Receive-window auto-tuning (`autotune.rs`) and the receive side under memory pressure,
//! with a fake clock: the window grows with what the reader drains per round trip, not for
//! a reader that does not keep up, and shrinks to the memory held under pressure.

use super::*;
use crate::tcp::buffer_pool::{self, MIN_BUFFER};

/// The right edge the peer was last told about, as a byte count beyond what it has sent.
fn offered(h: &Harness, out: &[Sent]) -> usize {
    let last = out.last().expect("an ACK");
    let edge = last.ack as usize + ((last.window as usize) << 7);
    edge - h.peer_seq as usize
}

/// The peer sends `bytes` in full segments as far as the window lets it, one millisecond
/// per call, and the reader (if `read`) takes everything at once. Returns the last ACK's
/// window offer.
fn stream_for(h: &mut Harness, ms: usize, per_ms: usize, read: bool) -> usize {
    let mut offer = 0;
    for _ in 0..ms {
        h.advance(Duration::from_millis(1));
        let mut sent = 0;
        while sent < per_ms {
            let room = h.conn.rcv_adv - SeqNum(h.peer_seq);
            let n = 1460.min(per_ms - sent).min(room);
            if n == 0 {
                break;
            }
            h.input(ACK, &pattern(n)).expect("in-window data is taken");
            sent += n;
        }
        if read {
            h.read_all();
        }
        h.conn.ack_now = true;
        let out = h.transmit();
        offer = offered(h, &out);
    }
    offer
}

fn with_shift_7() -> Harness {
    Harness::established_with(
        config(),
        PeerSyn {
            wscale: Some(7),
            ..PeerSyn::default()
        },
    )
}

#[test]
fn the_window_grows_to_twice_what_the_reader_drains_per_round_trip() {
    // 10 ms round trips (the handshake's), 64 KB a millisecond read as it comes: 640 KB a
    // round trip, ten times the initial 64 KiB window.
    let mut h = with_shift_7();
    assert_eq!(h.conn.rtt.srtt(), Some(HANDSHAKE_RTT));
    let initial = h.conn.tune.offer as usize;
    assert_eq!(initial, 64 * 1024);
    let offer = stream_for(&mut h, 100, 64_000, true);
    assert!(
        offer >= 2 * 640_000,
        "offer {offer} after 100 ms, expected at least twice a round trip's 640 KB"
    );
    assert!(offer <= h.conn.config.recv_buffer, "never beyond the limit");
}

#[test]
fn a_reader_that_does_not_keep_up_never_grows_the_window() {
    let mut h = with_shift_7();
    // The peer fills the window; nobody reads for 100 ms.
    stream_for(&mut h, 100, 64_000, false);
    assert_eq!(h.conn.tune.offer as usize, 64 * 1024);
    assert!(
        h.conn.recv_len() <= 64 * 1024,
        "held: {}",
        h.conn.recv_len()
    );
    assert!(h.conn.buffer_memory() <= 2 * 64 * 1024 + 2 * MIN_BUFFER);
}

#[test]
fn under_memory_pressure_the_window_shrinks_to_the_memory_held_and_tuning_starts_over() {
    let mut h = with_shift_7();
    stream_for(&mut h, 100, 64_000, true);
    let grown = h.conn.tune.offer as usize;
    assert!(grown > 64 * 1024);
    // Soft pressure (the soft limit at zero): what is offered beyond the edge already
    // promised is no more than the memory held (one minimum buffer when empty).
    buffer_pool::set_limits(0, usize::MAX);
    let space = h.conn.window_space();
    assert!(
        space <= h.conn.buffer_memory().max(MIN_BUFFER),
        "{space} offered with {} held",
        h.conn.buffer_memory()
    );
    // The next round trip restarts the tuning from the initial window.
    stream_for(&mut h, 20, 4_000, true);
    assert_eq!(h.conn.tune.offer as usize, 64 * 1024);
    // Pressure over: the window grows again with what is read.
    buffer_pool::set_limits(usize::MAX, usize::MAX);
    let offer = stream_for(&mut h, 100, 64_000, true);
    assert!(offer > 64 * 1024, "{offer}");
}

#[test]
fn at_the_hard_limit_in_window_data_beyond_the_first_buffer_is_dropped_and_counted() {
    let mut h = with_shift_7();
    buffer_pool::set_limits(0, 0);
    // The first buffer is every connection's: the first segment is taken.
    h.input(ACK, &pattern(1460))
        .expect("the first buffer is guaranteed");
    assert_eq!(h.conn.buffer_memory(), MIN_BUFFER);
    // Within the window promised, but beyond the memory held: partly kept, then dropped.
    h.input(ACK, &pattern(1460)).expect("fits the first buffer");
    h.input(ACK, &pattern(1460)).expect("partly kept");
    assert_eq!(h.conn.recv_len(), MIN_BUFFER);
    assert_eq!(
        h.input(ACK, &pattern(1460)),
        Err(DropReason::NoBufferMemory)
    );
    // Reading what is held makes room: the peer's retransmission (from where we ACK) fits.
    let got = h.read_all();
    assert_eq!(got.len(), MIN_BUFFER);
    h.peer_seq = h.conn.rcv_nxt.0;
    h.input(ACK, &pattern(1460)).expect("room again");
    buffer_pool::set_limits(usize::MAX, usize::MAX);
}
