//! Teardown: RFC 9293 section 3.10.4 (CLOSE), 3.10.7.4 eighth step (FIN) and the TIME-WAIT
//! rules, in every state a FIN can meet.

use super::*;

#[test]
fn passive_close_fin_close_wait_then_last_ack_then_closed() {
    let mut h = Harness::established();
    assert_eq!(h.input(ACK | FIN, &[]), Ok(()));
    assert_eq!(h.conn.state(), State::CloseWait);
    assert_eq!(h.events(), vec![Event::PeerClosed]);
    let out = h.transmit();
    assert_eq!(
        (out[0].ack, out[0].flags),
        (IRS + 2, ACK),
        "FIN acknowledged at once"
    );
    assert_eq!(h.conn.send(b"bye"), 3, "CLOSE-WAIT may still send");
    h.conn.close();
    assert_eq!(h.conn.state(), State::LastAck);
    let out = h.transmit();
    assert_eq!(out.len(), 1, "data and FIN in one segment");
    assert_eq!((out[0].seq, out[0].flags), (ISS + 1, ACK | FIN | PSH));
    assert_eq!(out[0].payload, b"bye");
    h.peer_ack = ISS + 5;
    h.input(ACK, &[]).unwrap();
    assert!(h.conn.is_closed());
    assert_eq!(h.events(), vec![Event::Closed]);
}

#[test]
fn active_close_fin_wait_1_fin_wait_2_time_wait_closed() {
    let mut h = Harness::established();
    h.conn.close();
    assert_eq!(h.conn.state(), State::FinWait1);
    assert_eq!(h.conn.send(b"late"), 0, "no sending after close");
    let out = h.transmit();
    assert_eq!((out[0].seq, out[0].flags), (ISS + 1, ACK | FIN));
    h.peer_ack = ISS + 2;
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.conn.state(), State::FinWait2);
    // The peer may still send data in FIN-WAIT-2.
    h.input(ACK | PSH, b"tail").unwrap();
    assert_eq!(h.read_all(), b"tail");
    h.input(ACK | FIN, &[]).unwrap();
    assert_eq!(h.conn.state(), State::TimeWait);
    let out = h.transmit();
    assert_eq!((out[0].ack, out[0].flags), (IRS + 1 + 4 + 1, ACK));
    assert_eq!(
        h.events(),
        vec![Event::Readable, Event::PeerClosed, Event::Closed]
    );
    // 2 * MSL (MSL = 1 s in tests).
    assert_eq!(h.conn.poll_timeout(), Some(h.now + Duration::from_secs(2)));
    h.run_until(h.now + Duration::from_secs(2));
    assert!(h.conn.is_closed());
}

#[test]
fn fin_ack_of_our_fin_in_fin_wait_1_goes_straight_to_time_wait() {
    let mut h = Harness::established();
    h.conn.close();
    h.transmit();
    h.peer_ack = ISS + 2;
    h.input(ACK | FIN, &[]).unwrap();
    assert_eq!(h.conn.state(), State::TimeWait);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut h = Harness::established();
    h.conn.close();
    h.transmit();
    // The peer's FIN crossed ours: it does not acknowledge our FIN.
    h.input(ACK | FIN, &[]).unwrap();
    assert_eq!(h.conn.state(), State::Closing);
    let out = h.transmit();
    assert_eq!((out[0].ack, out[0].flags), (IRS + 2, ACK));
    h.peer_ack = ISS + 2;
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.conn.state(), State::TimeWait);
    assert_eq!(h.events(), vec![Event::PeerClosed, Event::Closed]);
}

#[test]
fn fin_is_retransmitted_like_data() {
    let mut h = Harness::established();
    h.conn.send(b"abc");
    h.conn.close();
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].flags, ACK | PSH | FIN);
    let out = h.fire_after(Duration::from_millis(200));
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].flags, out[0].payload.len()),
        (ISS + 1, ACK | PSH | FIN, 3)
    );
    // Data acknowledged but not the FIN: only the FIN is resent.
    h.peer_ack = ISS + 4;
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.conn.state(), State::FinWait1);
    let out = h.fire_after(Duration::from_millis(200));
    assert_eq!(
        (out[0].seq, out[0].flags, out[0].payload.len()),
        (ISS + 4, ACK | FIN, 0)
    );
}

