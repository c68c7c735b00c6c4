//! Receiving data: RFC 9293 section 3.10.7.4 first (acceptability) and seventh (text),
//! RFC 5681 section 4.2 (ACK generation), RFC 2018 (SACK), window management.

use super::*;

#[test]
fn in_order_data_is_delivered_and_every_second_full_segment_acked_at_once() {
    let mut h = Harness::established();
    let data = pattern(2920);
    h.input(ACK, &data[..1460]).unwrap();
    assert!(h.transmit().is_empty(), "first full segment: ACK delayed");
    h.input(ACK, &data[1460..]).unwrap();
    let out = h.transmit();
    assert_eq!(
        out.len(),
        1,
        "RFC 5681 4.2: ACK every second full-sized segment"
    );
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (ISS + 1, IRS + 1 + 2920, ACK)
    );
    assert_eq!(h.events(), vec![Event::Readable]);
    assert_eq!(h.read_all(), data);
    assert_eq!(h.conn.stats().bytes_in, 2920);
}

#[test]
fn delayed_ack_fires_after_40_ms() {
    let mut h = Harness::established();
    h.input(ACK | PSH, b"abc").unwrap();
    assert!(h.transmit().is_empty());
    let out = h.fire_after(Duration::from_millis(40));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ack, IRS + 4);
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn old_duplicate_segment_is_acked_and_dropped() {
    let mut h = Harness::established();
    h.input(ACK, b"hello").unwrap();
    h.transmit();
    h.peer_seq = IRS + 1; // the peer retransmits
    assert_eq!(h.input(ACK, b"hello"), Err(DropReason::OutOfWindow));
    let out = h.transmit();
    assert_eq!(out.len(), 1, "an unacceptable segment gets an ACK");
    assert_eq!((out[0].ack, out[0].flags), (IRS + 6, ACK));
    assert_eq!(h.conn.stats().duplicate_segments, 1);
    assert_eq!(h.read_all(), b"hello", "delivered once");
}

#[test]
fn partially_old_segment_is_trimmed_to_the_new_bytes() {
    let mut h = Harness::established();
    h.input(ACK, b"hello").unwrap();
    h.peer_seq = IRS + 1 + 3;
    assert_eq!(h.input(ACK, b"lo world"), Ok(()));
    assert_eq!(h.read_all(), b"hello world");
}

#[test]
fn out_of_order_segment_gets_immediate_dup_ack_with_sack_then_hole_fill_is_acked() {
    let mut h = Harness::established();
    let data = pattern(4380);
    h.peer_seq = IRS + 1 + 1460;
    h.input(ACK, &data[1460..2920]).unwrap();
    let out = h.transmit();
    assert_eq!(
        out.len(),
        1,
        "RFC 5681 4.2: immediate ACK for out-of-order data"
    );
    assert_eq!(out[0].ack, IRS + 1, "duplicate ACK");
    let sack = out[0].options.sack;
    assert_eq!(sack.len(), 1);
    assert_eq!(
        (sack.as_slice()[0].left.0, sack.as_slice()[0].right.0),
        (IRS + 1 + 1460, IRS + 1 + 2920)
    );
    assert!(h.events().is_empty(), "nothing readable yet");
    assert_eq!(h.conn.stats().out_of_order_segments, 1);

    // A second block: RFC 2018 section 4, the newest block first.
    h.input(ACK, &data[2920..]).unwrap_err_or_ok();
    // Fill the hole.
    h.peer_seq = IRS + 1;
    h.input(ACK, &data[..1460]).unwrap();
    let out = h.transmit();
    assert_eq!(out.len(), 1, "immediate ACK when a segment fills the gap");
    assert_eq!(out[0].ack, IRS + 1 + 4380);
    assert!(out[0].options.sack.is_empty());
    assert_eq!(h.read_all(), data);
}

trait OkOrErr {
    fn unwrap_err_or_ok(self);
}
impl OkOrErr for Result<(), DropReason> {
    fn unwrap_err_or_ok(self) {}
}

#[test]
fn sack_blocks_report_most_recent_first() {
    let mut h = Harness::established();
    let data = pattern(6000);
    h.peer_seq = IRS + 1 + 1000;
    h.input(ACK, &data[1000..2000]).unwrap();
    h.peer_seq = IRS + 1 + 3000;
    h.input(ACK, &data[3000..4000]).unwrap();
    let out = h.transmit();
    let blocks: Vec<u32> = out
        .last()
        .unwrap()
        .options
        .sack
        .as_slice()
        .iter()
        .map(|b| b.left.0 - IRS - 1)
        .collect();
    assert_eq!(blocks, vec![3000, 1000]);
}

