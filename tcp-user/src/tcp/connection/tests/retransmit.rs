//! Retransmission: RFC 6298 timer, Karn, backoff; go-back-N after a timeout; fast
//! retransmit and NewReno recovery (RFC 5681 3.2, RFC 6582); the retry limit.

use super::*;

/// Established with `rto_min` lowered so RTO arithmetic is visible: the handshake sample of
/// 10 ms gives SRTT 10 ms, RTTVAR 5 ms, RTO 30 ms.
fn fine_rto() -> Harness {
    let c = Config {
        rto_min: Duration::from_millis(1),
        rto_max: Duration::from_secs(2),
        ..config()
    };
    Harness::established_with(c, PeerSyn::default())
}

#[test]
fn lost_segment_is_retransmitted_at_rto_with_doubling_clamped_to_rto_max() {
    let mut h = fine_rto();
    assert_eq!(h.conn.rto(), Duration::from_millis(30));
    h.conn.send(b"data");
    let first = h.transmit();
    // 30 ms, then 60, 120, ... and clamped at rto_max = 2 s.
    for ms in [30, 60, 120, 240, 480, 960, 1920, 2000, 2000] {
        let out = h.fire_after(Duration::from_millis(ms));
        assert_eq!(out.len(), 1, "retransmission after {ms} ms");
        assert_eq!(out[0].seq, first[0].seq);
        assert_eq!(out[0].payload, b"data");
    }
    assert_eq!(h.conn.stats().timeouts, 9);
    // A new ACK ends the backoff (RFC 6298 5.3 / Linux).
    h.peer_ack = ISS + 5;
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.conn.poll_timeout(), None);
    assert_eq!(
        h.conn.rto(),
        Duration::from_millis(30),
        "Karn: no sample from the ambiguous ACK"
    );
}

#[test]
fn rtt_samples_follow_rfc6298_and_karn() {
    let mut h = fine_rto();
    h.conn.send(b"a");
    h.transmit();
    h.advance(Duration::from_millis(100));
    h.peer_ack = ISS + 2;
    h.input(ACK, &[]).unwrap();
    // R = 100: RTTVAR = 3/4*5 + 1/4*90 = 26.25; SRTT = 7/8*10 + 100/8 = 21.25.
    assert_eq!(h.conn.srtt(), Some(Duration::from_micros(21_250)));
    assert_eq!(h.conn.rto(), Duration::from_micros(21_250 + 105_000));
}

#[test]
fn timeout_goes_back_to_snd_una_with_cwnd_one_segment() {
    let mut h = fine_rto();
    h.conn.send(&pattern(4380));
    assert_eq!(h.transmit().len(), 3);
    let out = h.fire_after(Duration::from_millis(30));
    assert_eq!(out.len(), 1, "cwnd = 1 SMSS after a timeout");
    assert_eq!(out[0].seq, ISS + 1);
    assert_eq!(h.conn.cwnd(), 1460);
    // The first segment is acknowledged: slow start lets two more out (the rest).
    h.peer_ack = ISS + 1 + 1460;
    h.input(ACK, &[]).unwrap();
    let out = h.transmit();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].seq, ISS + 1 + 1460);
    assert_eq!(h.conn.stats().retransmissions, 3);
}

#[test]
fn three_duplicate_acks_trigger_fast_retransmit_and_newreno_recovery() {
    // A peer without SACK: RFC 6582 recovery.
    let p = PeerSyn {
        sack: false,
        ..PeerSyn::default()
    };
    let mut h = Harness::established_with(config(), p);
    h.conn.send(&pattern(1460 * 6));
    assert_eq!(h.transmit().len(), 6);
    // Segment 2 (index 1) and 4 are lost; the peer acks segment 1 then duplicates.
    h.peer_ack = ISS + 1 + 1460;
    h.input(ACK, &[]).unwrap();
    for i in 0..2 {
        h.input(ACK, &[]).unwrap();
        assert!(h.transmit().is_empty(), "dup ack {} is not enough", i + 1);
    }
    h.input(ACK, &[]).unwrap();
    let out = h.transmit();
    assert_eq!(
        out.len(),
        1,
        "RFC 5681 3.2: fast retransmit on the third duplicate ACK"
    );
    assert_eq!(out[0].seq, ISS + 1 + 1460);
    assert_eq!(h.conn.stats().fast_retransmits, 1);
    // Partial ACK (RFC 6582): up to the next hole at segment 4: retransmit it at once.
    h.peer_ack = ISS + 1 + 1460 * 3;
    h.input(ACK, &[]).unwrap();
    let out = h.transmit();
    assert_eq!(out[0].seq, ISS + 1 + 1460 * 3);
    // Full ACK ends recovery with cwnd = ssthresh territory.
    h.peer_ack = ISS + 1 + 1460 * 6;
    h.input(ACK, &[]).unwrap();
    assert!(h.conn.cwnd() <= 4 * 1460);
    assert_eq!(h.conn.stats().timeouts, 0);
}

