//! Segments that match no connection: RFC 9293 section 3.10.7.1 (CLOSED) and 3.10.7.2
//! (LISTEN).

use super::{Segment, SeqNum, TcpFlags};
use crate::stats::DropReason;

/// What to do with a segment that matched no connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmatched {
    /// A SYN (no ACK, no RST) for a listening port: create a connection with
    /// [`Connection::accept`](super::Connection::accept).
    Accept,
    /// Send this RST (ports already swapped).
    Reset(Segment<'static>),
    /// Discard, counted under this reason.
    Drop(DropReason),
}

/// Decides the fate of a segment for which no connection exists; `listening` says whether
/// the destination port has a listener.
pub fn handle_unmatched(seg: &Segment, listening: bool) -> Unmatched {
    // 3.10.7.1/3.10.7.2: "An incoming segment containing a RST is discarded."
    if seg.flags.rst() {
        return Unmatched::Drop(DropReason::NoConnectionRst);
    }
    if listening {
        // 3.10.7.2 second: "any acknowledgment is bad if it arrives on a connection still in
        // the LISTEN state. An acceptable reset segment should be formed ... <SEQ=SEG.ACK>".
        if seg.flags.ack() {
            return Unmatched::Reset(reset_for(seg));
        }
        // third: a SYN starts a connection (SYN+FIN is never valid; the parser should have
        // dropped it, but do not trust it).
        if seg.flags.syn() {
            return if seg.flags.fin() {
                Unmatched::Drop(DropReason::BadFlags)
            } else {
                Unmatched::Accept
            };
        }
        // fourth: "Any other control or text-bearing segment ... drop the segment".
        return Unmatched::Drop(DropReason::MissingAck);
    }
    Unmatched::Reset(reset_for(seg))
}

/// The RST answering `seg` (RFC 9293 section 3.10.7.1): "If the ACK bit is off, sequence
/// number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on,
/// <SEQ=SEG.ACK><CTL=RST>".
pub fn reset_for(seg: &Segment) -> Segment<'static> {
    let mut rst = Segment {
        src_port: seg.dst_port,
        dst_port: seg.src_port,
        ..Segment::default()
    };
    if seg.flags.ack() {
        rst.seq = seg.ack;
        rst.flags = TcpFlags::RST;
    } else {
        rst.seq = SeqNum(0);
        rst.ack = seg.seq + seg.seq_len();
        rst.flags = TcpFlags::RST | TcpFlags::ACK;
    }
    rst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Segment<'_> {
        Segment {
            src_port: 40000,
            dst_port: 80,
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags,
            window: 1000,
            payload,
            ..Segment::default()
        }
    }

    #[test]
    fn listen_syn_is_accepted() {
        let s = seg(TcpFlags::SYN, 100, 0, &[]);
        assert_eq!(handle_unmatched(&s, true), Unmatched::Accept);
    }

    #[test]
    fn rst_is_never_answered() {
        for listening in [false, true] {
            let s = seg(TcpFlags::RST | TcpFlags::ACK, 1, 2, &[]);
            assert_eq!(
                handle_unmatched(&s, listening),
                Unmatched::Drop(DropReason::NoConnectionRst)
            );
        }
    }

    #[test]
    fn listen_ack_gets_rst_seq_seg_ack() {
        // RFC 9293 3.10.7.2: <SEQ=SEG.ACK><CTL=RST>
        let s = seg(TcpFlags::ACK, 100, 5000, b"x");
        let Unmatched::Reset(r) = handle_unmatched(&s, true) else {
            panic!("expected reset")
        };
        assert_eq!(
            (r.seq, r.flags, r.src_port, r.dst_port),
            (SeqNum(5000), TcpFlags::RST, 80, 40000)
        );
    }

    #[test]
    fn listen_syn_ack_gets_rst() {
        let s = seg(TcpFlags::SYN | TcpFlags::ACK, 100, 5000, &[]);
        let Unmatched::Reset(r) = handle_unmatched(&s, true) else {
            panic!("expected reset")
        };
        assert_eq!((r.seq, r.flags), (SeqNum(5000), TcpFlags::RST));
    }

    #[test]
    fn listen_segment_without_syn_or_ack_is_dropped() {
        let s = seg(TcpFlags::NONE, 100, 0, b"abc");
        assert_eq!(
            handle_unmatched(&s, true),
            Unmatched::Drop(DropReason::MissingAck)
        );
        let s = seg(TcpFlags::SYN | TcpFlags::FIN, 100, 0, &[]);
        assert_eq!(
            handle_unmatched(&s, true),
            Unmatched::Drop(DropReason::BadFlags)
        );
    }

    #[test]
    fn closed_syn_gets_rst_ack_with_seq_zero() {
        // RFC 9293 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        let s = seg(TcpFlags::SYN, 100, 0, &[]);
        let Unmatched::Reset(r) = handle_unmatched(&s, false) else {
            panic!("expected reset")
        };
        assert_eq!(r.seq, SeqNum(0));
        assert_eq!(r.ack, SeqNum(101));
        assert_eq!(r.flags, TcpFlags::RST | TcpFlags::ACK);
    }

    #[test]
    fn closed_data_without_ack_counts_payload_and_fin() {
        let s = seg(TcpFlags::FIN, 100, 0, b"hello");
        let Unmatched::Reset(r) = handle_unmatched(&s, false) else {
            panic!("expected reset")
        };
        assert_eq!(r.ack, SeqNum(106));
    }

    #[test]
    fn closed_ack_gets_rst_seq_seg_ack() {
        let s = seg(TcpFlags::ACK | TcpFlags::PSH, 100, 777, b"hello");
        let Unmatched::Reset(r) = handle_unmatched(&s, false) else {
            panic!("expected reset")
        };
        assert_eq!((r.seq, r.flags), (SeqNum(777), TcpFlags::RST));
    }
}
