//! Passive open: RFC 9293 section 3.10.7.2 and the SYN-RECEIVED parts of 3.10.7.4.

use super::*;

#[test]
fn syn_ack_carries_mss_and_the_options_the_peer_offered() {
    let p = PeerSyn {
        wscale: Some(7),
        ts: Some(777),
        ..PeerSyn::default()
    };
    let mut h = Harness::syn_received(config(), p);
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    let s = &out[0];
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    assert_eq!((s.seq, s.ack, s.flags), (ISS, IRS + 1, SYN | ACK));
    assert_eq!(s.options.mss, Some(1460));
    // A 4 MiB limit needs shift 7 to fit 16 bits.
    assert_eq!(s.options.window_scale, Some(7));
    assert!(s.options.sack_permitted);
    assert_eq!(s.options.timestamps.map(|t| t.echo), Some(777));
    // RFC 7323 2.2: the SYN-ACK window is not scaled.
    assert_eq!(s.window, 65535);
    assert_eq!(h.conn.state(), State::SynReceived);
}

#[test]
fn syn_ack_omits_options_the_peer_did_not_offer() {
    let p = PeerSyn {
        mss: None,
        wscale: None,
        sack: false,
        ts: None,
        window: 1000,
    };
    let mut h = Harness::syn_received(config(), p);
    let s = &h.transmit()[0];
    assert_eq!(s.options.mss, Some(1460), "MSS is always sent");
    assert_eq!(s.options.window_scale, None);
    assert!(!s.options.sack_permitted);
    assert_eq!(s.options.timestamps, None);
}

#[test]
fn config_can_refuse_offered_options() {
    let c = Config {
        window_scaling: false,
        sack: false,
        timestamps: false,
        ..config()
    };
    let p = PeerSyn {
        ts: Some(1),
        ..PeerSyn::default()
    };
    let mut h = Harness::syn_received(c, p);
    let s = &h.transmit()[0];
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
fn handshake_completes_on_ack_of_iss_plus_one() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    assert_eq!(h.input(ACK, &[]), Ok(()));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.events(), vec![Event::Established]);
    assert!(h.transmit().is_empty(), "nothing to answer");
    assert_eq!(h.conn.poll_timeout(), None, "no timer once idle");
}

#[test]
fn syn_received_bad_ack_gets_rst_with_seq_seg_ack() {
    // RFC 9293 3.10.7.4 SYN-RECEIVED: "form a reset segment <SEQ=SEG.ACK><CTL=RST>".
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    h.peer_ack = ISS + 7;
    assert_eq!(h.input(ACK, &[]), Err(DropReason::BadAck));
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].seq, out[0].flags), (ISS + 7, RST));
    assert_eq!(
        h.conn.state(),
        State::SynReceived,
        "the half-open connection survives"
    );
    h.peer_ack = ISS; // acknowledges nothing: also bad
    assert_eq!(h.input(ACK, &[]), Err(DropReason::BadAck));
    assert_eq!(h.transmit()[0].seq, ISS);
}

#[test]
fn lost_syn_ack_is_retransmitted_at_1_2_4_8_16_s_then_given_up_silently() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    assert_eq!(h.transmit().len(), 1);
    for secs in [1, 2, 4, 8, 16] {
        let out = h.fire_after(Duration::from_secs(secs));
        assert_eq!(out.len(), 1, "SYN-ACK retransmitted after {secs} s");
        assert_eq!((out[0].seq, out[0].flags), (ISS, SYN | ACK));
    }
    assert_eq!(h.conn.stats().retransmissions, 5);
    // syn_retries = 5 exhausted: after the last backoff period the request is dropped
    // without a RST.
    let out = h.fire_after(Duration::from_secs(32));
    assert!(out.is_empty(), "no RST for a half-open connection: {out:?}");
    assert!(h.conn.is_closed());
    assert_eq!(h.events(), vec![Event::TimedOut]);
}

#[test]
fn lost_final_ack_then_data_with_ack_is_accepted() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    let out = h.fire_after(Duration::from_secs(1));
    assert_eq!(out[0].flags, SYN | ACK);
    h.advance(Duration::from_millis(5));
    assert_eq!(h.input(ACK | PSH, b"GET / HTTP/1.1\r\n\r\n"), Ok(()));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.events(), vec![Event::Established, Event::Readable]);
    assert_eq!(h.read_all(), b"GET / HTTP/1.1\r\n\r\n");
    // RFC 6928 section 2: the SYN-ACK was lost, so the initial window is one segment.
    assert_eq!(h.conn.cwnd(), 1460);
}