#[test]
fn fin_beyond_a_hole_is_processed_when_the_hole_fills() {
    let mut h = Harness::established();
    h.peer_seq = IRS + 1 + 5;
    h.input(ACK | FIN, b"world").unwrap();
    assert_eq!(h.conn.state(), State::Established);
    h.transmit();
    h.peer_seq = IRS + 1;
    h.input(ACK, b"hello").unwrap();
    assert_eq!(h.conn.state(), State::CloseWait);
    let out = h.transmit();
    assert_eq!(
        out.last().unwrap().ack,
        IRS + 1 + 10 + 1,
        "data and FIN acknowledged"
    );
    assert_eq!(h.events(), vec![Event::Readable, Event::PeerClosed]);
    assert_eq!(h.read_all(), b"helloworld");
}

#[test]
fn data_after_a_fin_known_beyond_a_hole_is_dropped_and_never_reported_in_sack() {
    // The fuzzer's finding: FIN with data beyond a hole, then data after that FIN, then the
    // hole filled. The bytes after the FIN can never be delivered: they must not be kept,
    // and no SACK block may cover them (one at the cumulative ACK would be a lie).
    let mut h = Harness::established();
    h.peer_seq = IRS + 1 + 10;
    h.input(ACK | FIN, b"0123456789").unwrap(); // data at 10..20, FIN at 20
    h.transmit();
    h.peer_seq = IRS + 1 + 21;
    assert_eq!(h.input(ACK, b"late"), Err(DropReason::DataBeyondFin));
    h.peer_seq = IRS + 1 + 18;
    assert_eq!(
        h.input(ACK, b"89tail"),
        Err(DropReason::DataBeyondFin),
        "a segment across the FIN keeps only what is before it"
    );
    let out = h.transmit();
    for s in &out {
        for b in s.options.sack.as_slice() {
            assert!(b.right.0 <= IRS + 1 + 20, "SACK beyond the FIN: {b:?}");
        }
    }
    h.peer_seq = IRS + 1;
    h.input(ACK, b"abcdefghij").unwrap();
    assert_eq!(h.conn.state(), State::CloseWait);
    let out = h.transmit();
    let last = out.last().expect("the hole-fill is acknowledged");
    assert_eq!(
        last.ack,
        IRS + 1 + 20 + 1,
        "everything up to the FIN, and the FIN"
    );
    assert!(
        last.options.sack.is_empty(),
        "no SACK block is left: {last:?}"
    );
    assert_eq!(h.read_all(), b"abcdefghij0123456789");
}

#[test]
fn out_of_order_data_held_beyond_a_fin_is_purged_when_the_fin_arrives() {
    let mut h = Harness::established();
    h.peer_seq = IRS + 1 + 30;
    h.input(ACK, b"beyond").unwrap(); // held at 30..36
    h.peer_seq = IRS + 1 + 10;
    h.input(ACK | FIN, b"0123456789").unwrap(); // FIN at 20: 30..36 can never be delivered
    let out = h.transmit();
    for s in &out {
        for b in s.options.sack.as_slice() {
            assert!(b.right.0 <= IRS + 1 + 20, "SACK beyond the FIN: {b:?}");
        }
    }
    h.peer_seq = IRS + 1;
    h.input(ACK, b"abcdefghij").unwrap();
    let out = h.transmit();
    let last = out.last().unwrap();
    assert_eq!(last.ack, IRS + 1 + 21);
    assert!(last.options.sack.is_empty(), "{last:?}");
    assert_eq!(h.read_all(), b"abcdefghij0123456789");
}

#[test]
fn an_out_of_order_duplicate_with_other_bytes_keeps_the_first_copy() {
    let mut h = Harness::established();
    h.peer_seq = IRS + 1 + 5;
    h.input(ACK, b"WORLD").unwrap();
    h.peer_seq = IRS + 1 + 5;
    h.input(ACK, b"evil!").unwrap();
    h.peer_seq = IRS + 1;
    h.input(ACK, b"hello").unwrap();
    assert_eq!(h.read_all(), b"helloWORLD");
}

/// A connection with a small receive buffer and no window scaling.
fn small_window(buffer: usize) -> Harness {
    let c = Config {
        recv_buffer: buffer,
        ..config()
    };
    let p = PeerSyn {
        wscale: None,
        ..PeerSyn::default()
    };
    Harness::established_with(c, p)
}

#[test]
fn data_beyond_the_window_is_trimmed() {
    let mut h = small_window(4000);
    let data = pattern(5000);
    h.input(ACK, &data[..1460]).unwrap();
    h.input(ACK, &data[1460..2920]).unwrap();
    h.transmit();
    // 1080 bytes of window remain; a 1460-byte segment is cut to fit.
    h.input(ACK, &data[2920..4380]).unwrap();
    let out = h.transmit();
    assert_eq!(
        out.last().map(|s| (s.ack, s.window)),
        Some((IRS + 1 + 4000, 0))
    );
    assert_eq!(h.read_all(), &data[..4000]);
}

