//! Active open: RFC 9293 section 3.10.4 (OPEN) and section 3.10.7.3 (SYN-SENT) step by
//! step, SYN retransmission, and simultaneous open.

use super::*;
use crate::tcp::ConnectError;

/// A SYN-SENT connection whose SYN went out at T0.
fn syn_sent() -> Harness {
    let mut h = Harness::syn_sent(config());
    let out = h.transmit();
    assert_eq!(out.len(), 1, "the SYN: {out:?}");
    h
}

/// A segment from the peer with explicit sequence and acknowledgment numbers.
fn from_peer(flags: TcpFlags, seq: u32, ack: u32) -> Segment<'static> {
    Segment {
        src_port: REMOTE_PORT,
        dst_port: LOCAL_PORT,
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 65535,
        ..Segment::default()
    }
}

// --- OPEN ---

#[test]
fn connect_sends_syn_offering_every_option_config_allows() {
    let mut h = Harness::syn_sent(config());
    assert_eq!(h.conn.state(), State::SynSent);
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    let s = &out[0];
    // <SEQ=ISS><CTL=SYN>
    assert_eq!((s.seq, s.ack, s.flags), (ISS, 0, SYN));
    assert_eq!(s.options.mss, Some(1460));
    assert_eq!(
        s.options.window_scale,
        Some(7),
        "a 4 MiB limit needs shift 7"
    );
    assert!(s.options.sack_permitted);
    let ts = s.options.timestamps.expect("timestamps offered");
    assert_eq!((ts.value, ts.echo), (h.conn.ts_now(T0), 0));
    assert_eq!(
        s.window, 65535,
        "RFC 7323 2.2: a SYN's window is not scaled"
    );
    assert_eq!(h.conn.poll_timeout(), Some(T0 + Duration::from_secs(1)));
    assert!(h.transmit().is_empty(), "one SYN per (re)transmission");
}

#[test]
fn connect_syn_omits_options_config_disables() {
    let c = Config {
        window_scaling: false,
        sack: false,
        timestamps: false,
        ..config()
    };
    let mut h = Harness::syn_sent(c);
    let s = &h.transmit()[0];
    assert_eq!(s.options.mss, Some(1460), "MSS is always sent");
    assert_eq!(
        (
            s.options.window_scale,
            s.options.sack_permitted,
            s.options.timestamps
        ),
        (None, false, None)
    );
}

#[test]
fn lost_syn_is_retransmitted_at_1_2_4_8_16_32_s_then_connect_times_out() {
    let mut h = syn_sent();
    for secs in [1, 2, 4, 8, 16, 32] {
        let out = h.fire_after(Duration::from_secs(secs));
        assert_eq!(out.len(), 1, "SYN retransmitted after {secs} s");
        assert_eq!((out[0].seq, out[0].flags), (ISS, SYN));
    }
    assert_eq!(h.conn.stats().retransmissions, 6, "connect_retries = 6");
    assert!(h.events().is_empty());
    // The seventh wait would be 64 s; rto_max clamps it to 60 s.
    let out = h.fire_after(Duration::from_secs(60));
    assert!(out.is_empty(), "no RST: the peer holds no state: {out:?}");
    assert!(h.conn.is_closed());
    assert_eq!(h.events(), vec![Event::TimedOut]);
    assert_eq!(h.conn.connect_error(), Some(ConnectError::TimedOut));
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn connect_retries_bounds_the_attempt() {
    let c = Config {
        connect_retries: 2,
        ..config()
    };
    let mut h = Harness::syn_sent(c);
    h.transmit();
    assert_eq!(h.fire_after(Duration::from_secs(1)).len(), 1);
    assert_eq!(h.fire_after(Duration::from_secs(2)).len(), 1);
    assert!(h.fire_after(Duration::from_secs(4)).is_empty());
    assert_eq!(h.conn.connect_error(), Some(ConnectError::TimedOut));
    assert_eq!(h.events(), vec![Event::TimedOut]);
}

// --- SYN-SENT first: check the ACK bit ---

#[test]
fn syn_sent_ack_at_or_below_iss_gets_rst_seq_seg_ack() {
    // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset <SEQ=SEG.ACK><CTL=RST>".
    for ack in [ISS, ISS - 1000] {
        let mut h = syn_sent();
        let seg = from_peer(SYN | ACK, IRS, ack);
        assert_eq!(h.deliver(&seg), Err(DropReason::BadAck));
        let out = h.transmit();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].seq, out[0].ack, out[0].flags), (ack, 0, RST));
        assert_eq!(h.conn.state(), State::SynSent, "the attempt goes on");
        assert!(h.events().is_empty());
    }
}

