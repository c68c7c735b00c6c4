//! Sending: the peer's window (RFC 9293 3.10.7.4 step five, RFC 7323 scaling), congestion
//! window, sender SWS avoidance and Nagle (3.7.4, 3.8.6.2.1), PSH, zero-window probing.

use super::*;

#[test]
fn initial_window_is_ten_segments_with_psh_on_the_last() {
    let mut h = Harness::established();
    assert_eq!(h.conn.send(&pattern(20_000)), 20_000);
    let out = h.transmit();
    assert_eq!(out.len(), 10, "RFC 6928 IW = 10 segments");
    for (i, s) in out.iter().enumerate() {
        assert_eq!(s.seq, ISS + 1 + 1460 * i as u32);
        assert_eq!(s.payload.len(), 1460);
        assert_eq!(s.ack, IRS + 1);
        assert_eq!(s.flags, ACK, "no PSH: more data is queued");
    }
    let mut h = Harness::established();
    h.conn.send(&pattern(3000));
    let out = h.transmit();
    assert_eq!(out.len(), 3);
    assert_eq!(
        out[2].flags,
        ACK | PSH,
        "PSH on the segment that empties the buffer"
    );
    assert_eq!(out[2].payload, pattern(3000)[2920..]);
}

#[test]
fn send_respects_the_peer_window_and_sender_sws() {
    let mut h = Harness::established();
    h.peer_window = 3000;
    h.input(ACK, &[]).unwrap();
    h.conn.send(&pattern(10_000));
    let out = h.transmit();
    // 1460 + 1460 fit; the 80 left is below max window / 2: RFC 9293 3.8.6.2.1 waits.
    assert_eq!(out.len(), 2);
    // An ACK for both reopens 3000 bytes.
    h.peer_ack = ISS + 1 + 2920;
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.transmit().len(), 2);
}

#[test]
fn peer_window_is_scaled_by_its_shift() {
    let p = PeerSyn {
        wscale: Some(7),
        ..PeerSyn::default()
    };
    let mut h = Harness::established_with(config(), p);
    h.peer_window = 100; // 12800 bytes
    h.input(ACK, &[]).unwrap();
    h.conn.send(&pattern(20_000));
    let out = h.transmit();
    let sent: usize = out.iter().map(|s| s.payload.len()).sum();
    assert_eq!(
        out.len(),
        8,
        "8 * 1460 = 11680 <= 12800; the 1120 left waits (SWS)"
    );
    assert_eq!(sent, 11680);
}

#[test]
fn small_writes_go_out_at_once_without_nagle() {
    let mut h = Harness::established();
    h.conn.send(b"a");
    assert_eq!(h.transmit().len(), 1);
    h.conn.send(b"b");
    assert_eq!(
        h.transmit().len(),
        1,
        "nagle off: sent although 'a' is unacknowledged"
    );
}

#[test]
fn nagle_holds_small_segment_while_data_is_in_flight() {
    let c = Config {
        nagle: true,
        ..config()
    };
    let mut h = Harness::established_with(c, PeerSyn::default());
    h.conn.send(b"a");
    assert_eq!(h.transmit().len(), 1, "nothing in flight: send");
    h.conn.send(b"bc");
    assert!(
        h.transmit().is_empty(),
        "RFC 9293 3.7.4: hold while 'a' is unacknowledged"
    );
    h.peer_ack = ISS + 2;
    h.input(ACK, &[]).unwrap();
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload, b"bc");
}

#[test]
fn zero_window_is_probed_with_backoff_and_sending_resumes_on_update() {
    let mut h = Harness::established();
    h.peer_window = 0;
    h.input(ACK, &[]).unwrap();
    h.conn.send(b"hello");
    assert!(h.transmit().is_empty(), "zero window: nothing sent");
    // Persist timer: RTO (200 ms) and doubling.
    for ms in [200, 400, 800, 1600] {
        let out = h.fire_after(Duration::from_millis(ms));
        assert_eq!(out.len(), 1, "probe after {ms} ms");
        // Linux-style probe: SEG.SEQ = SND.UNA - 1, no data.
        assert_eq!((out[0].seq, out[0].flags), (ISS, ACK));
        assert!(out[0].payload.is_empty());
        h.input(ACK, &[]).unwrap(); // still zero
        assert!(h.transmit().is_empty());
    }
    assert_eq!(h.conn.stats().window_probes, 4);
    h.peer_window = 1000;
    h.input(ACK, &[]).unwrap();
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload, b"hello");
}

#[test]
fn small_window_is_used_when_the_persist_timer_overrides_sws() {
    let mut h = Harness::established();
    h.peer_window = 3000;
    h.input(ACK, &[]).unwrap();
    h.conn.send(&pattern(3100));
    assert_eq!(
        h.transmit().len(),
        2,
        "the last 180 bytes do not fit the 80 left"
    );
    h.peer_ack = ISS + 1 + 2920;
    h.peer_window = 40; // tiny window, far below max window / 2
    h.input(ACK, &[]).unwrap();
    assert!(h.transmit().is_empty());
    let out = h.fire_after(Duration::from_millis(200));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.len(), 40);
}

#[test]
fn send_buffer_fills_and_writable_is_reported_when_acks_free_room() {
    let c = Config {
        send_buffer: 4000,
        ..config()
    };
    let mut h = Harness::established_with(c, PeerSyn::default());
    assert_eq!(h.conn.send(&pattern(5000)), 4000);
    assert_eq!(h.conn.send_capacity(), 0);
    h.transmit();
    h.peer_ack = ISS + 1 + 1460;
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.events(), vec![Event::Writable]);
    assert_eq!(h.conn.send_capacity(), 1460);
}

#[test]
fn send_buffer_wrap_still_yields_full_segments() {
    let c = Config {
        send_buffer: 5000,
        ..config()
    };
    let mut h = Harness::established_with(c, PeerSyn::default());
    let data = pattern(12_000);
    let mut written = 0;
    let mut received = Vec::new();
    while received.len() < data.len() {
        written += h.conn.send(&data[written..]);
        for s in h.transmit() {
            assert!(
                s.payload.len() == 1460 || s.flags.psh(),
                "full segments across the wrap"
            );
            received.extend_from_slice(&s.payload);
        }
        h.peer_ack = ISS + 1 + received.len() as u32;
        h.input(ACK, &[]).unwrap();
    }
    assert_eq!(received, data);
}

#[test]
fn retransmission_into_a_shrunken_window_still_goes_out() {
    // Linux `tcp_retransmit_timer`: with the window closed under outstanding data the
    // retransmission becomes the probe; it must not be held back by SWS avoidance.
    let mut h = Harness::established();
    h.conn.send(&pattern(1000));
    assert_eq!(h.transmit().len(), 1);
    h.peer_window = 0;
    h.input(ACK, &[]).unwrap();
    for ms in [200, 400, 800] {
        let out = h.fire_after(Duration::from_millis(ms));
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].seq, out[0].payload.len()), (ISS + 1, 1000));
        h.input(ACK, &[]).unwrap(); // the peer answers, window still zero
    }
    h.peer_window = 5000;
    h.peer_ack = ISS + 1001;
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.conn.poll_timeout(), None);
}