#[test]
fn time_wait_reacks_a_retransmitted_fin_and_restarts_2msl() {
    let mut h = Harness::established();
    h.conn.close();
    h.transmit();
    h.peer_ack = ISS + 2;
    h.input(ACK | FIN, &[]).unwrap();
    h.transmit();
    h.advance(Duration::from_millis(1500));
    h.peer_seq = IRS + 1; // our ACK was lost: the peer retransmits its FIN
    assert_eq!(h.input(ACK | FIN, &[]), Err(DropReason::OutOfWindow));
    let out = h.transmit();
    assert_eq!((out[0].ack, out[0].flags), (IRS + 2, ACK));
    assert_eq!(
        h.conn.poll_timeout(),
        Some(h.now + Duration::from_secs(2)),
        "2MSL restarted"
    );
    assert_eq!(h.conn.state(), State::TimeWait);
}

#[test]
fn retransmitted_fin_in_close_wait_and_last_ack_is_reacked() {
    let mut h = Harness::established();
    h.input(ACK | FIN, &[]).unwrap();
    h.transmit();
    h.peer_seq = IRS + 1;
    assert_eq!(h.input(ACK | FIN, &[]), Err(DropReason::OutOfWindow));
    assert_eq!(h.transmit()[0].ack, IRS + 2);
    h.conn.close();
    h.transmit();
    h.peer_seq = IRS + 1;
    assert_eq!(h.input(ACK | FIN, &[]), Err(DropReason::OutOfWindow));
    assert_eq!(h.transmit()[0].ack, IRS + 2);
    assert_eq!(h.conn.state(), State::LastAck);
}

#[test]
fn close_in_syn_received_sends_fin_after_the_handshake() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    h.conn.close();
    assert!(h.transmit().is_empty());
    h.input(ACK, &[]).unwrap();
    assert_eq!(h.conn.state(), State::FinWait1);
    let out = h.transmit();
    assert_eq!((out[0].seq, out[0].flags), (ISS + 1, ACK | FIN));
}

#[test]
fn fin_wait_2_times_out_when_the_peer_goes_silent() {
    let mut h = Harness::established();
    h.conn.close();
    h.transmit();
    h.peer_ack = ISS + 2;
    h.input(ACK, &[]).unwrap();
    let out = h.fire_after(Duration::from_secs(60));
    assert_eq!((out[0].seq, out[0].flags), (ISS + 2, RST));
    assert!(h.conn.is_closed());
    assert_eq!(h.events(), vec![Event::TimedOut]);
}

#[test]
fn time_wait_accepts_a_new_syn_only_above_rcv_nxt_or_with_newer_timestamp() {
    let p = PeerSyn {
        ts: Some(500),
        ..PeerSyn::default()
    };
    let mut h = Harness::established_with(config(), p);
    h.conn.close();
    h.transmit();
    h.peer_ack = ISS + 2;
    h.peer_ts = Some(600);
    h.input(ACK | FIN, &[]).unwrap();
    assert_eq!(h.conn.state(), State::TimeWait);
    let mut syn = syn_segment(PeerSyn {
        ts: Some(600),
        ..PeerSyn::default()
    });
    syn.seq = SeqNum(IRS + 2); // == RCV.NXT, same TSval: refused
    assert!(!h.conn.time_wait_accepts_syn(&syn));
    syn.seq = SeqNum(IRS + 100_000);
    assert!(h.conn.time_wait_accepts_syn(&syn), "SEG.SEQ > RCV.NXT");
    syn.seq = SeqNum(IRS);
    syn.options.timestamps = Some(Timestamps {
        value: 601,
        echo: 0,
    });
    assert!(
        h.conn.time_wait_accepts_syn(&syn),
        "newer timestamp (RFC 6191)"
    );
    syn.flags = SYN | ACK;
    assert!(!h.conn.time_wait_accepts_syn(&syn));
    assert!(h.conn.time_wait_isn_floor().0 > ISS + 2);
}

#[test]
fn syn_in_time_wait_gets_a_challenge_ack() {
    let mut h = Harness::established();
    h.conn.close();
    h.transmit();
    h.peer_ack = ISS + 2;
    h.input(ACK | FIN, &[]).unwrap();
    h.transmit();
    assert_eq!(h.input(SYN, &[]), Err(DropReason::UnexpectedSyn));
    let out = h.transmit();
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (ISS + 2, IRS + 2, ACK)
    );
}