#[test]
fn retries_exhausted_sends_rst_and_reports_timed_out() {
    let c = Config {
        data_retries: 3,
        ..config()
    };
    let mut h = Harness::established_with(c, PeerSyn::default());
    h.conn.send(b"x");
    h.transmit();
    for ms in [200, 400, 800] {
        assert_eq!(h.fire_after(Duration::from_millis(ms)).len(), 1);
    }
    let out = h.fire_after(Duration::from_millis(1600));
    assert_eq!(out.len(), 1);
    // <SEQ=SND.NXT><CTL=RST>
    assert_eq!((out[0].seq, out[0].flags), (ISS + 2, RST));
    assert!(h.conn.is_closed());
    assert_eq!(h.events(), vec![Event::TimedOut]);
}

#[test]
fn ack_of_unsent_data_is_answered_and_dropped() {
    // RFC 5961 5.2 / RFC 9293: "If the ACK acks something not yet sent ... send an ACK".
    let mut h = Harness::established();
    h.peer_ack = ISS + 100;
    assert_eq!(h.input(ACK, b"data"), Err(DropReason::BadAck));
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].ack),
        (ISS + 1, IRS + 1),
        "data not accepted"
    );
}

#[test]
fn too_old_ack_is_dropped() {
    // RFC 5961 5.2: SEG.ACK < SND.UNA - MAX.SND.WND.
    let mut h = Harness::established();
    h.peer_ack = ISS.wrapping_sub(70_000);
    assert_eq!(h.input(ACK, b"data"), Err(DropReason::BadAck));
    assert!(h.conn.recv_slices().0.is_empty());
}

#[test]
fn an_echoed_timestamp_older_than_the_flight_or_from_the_future_gives_no_rtt_sample() {
    // RFC 7323 section 4.3: only an echo of a segment in flight measures the RTT.
    let mut h = Harness::established_with(
        config(),
        PeerSyn {
            ts: Some(100),
            ..PeerSyn::default()
        },
    );
    let before = h.conn.srtt();
    // A retransmitted segment is not timed (Karn), so only the echo could give a sample.
    let mut sent = 0u32;
    let mut flight_then_ack = |h: &mut Harness, echo_of: &dyn Fn(u32) -> u32| {
        h.conn.send(b"data");
        sent += 4;
        h.transmit();
        let rto = h.conn.poll_timeout().expect("the retransmission timer");
        h.now = rto;
        h.conn.handle_timeout(rto);
        let rtx = h.transmit();
        assert_eq!(rtx.len(), 1, "the RTO retransmission");
        h.advance(Duration::from_millis(300));
        let tsval = rtx[0].options.timestamps.expect("timestamps are on").value;
        let mut seg = h.segment(ACK, b"");
        seg.ack = SeqNum(ISS + 1 + sent);
        seg.options.timestamps = Some(Timestamps {
            value: 200 + sent,
            echo: echo_of(tsval),
        });
        h.deliver(&seg).unwrap();
    };
    flight_then_ack(&mut h, &|tsval| tsval.wrapping_sub(30_000));
    assert_eq!(h.conn.srtt(), before, "a stale echo is ignored");
    flight_then_ack(&mut h, &|tsval| tsval.wrapping_add(50_000));
    assert_eq!(h.conn.srtt(), before, "an echo from the future is ignored");
    flight_then_ack(&mut h, &|tsval| tsval);
    assert_ne!(
        h.conn.srtt(),
        before,
        "an echo of the segment in flight is a sample"
    );
}