#[test]
fn syn_sent_ack_beyond_snd_nxt_gets_rst_seq_seg_ack() {
    let mut h = syn_sent();
    let seg = from_peer(ACK, IRS, ISS + 2);
    assert_eq!(h.deliver(&seg), Err(DropReason::BadAck));
    let out = h.transmit();
    assert_eq!((out[0].seq, out[0].flags), (ISS + 2, RST));
    assert_eq!(h.conn.state(), State::SynSent);
    // The SYN is still retransmitted on schedule.
    assert_eq!(h.fire_after(Duration::from_secs(1))[0].flags, SYN);
}

#[test]
fn syn_sent_unacceptable_ack_with_rst_is_dropped_without_answer() {
    // "(unless the RST bit is set, if so drop the segment and return)".
    let mut h = syn_sent();
    let seg = from_peer(RST | ACK, 0, ISS + 5);
    assert_eq!(h.deliver(&seg), Err(DropReason::BadAck));
    assert!(h.transmit().is_empty());
    assert_eq!(h.conn.state(), State::SynSent);
}

// --- second: check the RST bit ---

#[test]
fn syn_sent_rst_with_acceptable_ack_refuses_the_connection() {
    // "If the ACK was acceptable, then signal to the user 'error: connection reset', drop
    // the segment, enter CLOSED state".
    let mut h = syn_sent();
    let seg = from_peer(RST | ACK, 0, ISS + 1);
    assert_eq!(h.deliver(&seg), Ok(()));
    assert!(h.conn.is_closed());
    assert_eq!(h.events(), vec![Event::Reset]);
    assert_eq!(h.conn.connect_error(), Some(ConnectError::Refused));
    assert!(h.transmit().is_empty());
    assert_eq!(h.conn.poll_timeout(), None, "no more SYNs");
}

#[test]
fn syn_sent_rst_without_ack_is_dropped() {
    // "Otherwise (no ACK), drop the segment and return": a blind RST cannot kill the attempt.
    let mut h = syn_sent();
    let seg = from_peer(RST, IRS, 0);
    assert_eq!(h.deliver(&seg), Err(DropReason::BadRst));
    assert_eq!(h.conn.state(), State::SynSent);
    assert!(h.events().is_empty());
    assert!(h.transmit().is_empty());
}

// --- fourth: check the SYN bit ---

#[test]
fn syn_ack_completes_the_handshake_and_is_acknowledged() {
    let mut h = syn_sent();
    h.advance(HANDSHAKE_RTT);
    let seg = h.peer_syn_ack(PeerSyn::default());
    assert_eq!(h.deliver(&seg), Ok(()));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.events(), vec![Event::Established]);
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (ISS + 1, IRS + 1, ACK)
    );
    assert!(out[0].payload.is_empty());
    assert_eq!(h.conn.poll_timeout(), None, "SYN timer stopped");
    assert_eq!(h.conn.connect_error(), None);
    // RFC 6298: the SYN exchange is the first RTT sample; RFC 6928 initial window.
    assert_eq!(h.conn.srtt(), Some(HANDSHAKE_RTT));
    assert_eq!(h.conn.cwnd(), 10 * 1460);
}

#[test]
fn syn_ack_options_are_negotiated_from_both_sides() {
    let mut h = syn_sent();
    let p = PeerSyn {
        mss: Some(1200),
        wscale: Some(7),
        sack: true,
        ts: Some(555),
        window: 1000,
    };
    let seg = h.peer_syn_ack(p);
    h.deliver(&seg).unwrap();
    let ack = &h.transmit()[0];
    let ts = ack.options.timestamps.expect("timestamps in use");
    assert_eq!(ts.echo, 555);
    assert_eq!(
        ack.window,
        ((64 * 1024) >> 7) as u16,
        "the initial 64 KiB window at our shift of 7"
    );
    // The SYN-ACK's window is not scaled (RFC 7323 2.2): 1000 bytes, not 1000 << 7. The
    // peer's MSS (1200, minus 12 for timestamps) would allow more.
    h.conn.send(&pattern(5000));
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.len(), 1000);
    // Later windows are scaled by the peer's shift: 100 << 7 = 12800 bytes, so the rest
    // goes out, in segments of the peer's MSS minus the timestamps option.
    h.peer_ack = ISS + 1 + 1000;
    h.peer_window = 100;
    h.input(ACK, &[]).unwrap();
    let sizes: Vec<usize> = h.transmit().iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, vec![1188, 1188, 1188, 436]);
}