#[test]
fn data_on_the_final_ack_is_accepted_and_ack_is_delayed() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    assert_eq!(h.input(ACK, b"hello"), Ok(()));
    assert_eq!(h.events(), vec![Event::Established, Event::Readable]);
    assert!(
        h.transmit().is_empty(),
        "RFC 5681 4.2: the ACK may be delayed"
    );
    let out = h.fire_after(Duration::from_millis(40));
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (ISS + 1, IRS + 6, ACK)
    );
    assert_eq!(h.read_all(), b"hello");
}

#[test]
fn retransmitted_syn_in_syn_received_gets_the_syn_ack_again() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    let syn = syn_segment(PeerSyn::default());
    assert_eq!(h.deliver(&syn), Ok(()));
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (ISS, IRS + 1, SYN | ACK)
    );
}

#[test]
fn retransmitted_syn_with_newer_tsval_is_echoed_in_the_repeated_syn_ack() {
    // RFC 7323 4.3: SEG.SEQ =< Last.ACK.sent, so its TSval becomes TS.Recent; the peer can
    // then time the handshake from TSecr although Karn forbids timing the SYN itself.
    let p = PeerSyn {
        ts: Some(100),
        ..PeerSyn::default()
    };
    let mut h = Harness::syn_received(config(), p);
    h.transmit();
    h.advance(Duration::from_secs(1));
    let mut syn = syn_segment(p);
    syn.options.timestamps = Some(Timestamps {
        value: 1100,
        echo: 0,
    });
    assert_eq!(h.deliver(&syn), Ok(()));
    let out = h.transmit();
    assert_eq!(out[0].options.timestamps.map(|t| t.echo), Some(1100));
}

#[test]
fn fin_with_the_final_ack_goes_to_close_wait() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    assert_eq!(h.input(ACK | FIN, &[]), Ok(()));
    assert_eq!(h.conn.state(), State::CloseWait);
    assert_eq!(h.events(), vec![Event::Established, Event::PeerClosed]);
    let out = h.transmit();
    assert_eq!(
        (out[0].ack, out[0].flags),
        (IRS + 2, ACK),
        "FIN acknowledged at once"
    );
}

#[test]
fn fin_without_ack_in_syn_received_is_dropped() {
    // RFC 9293 3.10.7.4 fifth: "if the ACK bit is off, drop the segment".
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    assert_eq!(h.input(FIN, &[]), Err(DropReason::MissingAck));
    assert_eq!(h.conn.state(), State::SynReceived);
}

#[test]
fn handshake_rtt_is_measured_from_the_syn_ack() {
    let h = Harness::established();
    // RFC 6298 2.2: SRTT = R = 10 ms, RTTVAR = 5 ms, RTO = 30 ms -> clamped to 200 ms.
    assert_eq!(h.conn.srtt(), Some(HANDSHAKE_RTT));
    assert_eq!(h.conn.rto(), Duration::from_millis(200));
    assert_eq!(h.conn.cwnd(), 10 * 1460, "RFC 6928 initial window");
}

#[test]
fn timestamps_are_echoed_and_ts_recent_follows_rfc7323() {
    let p = PeerSyn {
        ts: Some(100),
        ..PeerSyn::default()
    };
    let mut h = Harness::established_with(config(), p);
    h.peer_ts = Some(150);
    h.input(ACK, b"x").unwrap();
    let out = h.fire_after(Duration::from_millis(40));
    let ts = out[0].options.timestamps.expect("TS in every segment");
    assert_eq!(ts.echo, 150, "TS.Recent updated from an in-order segment");
    assert_eq!(ts.value, h.conn.ts_now(h.now));
    // The effective MSS leaves room for the 12-byte option.
    h.conn.send(&pattern(3000));
    let out = h.transmit();
    assert_eq!(out[0].payload.len(), 1448);
}

#[test]
fn an_mss_of_zero_counts_as_absent_and_a_tiny_one_is_raised_to_48() {
    // RFC 9293 3.7.1 (536 without the option) and Linux's rules for nonsense values.
    let max_payload = |mss: Option<u16>| {
        let mut h = Harness::established_with(
            config(),
            PeerSyn {
                mss,
                ..PeerSyn::default()
            },
        );
        h.conn.send(&[0u8; 5000]);
        h.transmit().iter().map(|s| s.payload.len()).max().unwrap()
    };
    assert_eq!(max_payload(None), 536);
    assert_eq!(max_payload(Some(0)), 536);
    assert_eq!(max_payload(Some(1)), 48);
    assert_eq!(max_payload(Some(47)), 48);
    assert_eq!(max_payload(Some(100)), 100);
}
