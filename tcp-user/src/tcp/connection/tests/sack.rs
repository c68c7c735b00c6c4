//! SACK-based loss recovery (RFC 6675) against a scripted peer that SACKs: entering
//! recovery, NextSeg and pipe, new data during recovery, the exit at RecoveryPoint, and a
//! timeout during recovery (section 5.1).

use super::*;
use crate::tcp::SackBlock;

const MSS: usize = 1460;

/// Sequence number of our `i`th full segment.
fn seg(i: usize) -> u32 {
    ISS + 1 + (i * MSS) as u32
}

/// A pure ACK of everything below segment `ack`, SACKing the segment ranges `blocks`
/// (`(first, end)` in segment numbers, most recent first).
fn sack_ack(h: &mut Harness, ack: usize, blocks: &[(usize, usize)]) {
    h.peer_ack = seg(ack);
    let mut s = h.segment(ACK, &[]);
    for &(first, end) in blocks {
        s.options.sack.push(SackBlock {
            left: SeqNum(seg(first)),
            right: SeqNum(seg(end)),
        });
    }
    h.deliver(&s).expect("ACK accepted");
}

/// Sequence numbers of the segments sent.
fn seqs(out: &[Sent]) -> Vec<u32> {
    out.iter().map(|s| s.seq).collect()
}

/// Established with a SACK-permitting peer; ten segments sent and acknowledged one by one,
/// so slow start left cwnd at 20 segments. The next segment is number 10.
fn warmed_up() -> Harness {
    let mut h = Harness::established();
    h.conn.send(&pattern(10 * MSS));
    assert_eq!(h.transmit().len(), 10);
    for i in 1..=10 {
        h.peer_ack = seg(i);
        h.input(ACK, &[]).unwrap();
    }
    assert_eq!(h.conn.cwnd(), 20 * MSS);
    h
}

/// `warmed_up`, then segments 10..30 sent (20 segments, a full cwnd).
fn twenty_in_flight(extra: usize) -> Harness {
    let mut h = warmed_up();
    h.conn.send(&pattern((20 + extra) * MSS));
    assert_eq!(h.transmit().len(), 20, "cwnd = 20 segments");
    h
}

#[test]
fn rfc6675_scoreboard_records_valid_blocks_and_ignores_the_rest() {
    let mut h = twenty_in_flight(0);
    sack_ack(&mut h, 10, &[(12, 14)]);
    assert_eq!(h.conn.scoreboard.sacked_bytes(), 2 * MSS);
    // Beyond SND.MAX, below SND.UNA (a D-SACK), inverted: ignored.
    sack_ack(&mut h, 10, &[(29, 31)]);
    sack_ack(&mut h, 10, &[(5, 6)]);
    h.peer_ack = seg(10);
    let mut s = h.segment(ACK, &[]);
    s.options.sack.push(SackBlock {
        left: SeqNum(seg(20)),
        right: SeqNum(seg(19)),
    });
    h.deliver(&s).unwrap();
    assert_eq!(h.conn.scoreboard.sacked_bytes(), 2 * MSS);
    // The cumulative ACK trims what it covers.
    sack_ack(&mut h, 10, &[(16, 18), (12, 14)]);
    sack_ack(&mut h, 14, &[(16, 18)]);
    assert_eq!(h.conn.scoreboard.sacked_bytes(), 2 * MSS);
}

#[test]
fn rfc6675_three_sacking_dupacks_enter_recovery_and_retransmit_the_first_segment() {
    let mut h = twenty_in_flight(0);
    // Segment 10 lost; 11, 12 arrive: two duplicate ACKs, IsLost(10) still false.
    sack_ack(&mut h, 10, &[(11, 12)]);
    sack_ack(&mut h, 10, &[(11, 13)]);
    assert!(!h.conn.scoreboard.is_lost(SeqNum(seg(10)), MSS));
    assert!(
        h.transmit().is_empty(),
        "nothing lost yet, nothing new to send"
    );
    assert!(!h.conn.in_recovery);
    // Third: DupAcks = DupThresh and IsLost(HighACK + 1).
    sack_ack(&mut h, 10, &[(11, 14)]);
    assert!(h.conn.in_recovery);
    assert_eq!(
        h.conn.recover,
        SeqNum(seg(30)),
        "(4.1) RecoveryPoint = HighData"
    );
    // (4.2) ssthresh = cwnd = FlightSize / 2.
    assert_eq!(h.conn.cwnd(), 10 * MSS);
    let out = h.transmit();
    assert_eq!(seqs(&out), vec![seg(10)], "(4.3) retransmit HighACK + 1");
    assert_eq!(out[0].payload.len(), MSS);
    assert_eq!(h.conn.stats().fast_retransmits, 1);
    assert_eq!(h.conn.stats().dup_acks, 3);
}