#[test]
fn peer_without_window_scale_or_timestamps_turns_ours_off() {
    let mut h = syn_sent();
    let p = PeerSyn {
        mss: None,
        wscale: None,
        sack: false,
        ts: None,
        window: 65535,
    };
    let seg = h.peer_syn_ack(p);
    h.deliver(&seg).unwrap();
    let ack = &h.transmit()[0];
    assert_eq!(ack.window, 65535, "no scaling: the window field saturates");
    assert_eq!(ack.options.timestamps, None);
    h.conn.send(&pattern(3000));
    let out = h.transmit();
    assert_eq!(out[0].payload.len(), 536, "RFC 9293 3.7.1: default MSS 536");
}

#[test]
fn data_on_the_syn_ack_is_delivered() {
    let mut h = syn_sent();
    let mut seg = h.peer_syn_ack(PeerSyn::default());
    seg.payload = b"early";
    assert_eq!(h.deliver(&seg), Ok(()));
    assert_eq!(h.events(), vec![Event::Established, Event::Readable]);
    assert_eq!(h.read_all(), b"early");
    let out = h.transmit();
    assert_eq!(out.len(), 1, "one ACK covers the SYN and the data");
    assert_eq!((out[0].seq, out[0].ack), (ISS + 1, IRS + 1 + 5));
}

#[test]
fn fin_on_the_syn_ack_goes_to_close_wait() {
    let mut h = syn_sent();
    let mut seg = h.peer_syn_ack(PeerSyn::default());
    seg.flags = SYN | ACK | FIN;
    assert_eq!(h.deliver(&seg), Ok(()));
    assert_eq!(h.conn.state(), State::CloseWait);
    assert_eq!(h.events(), vec![Event::Established, Event::PeerClosed]);
    assert_eq!(h.transmit()[0].ack, IRS + 2);
}

#[test]
fn retransmitted_syn_takes_no_rtt_sample_and_starts_with_one_segment() {
    let c = Config {
        timestamps: false,
        ..config()
    };
    let mut h = Harness::syn_sent(c);
    h.transmit();
    h.fire_after(Duration::from_secs(1));
    h.advance(HANDSHAKE_RTT);
    let seg = h.peer_syn_ack(PeerSyn::default());
    h.deliver(&seg).unwrap();
    // Karn: the SYN-ACK may answer either SYN. RFC 6298 5.7: RTO 3 s; RFC 6928: IW 1.
    assert_eq!(h.conn.srtt(), None);
    assert_eq!(h.conn.rto(), Duration::from_secs(3));
    assert_eq!(h.conn.cwnd(), 1460);
}

#[test]
fn with_timestamps_a_retransmitted_syn_is_still_timed() {
    let mut h = syn_sent();
    h.fire_after(Duration::from_secs(1));
    h.advance(HANDSHAKE_RTT);
    let p = PeerSyn {
        ts: Some(1),
        ..PeerSyn::default()
    };
    let seg = h.peer_syn_ack(p); // echoes the retransmitted SYN's TSval
    h.deliver(&seg).unwrap();
    assert_eq!(h.conn.srtt(), Some(HANDSHAKE_RTT));
}

// --- fifth: neither SYN nor RST ---

#[test]
fn syn_sent_segment_without_syn_or_rst_is_dropped() {
    for (flags, ack) in [(ACK, ISS + 1), (FIN, 0), (TcpFlags::NONE, 0), (PSH, 0)] {
        let mut h = syn_sent();
        let mut seg = from_peer(flags, IRS, ack);
        seg.payload = b"data";
        assert_eq!(h.deliver(&seg), Err(DropReason::MissingSyn), "{flags:?}");
        assert_eq!(h.conn.state(), State::SynSent);
        assert!(h.transmit().is_empty());
    }
}

