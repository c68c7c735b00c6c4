//! RST and SYN validation (RFC 5961 sections 3 and 4), abort, challenge ACK limits.

use super::*;

/// A harness brought to `state` (one of the synchronized states).
fn in_state(state: State) -> Harness {
    let mut h = Harness::established();
    match state {
        State::Established => {}
        State::FinWait1 => {
            h.conn.close();
        }
        State::FinWait2 => {
            h.conn.close();
            h.transmit();
            h.peer_ack = ISS + 2;
            h.input(ACK, &[]).unwrap();
        }
        State::CloseWait => {
            h.input(ACK | FIN, &[]).unwrap();
        }
        State::LastAck => {
            h.input(ACK | FIN, &[]).unwrap();
            h.conn.close();
        }
        State::Closing => {
            h.conn.close();
            h.transmit();
            h.input(ACK | FIN, &[]).unwrap();
        }
        State::TimeWait => {
            h.conn.close();
            h.transmit();
            h.peer_ack = ISS + 2;
            h.input(ACK | FIN, &[]).unwrap();
        }
        _ => unreachable!(),
    }
    assert_eq!(h.conn.state(), state);
    h.transmit();
    h.events();
    h
}

const SYNCHRONIZED: [State; 7] = [
    State::Established,
    State::FinWait1,
    State::FinWait2,
    State::CloseWait,
    State::LastAck,
    State::Closing,
    State::TimeWait,
];

#[test]
fn rst_with_exact_sequence_number_resets_in_every_state() {
    for state in SYNCHRONIZED {
        let mut h = in_state(state);
        assert_eq!(h.input(RST, &[]), Ok(()), "{state:?}");
        assert!(h.conn.is_closed(), "{state:?}");
        assert!(h.transmit().is_empty(), "never answer a RST ({state:?})");
        let expected = if state == State::TimeWait {
            vec![]
        } else {
            vec![Event::Reset]
        };
        assert_eq!(h.events(), expected, "{state:?}");
    }
}

#[test]
fn in_window_rst_with_inexact_sequence_gets_a_challenge_ack() {
    for state in SYNCHRONIZED {
        let mut h = in_state(state);
        h.peer_seq += 100;
        assert_eq!(h.input(RST, &[]), Err(DropReason::BadRst), "{state:?}");
        let out = h.transmit();
        assert_eq!(out.len(), 1, "{state:?}");
        // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        assert_eq!(out[0].flags, ACK);
        assert_eq!(out[0].seq, h.peer_ack.max(out[0].seq));
        assert_eq!(h.conn.state(), state);
        assert_eq!(h.conn.stats().challenge_acks, 1);
    }
}

#[test]
fn out_of_window_rst_is_ignored() {
    for state in SYNCHRONIZED {
        let mut h = in_state(state);
        h.peer_seq = h.peer_seq.wrapping_add(10_000_000);
        assert_eq!(h.input(RST, &[]), Err(DropReason::BadRst));
        assert!(h.transmit().is_empty(), "{state:?}");
        assert_eq!(h.conn.state(), state);
    }
}

#[test]
fn rst_in_syn_received_frees_the_half_open_connection_silently() {
    let mut h = Harness::syn_received(config(), PeerSyn::default());
    h.transmit();
    assert_eq!(h.input(RST, &[]), Ok(()));
    assert!(h.conn.is_closed());
    assert!(h.events().is_empty());
    assert!(h.transmit().is_empty());
}

#[test]
fn syn_on_an_established_connection_gets_a_challenge_ack() {
    // RFC 5961 section 4.2.
    let mut h = Harness::established();
    let mut syn = syn_segment(PeerSyn::default());
    syn.seq = SeqNum(IRS + 1000);
    assert_eq!(h.deliver(&syn), Err(DropReason::UnexpectedSyn));
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (ISS + 1, IRS + 1, ACK)
    );
    assert_eq!(h.conn.state(), State::Established);
}

#[test]
fn challenge_acks_are_rate_limited_per_second() {
    let mut h = Harness::established();
    h.peer_seq += 10;
    for _ in 0..20 {
        let _ = h.input(RST, &[]);
    }
    assert_eq!(h.transmit().len(), 1, "one ACK per poll");
    assert_eq!(
        h.conn.stats().challenge_acks,
        10,
        "config.challenge_ack_limit"
    );
    h.advance(Duration::from_secs(1));
    let _ = h.input(RST, &[]);
    assert_eq!(h.conn.stats().challenge_acks, 11, "a new second");
}

#[test]
fn abort_sends_rst_at_snd_nxt_and_closes() {
    let mut h = Harness::established();
    h.conn.send(b"pending");
    h.transmit();
    h.conn.abort();
    assert!(!h.conn.is_closed(), "the RST is still to be sent");
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].seq, out[0].flags), (ISS + 8, RST));
    assert!(h.conn.is_closed());
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn segment_after_close_is_dropped_as_closed_connection() {
    let mut h = Harness::established();
    h.conn.abort();
    h.transmit();
    assert_eq!(h.input(ACK, b"x"), Err(DropReason::ClosedConnection));
}