#[test]
fn rfc6675_is_lost_starts_recovery_from_one_piggybacked_ack() {
    // Bidirectional traffic: the ACK carries data, so it is no duplicate ACK, but its SACK
    // blocks show three segments above SND.UNA.
    let mut h = twenty_in_flight(0);
    h.peer_ack = seg(10);
    let mut s = h.segment(ACK, b"reply");
    s.options.sack.push(SackBlock {
        left: SeqNum(seg(11)),
        right: SeqNum(seg(14)),
    });
    h.deliver(&s).unwrap();
    assert!(h.conn.in_recovery);
    let out = h.transmit();
    assert_eq!(out[0].seq, seg(10));
}

#[test]
fn rfc6675_several_holes_in_one_window_are_all_retransmitted_without_waiting_an_rtt() {
    let mut h = twenty_in_flight(0);
    // Segments 12, 17 and 22 lost; the peer SACKs the rest as it arrives. No time passes:
    // every repair goes out on these ACKs, not one per partial ACK as NewReno would.
    let mut sent = Vec::new();
    sack_ack(&mut h, 12, &[]);
    for last in (13..30).filter(|i| ![17, 22].contains(i)) {
        let mut blocks = vec![];
        let ranges = [(23, 30), (18, 22), (13, 17)];
        for &(a, b) in &ranges {
            if last >= a {
                blocks.push((a, b.min(last + 1)));
            }
        }
        sack_ack(&mut h, 12, &blocks);
        sent.extend(h.transmit());
    }
    assert_eq!(seqs(&sent), vec![seg(12), seg(17), seg(22)]);
    assert_eq!(h.conn.stats().fast_retransmits, 1, "one recovery episode");
    assert_eq!(h.conn.high_rxt, SeqNum(seg(23)));
    // All three repairs arrive: one cumulative ACK ends recovery.
    sack_ack(&mut h, 30, &[]);
    assert!(!h.conn.in_recovery);
    assert_eq!(h.conn.stats().timeouts, 0);
}

#[test]
fn rfc6675_pipe_gates_new_data_during_recovery() {
    // More data queued than cwnd allows: 20 in flight, 10 more waiting.
    let mut h = twenty_in_flight(10);
    sack_ack(&mut h, 10, &[(11, 14)]);
    assert!(h.conn.in_recovery);
    assert_eq!(h.conn.cwnd(), 10 * MSS);
    assert_eq!(
        seqs(&h.transmit()),
        vec![seg(10)],
        "only the fast retransmit"
    );
    // SetPipe: 20 outstanding - 3 SACKed - 1 lost + 1 retransmitted.
    assert_eq!(h.conn.pipe(), 17 * MSS);
    // Each SACKed segment takes one out of pipe; nothing goes while pipe >= cwnd.
    for last in 14..21 {
        sack_ack(&mut h, 10, &[(11, last + 1)]);
        assert!(h.transmit().is_empty(), "pipe {} >= cwnd", h.conn.pipe());
    }
    assert_eq!(h.conn.pipe(), 10 * MSS);
    // Rule 2: once pipe < cwnd, new data (segment 30) goes, one segment per SACKed one.
    sack_ack(&mut h, 10, &[(11, 22)]);
    assert_eq!(seqs(&h.transmit()), vec![seg(30)]);
    sack_ack(&mut h, 10, &[(11, 23)]);
    assert_eq!(seqs(&h.transmit()), vec![seg(31)]);
    assert_eq!(h.conn.pipe(), 10 * MSS);
}

#[test]
fn rfc6675_recovery_ends_when_the_cumulative_ack_passes_recovery_point() {
    let mut h = twenty_in_flight(10);
    sack_ack(&mut h, 10, &[(11, 14)]);
    h.transmit();
    sack_ack(&mut h, 10, &[(11, 30)]);
    let new = h.transmit();
    assert_eq!(
        new.len(),
        9,
        "pipe = the retransmission only: new data fills cwnd"
    );
    // A partial ACK (RecoveryPoint is the last byte of segment 29) keeps recovery going...
    sack_ack(&mut h, 29, &[]);
    assert!(h.conn.in_recovery);
    sack_ack(&mut h, 31, &[]);
    assert!(!h.conn.in_recovery, "cumulative ACK passed RecoveryPoint");
    // ...and a later loss starts a new episode.
    sack_ack(&mut h, 31, &[(32, 35)]);
    assert!(h.conn.in_recovery);
    assert_eq!(h.conn.stats().fast_retransmits, 2);
}

#[test]
fn partial_ack_in_sack_recovery_retransmits_the_new_first_segment_before_new_data() {
    // Segments 10 and 27 lost, new data waiting. 27 has only two SACKed segments above it,
    // so IsLost says no; but the partial ACK for the repair of 10 shows it was lost (it was
    // sent before that repair), so it goes ahead of new data (as NewReno and RACK would).
    let mut h = twenty_in_flight(10);
    sack_ack(&mut h, 10, &[(11, 14)]);
    assert_eq!(seqs(&h.transmit()), vec![seg(10)]);
    sack_ack(&mut h, 10, &[(11, 27)]);
    let new = seqs(&h.transmit());
    assert!(new.iter().all(|&s| s >= seg(30)), "rule 2: {new:?}");
    sack_ack(&mut h, 27, &[(28, 30)]);
    let out = seqs(&h.transmit());
    assert_eq!(out.first(), Some(&seg(27)), "{out:?}");
}