#[test]
fn zero_window_then_window_update_only_when_it_opens_by_an_mss() {
    // RFC 9293 3.8.6.2.2 receiver SWS avoidance.
    let mut h = small_window(4000);
    let data = pattern(4000);
    for chunk in data.chunks(1000) {
        h.input(ACK, chunk).unwrap();
    }
    let out = h.transmit();
    assert_eq!(out.last().unwrap().window, 0);
    // A segment into a zero window is not acceptable: ACK and drop.
    assert_eq!(h.input(ACK, b"x"), Err(DropReason::OutOfWindow));
    h.peer_seq -= 1;
    assert_eq!(h.transmit().len(), 1);
    let mut buf = [0u8; 1000];
    assert_eq!(h.conn.recv(&mut buf), 1000);
    assert!(
        h.transmit().is_empty(),
        "1000 < min(buffer/2, MSS): no update yet"
    );
    assert_eq!(h.conn.recv(&mut buf), 1000);
    let out = h.transmit();
    assert_eq!(out.len(), 1, "window update");
    assert_eq!(out[0].window, 2000);
}

#[test]
fn advertised_window_is_scaled_free_space_and_never_shrinks() {
    let mut h = Harness::established();
    h.input(ACK, &pattern(1460)).unwrap();
    h.input(ACK, &pattern(1460)).unwrap();
    let out = h.transmit();
    // The SYN-ACK promised 65535 bytes (the initial 64 KiB offer, unscaled): the edge
    // stays there, less what is held, rounded up at shift 7.
    assert_eq!(out[0].window, (65535 - 2920usize).div_ceil(128) as u16);
    // Odd sizes: the right edge is rounded up, never moved left.
    let edge = out[0].ack as usize + ((out[0].window as usize) << 7);
    h.input(ACK, &pattern(3)).unwrap();
    let out = h.fire_after(Duration::from_millis(40));
    let right = out[0].ack as usize + ((out[0].window as usize) << 7);
    assert!(right >= edge, "{right} < {edge}");
}

#[test]
fn paws_drops_segment_with_old_timestamp() {
    let p = PeerSyn {
        ts: Some(1000),
        ..PeerSyn::default()
    };
    let mut h = Harness::established_with(config(), p);
    h.peer_ts = Some(999);
    assert_eq!(h.input(ACK, b"old"), Err(DropReason::PawsRejected));
    let out = h.transmit();
    assert_eq!(out.len(), 1, "RFC 7323 5.3 R1: send an acknowledgment");
    assert_eq!(out[0].ack, IRS + 1);
    assert!(h.conn.recv_slices().0.is_empty());
}

#[test]
fn receive_ring_wraps_with_recv_slices() {
    let mut h = small_window(3000);
    h.input(ACK, &pattern(2000)).unwrap();
    h.conn.recv_consume(2000);
    h.transmit();
    let data = pattern(2500);
    h.input(ACK, &data).unwrap();
    let (a, b) = h.conn.recv_slices();
    assert_eq!((a.len(), b.len()), (1000, 1500));
    assert_eq!([a, b].concat(), data);
}

#[test]
fn a_scaled_window_never_promises_more_than_the_buffer_holds_while_nobody_reads() {
    // Window scaling rounds the advertised window to 2^shift bytes. Rounding up at every
    // ACK while the application does not read must not creep the right edge past the ring:
    // every byte sent inside an advertised window is taken (RFC 7323 section 2.4, RFC 9293
    // 3.8.6: a receiver must accept what its window offered).
    let mut h = Harness::syn_received(
        config(),
        PeerSyn {
            wscale: Some(7),
            ..PeerSyn::default()
        },
    );
    let syn_ack = h.transmit().remove(0);
    let shift = u32::from(syn_ack.options.window_scale.expect("we scale our window"));
    assert!(shift > 0, "the test needs our window scaled");
    h.input(ACK, &[]).unwrap();
    // The SYN-ACK's window is not scaled (RFC 7323 section 2.2).
    let mut edge = h.peer_seq.wrapping_add(u32::from(syn_ack.window));
    for s in h.transmit() {
        edge = s.ack.wrapping_add(u32::from(s.window) << shift);
    }
    for _ in 0..100_000 {
        let room = edge.wrapping_sub(h.peer_seq) as usize;
        if room == 0 {
            break;
        }
        let n = room.min(1001); // sizes that are not multiples of the scale
        let r = h.input(ACK, &pattern(n));
        assert_eq!(r, Ok(()), "{n} bytes inside the advertised window refused");
        for s in h.transmit() {
            edge = s.ack.wrapping_add(u32::from(s.window) << shift);
        }
    }
    assert_eq!(edge, h.peer_seq, "the window closed");
}