// --- simultaneous open (RFC 9293 Figure 8) ---

#[test]
fn syn_in_syn_sent_is_a_simultaneous_open_answered_with_syn_ack() {
    let mut h = syn_sent();
    let p = PeerSyn {
        ts: Some(77),
        ..PeerSyn::default()
    };
    let syn = syn_segment(p);
    assert_eq!(h.deliver(&syn), Ok(()));
    assert_eq!(h.conn.state(), State::SynReceived);
    assert!(h.events().is_empty());
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, same ISS as our SYN.
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (ISS, IRS + 1, SYN | ACK)
    );
    assert_eq!(out[0].options.timestamps.map(|t| t.echo), Some(77));
    // The peer's ACK of our SYN completes it.
    h.peer_seq = IRS + 1;
    h.peer_ts = Some(78);
    assert_eq!(h.input(ACK, &[]), Ok(()));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.events(), vec![Event::Established]);
}

#[test]
fn simultaneous_open_completes_on_the_peers_syn_ack() {
    // Figure 8 line 6: the peer, also in SYN-RECEIVED, sends <SEQ=IRS><ACK=ISS+1><SYN,ACK>.
    let mut h = syn_sent();
    h.deliver(&syn_segment(PeerSyn::default())).unwrap();
    h.transmit();
    let seg = h.peer_syn_ack(PeerSyn::default());
    assert_eq!(h.deliver(&seg), Ok(()));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.events(), vec![Event::Established]);
    assert_eq!(h.conn.stats().challenge_acks, 0, "not a SYN to challenge");
}

#[test]
fn rst_in_simultaneous_open_syn_received_refuses() {
    // 3.10.7.4 SYN-RECEIVED: "If this connection was initiated with an active OPEN ...
    // then the connection was refused".
    let mut h = syn_sent();
    h.deliver(&syn_segment(PeerSyn::default())).unwrap();
    h.transmit();
    h.peer_seq = IRS + 1;
    assert_eq!(h.input(RST, &[]), Ok(()));
    assert!(h.conn.is_closed());
    assert_eq!(h.events(), vec![Event::Reset]);
    assert_eq!(h.conn.connect_error(), Some(ConnectError::Refused));
}

#[test]
fn simultaneous_open_syn_ack_retransmissions_count_against_connect_retries() {
    let c = Config {
        connect_retries: 1,
        ..config()
    };
    let mut h = Harness::syn_sent(c);
    h.transmit();
    h.deliver(&syn_segment(PeerSyn::default())).unwrap();
    assert_eq!(h.transmit()[0].flags, SYN | ACK);
    assert_eq!(h.fire_after(Duration::from_secs(1))[0].flags, SYN | ACK);
    assert!(h.fire_after(Duration::from_secs(2)).is_empty());
    assert_eq!(h.events(), vec![Event::TimedOut]);
    assert_eq!(h.conn.connect_error(), Some(ConnectError::TimedOut));
}

// --- the application during SYN-SENT ---

#[test]
fn data_sent_in_syn_sent_goes_out_after_the_handshake() {
    // 3.10.2 SEND in SYN-SENT: "queue the data for transmission after entering ESTABLISHED".
    let mut h = Harness::syn_sent(config());
    assert_eq!(h.conn.send(b"hello"), 5);
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert!(out[0].payload.is_empty(), "no data on the SYN");
    let seg = h.peer_syn_ack(PeerSyn::default());
    h.deliver(&seg).unwrap();
    let out = h.transmit();
    assert_eq!(out.len(), 1, "the data carries the ACK of the SYN");
    assert_eq!((out[0].seq, out[0].ack), (ISS + 1, IRS + 1));
    assert_eq!(out[0].payload, b"hello");
}

#[test]
fn close_in_syn_sent_deletes_the_connection_silently() {
    // 3.10.4 CLOSE in SYN-SENT: "Delete the TCB"; a late SYN-ACK meets no connection.
    for abort in [false, true] {
        let mut h = syn_sent();
        if abort {
            h.conn.abort();
        } else {
            h.conn.close();
        }
        assert!(h.conn.is_closed());
        assert!(h.transmit().is_empty());
        assert_eq!(h.conn.poll_timeout(), None);
        assert!(h.events().is_empty());
    }
}