#[test]
fn rfc6675_rescue_retransmission_repairs_a_lost_tail_once() {
    // Segments 10, 28 and 29 lost: nothing is SACKed above 29, so only rule 4 can repair it
    // before the RTO.
    let mut h = twenty_in_flight(0);
    sack_ack(&mut h, 10, &[(11, 14)]);
    assert_eq!(seqs(&h.transmit()), vec![seg(10)]);
    sack_ack(&mut h, 10, &[(11, 28)]);
    assert!(
        h.transmit().is_empty(),
        "RescueRxt: not before HighACK passes it"
    );
    // The repair of 10 arrives (partial ACK): 28 is the new head (presumed lost), then the
    // rescue retransmission takes the highest unSACKed segment, once.
    sack_ack(&mut h, 28, &[]);
    assert_eq!(seqs(&h.transmit()), vec![seg(28), seg(29)]);
    assert_eq!(
        h.conn.high_rxt,
        SeqNum(seg(29)),
        "rule 4 leaves HighRxt alone"
    );
    assert_eq!(h.conn.rescue_rxt, Some(SeqNum(seg(30))));
    sack_ack(&mut h, 28, &[]);
    assert!(h.transmit().is_empty());
    sack_ack(&mut h, 30, &[]);
    assert!(!h.conn.in_recovery);
    assert_eq!(h.conn.stats().timeouts, 0);
}

#[test]
fn rfc6675_timeout_during_recovery_resends_only_unsacked_data_in_slow_start() {
    let mut h = twenty_in_flight(0);
    // Holes at 10 and 15..17; the fast retransmit of 10 and the repair of 15 are lost too.
    sack_ack(&mut h, 10, &[(11, 15), (17, 30)]);
    let out = h.transmit();
    assert_eq!(seqs(&out), vec![seg(10), seg(15), seg(16)]);
    // RTO (200 ms minimum): section 5.1, RecoveryPoint = HighData, slow start from 1 SMSS.
    let rto = h.conn.rto();
    let out = h.fire_after(rto);
    assert_eq!(seqs(&out), vec![seg(10)], "SND.UNA first, cwnd = 1 SMSS");
    assert_eq!(h.conn.cwnd(), MSS);
    assert!(h.conn.rto_recovery);
    assert_eq!(h.conn.stats().timeouts, 1);
    // Its ACK: cwnd grows; the SACKed 11..15 are skipped, the hole is resent.
    sack_ack(&mut h, 15, &[(17, 30)]);
    assert_eq!(h.conn.cwnd(), 3 * MSS, "slow start, RFC 3465 L = 2 SMSS");
    assert_eq!(seqs(&h.transmit()), vec![seg(15), seg(16)]);
    sack_ack(&mut h, 30, &[]);
    assert!(!h.conn.in_recovery && !h.conn.rto_recovery);
    // 20 segments, 3 holes: 3 fast repairs + 3 after the timeout, nothing SACKed resent.
    assert_eq!(h.conn.stats().retransmissions, 6);
}

#[test]
fn cumulative_ack_stopping_in_sacked_data_means_reneging_and_clears_the_scoreboard() {
    let mut h = twenty_in_flight(0);
    sack_ack(&mut h, 10, &[(12, 14)]);
    sack_ack(&mut h, 12, &[]);
    assert!(
        h.conn.scoreboard.is_empty(),
        "12 was SACKed but the ACK stops there"
    );
}

#[test]
fn retransmission_lost_again_is_resent_once_later_data_is_sacked() {
    // Linux `tcp_mark_lost_retrans`: the repair of 10 is lost too; new data sent after it
    // (30..) gets SACKed, which shows the repair should have arrived by now.
    let mut h = twenty_in_flight(10);
    sack_ack(&mut h, 10, &[(11, 14)]);
    assert_eq!(seqs(&h.transmit()), vec![seg(10)]);
    sack_ack(&mut h, 10, &[(11, 30)]);
    assert_eq!(h.transmit().len(), 9, "new data 30..39 under pipe");
    sack_ack(&mut h, 10, &[(11, 32)]);
    assert!(
        h.transmit().iter().all(|s| s.seq != seg(10)),
        "two segments: not yet"
    );
    sack_ack(&mut h, 10, &[(11, 33)]);
    let out = seqs(&h.transmit());
    assert_eq!(out.first(), Some(&seg(10)), "{out:?}");
    assert_eq!(h.conn.stats().lost_retransmissions, 1);
    assert_eq!(h.conn.stats().timeouts, 0);
}
