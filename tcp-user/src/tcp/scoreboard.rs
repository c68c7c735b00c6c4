//! The sender's SACK scoreboard (RFC 6675 section 3): which ranges above SND.UNA the peer
//! reported holding, and the questions loss recovery asks of it: IsLost, SetPipe and
//! NextSeg (RFC 6675 section 4). Fixed capacity (the ranges live in a [`Reassembly`]), no
//! allocation. It knows nothing of timers or congestion control: the connection passes
//! what it needs in a [`FlightView`].

use super::reassembly::Reassembly;
use super::SeqNum;

/// DupThresh (RFC 6675 section 2, RFC 5681 section 3.2).
pub const DUP_THRESH: usize = 3;

/// The sender state the scoreboard's answers depend on. Sequence numbers are half-open
/// bounds: `high_rxt` is the RFC's HighRxt + 1, `max` its HighData + 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlightView {
    /// SND.UNA (HighACK + 1).
    pub una: SeqNum,
    /// SND.MAX: everything below was sent at least once.
    pub max: SeqNum,
    /// Everything below was retransmitted in the current recovery (`una` outside one).
    pub high_rxt: SeqNum,
    /// Every unSACKed byte below this counts as lost whatever the SACKs say: the whole
    /// window after a timeout (Linux's Loss state), or the first segment when a partial ACK
    /// or the fast retransmit presumes it lost. `una` when nothing is so marked.
    pub lost_below: SeqNum,
    /// SMSS.
    pub mss: usize,
}

/// UnSACKed bytes `[start, end)` between SND.UNA and SND.MAX, of which `[start, lost_end)`
/// are lost. The SACK rule of IsLost gives the same answer for every byte of a hole (no
/// SACKed byte lies inside it), so a hole is lost whole, or only up to `lost_below`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hole {
    /// First sequence number of the hole.
    pub start: SeqNum,
    /// End of the hole (exclusive).
    pub end: SeqNum,
    /// End of the part of the hole deemed lost (RFC 6675 IsLost).
    pub lost_end: SeqNum,
}

/// SACKed ranges above SND.UNA, sorted and disjoint (RFC 6675 "scoreboard").
#[derive(Clone, Debug, Default)]
pub struct Scoreboard {
    sacked: Reassembly,
}

impl Scoreboard {
    /// True when nothing is SACKed.
    pub fn is_empty(&self) -> bool {
        self.sacked.is_empty()
    }

    /// Forgets every SACK (after reneging).
    pub fn clear(&mut self) {
        self.sacked.clear();
    }

    /// RFC 6675 Update(): records the block `[left, right)` (already validated against
    /// SND.UNA and SND.MAX by the caller). Returns how many bytes it newly SACKed. When all
    /// ranges are in use a block that needs one more is dropped: the data it reports is
    /// then simply treated as not SACKed (conservative).
    pub fn insert(&mut self, left: SeqNum, right: SeqNum) -> usize {
        let before = self.sacked_bytes();
        self.sacked.insert(left, right);
        self.sacked_bytes() - before
    }

    /// Drops what the cumulative ACK `una` covers. Returns false, and clears the
    /// scoreboard, when `una` stops at or inside a SACKed range: the receiver discarded
    /// data it had SACKed (reneging, RFC 2018 section 8), so the SACKs cannot be trusted.
    pub fn acknowledge(&mut self, una: SeqNum) -> bool {
        let reneged = (0..self.sacked.len()).any(|i| {
            let (left, right) = self.sacked.range(i);
            left <= una && una < right
        });
        if reneged {
            self.sacked.clear();
        } else {
            self.sacked.trim_below(una);
        }
        !reneged
    }

    /// True when `seq` was SACKed.
    pub fn is_sacked(&self, seq: SeqNum) -> bool {
        (0..self.sacked.len()).any(|i| {
            let (left, right) = self.sacked.range(i);
            seq.in_range(left, right)
        })
    }

    /// Left edge of the first SACKed range above `seq`, if any.
    pub fn next_sacked(&self, seq: SeqNum) -> Option<SeqNum> {
        (0..self.sacked.len())
            .map(|i| self.sacked.range(i).0)
            .find(|&left| left > seq)
    }

    /// Right edge of the highest SACKed range.
    pub fn highest_sacked(&self) -> Option<SeqNum> {
        let n = self.sacked.len();
        (n > 0).then(|| self.sacked.range(n - 1).1)
    }

    /// Total SACKed bytes.
    pub fn sacked_bytes(&self) -> usize {
        (0..self.sacked.len())
            .map(|i| {
                let (left, right) = self.sacked.range(i);
                right - left
            })
            .sum()
    }

    /// RFC 6675 IsLost(SeqNum): "returns true when either DupThresh discontiguous SACKed
    /// sequences have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with
    /// sequence numbers greater than 'SeqNum' have been SACKed". SACKed sequences are
    /// counted as segments of up to `mss` bytes per range.
    pub fn is_lost(&self, seq: SeqNum, mss: usize) -> bool {
        let (mut bytes, mut segments) = (0, 0);
        for i in 0..self.sacked.len() {
            let (left, right) = self.sacked.range(i);
            if right > seq + 1 {
                let n = right - left.max(seq + 1);
                bytes += n;
                segments += n.div_ceil(mss.max(1));
            }
        }
        sack_says_lost(bytes, segments, mss)
    }

    /// The holes between `f.una` and `f.max`, lowest first.
    pub fn holes(&self, f: &FlightView) -> Holes<'_> {
        let mss = f.mss.max(1);
        let (mut bytes, mut segments) = (0, 0);
        for i in 0..self.sacked.len() {
            let (left, right) = self.sacked.range(i);
            bytes += right - left;
            segments += (right - left).div_ceil(mss);
        }
        Holes {
            board: self,
            view: *f,
            next: 0,
            cursor: f.una,
            bytes_above: bytes,
            segments_above: segments,
        }
    }

    /// RFC 6675 SetPipe(): the bytes the sender believes are in the network. For each
    /// unSACKed byte below HighData: "(a) If IsLost (S1) returns false: Pipe is incremented
    /// by 1 octet. (b) If S1 <= HighRxt: Pipe is incremented by 1 octet."
    pub fn pipe(&self, f: &FlightView) -> usize {
        self.holes(f)
            .map(|h| {
                let not_lost = h.end - h.lost_end;
                let retransmitted = h.end.min(f.high_rxt) - h.start;
                not_lost + retransmitted
            })
            .sum()
    }

    /// NextSeg() rule 1: the first lost byte not yet retransmitted, and where its segment
    /// (at most `mss`, never past the hole) ends. "(1.a) S2 is greater than HighRxt. (1.b)
    /// S2 is less than the highest octet covered by any received SACK. (1.c) IsLost (S2)
    /// returns true." (1.b holds for SACK-lost holes; a `lost_below` marking may go past
    /// the highest SACK, which is what retransmitting after a timeout needs.)
    pub fn next_lost(&self, f: &FlightView) -> Option<(SeqNum, SeqNum)> {
        self.holes(f).find_map(|h| {
            let s = h.start.max(f.high_rxt);
            (s < h.lost_end).then(|| (s, h.lost_end.min(s + f.mss)))
        })
    }

    /// NextSeg() rule 3: "If the conditions for rules (1) and (2) fail, but there exists an
    /// unSACKed sequence number S3 that meets the criteria for detecting loss given in steps
    /// (1.a) and (1.b) above (specifically excluding step (1.c)), then one segment of up to
    /// SMSS octets starting with S3 SHOULD be returned."
    pub fn next_unsacked(&self, f: &FlightView) -> Option<(SeqNum, SeqNum)> {
        let highest = self.highest_sacked()?;
        self.holes(f).take_while(|h| h.end < highest).find_map(|h| {
            let s = h.start.max(f.high_rxt);
            (s < h.end).then(|| (s, h.end.min(s + f.mss)))
        })
    }

    /// NextSeg() rule 4, the rescue retransmission: "one segment of up to SMSS octets that
    /// MUST include the highest outstanding unSACKed sequence number" (unless that was
    /// already retransmitted in this recovery).
    pub fn rescue(&self, f: &FlightView) -> Option<(SeqNum, SeqNum)> {
        let last = self.holes(f).last().filter(|h| h.end > f.high_rxt)?;
        let start = if last.end - last.start > f.mss {
            last.end.minus(f.mss)
        } else {
            last.start
        };
        Some((start, last.end))
    }
}

/// The SACK half of IsLost, from what was SACKed above a sequence number.
fn sack_says_lost(bytes: usize, segments: usize, mss: usize) -> bool {
    segments >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss
}

/// Iterator over the holes of a [`Scoreboard`] (see [`Scoreboard::holes`]).
pub struct Holes<'a> {
    board: &'a Scoreboard,
    view: FlightView,
    /// Next range to pass.
    next: usize,
    /// Start of the next hole.
    cursor: SeqNum,
    /// SACKed bytes and segments at or above `next`.
    bytes_above: usize,
    segments_above: usize,
}

impl Iterator for Holes<'_> {
    type Item = Hole;

    fn next(&mut self) -> Option<Hole> {
        let f = &self.view;
        while self.cursor < f.max {
            let start = self.cursor;
            let lost = sack_says_lost(self.bytes_above, self.segments_above, f.mss);
            let end = if self.next < self.board.sacked.len() {
                let (left, right) = self.board.sacked.range(self.next);
                self.next += 1;
                self.bytes_above -= right - left;
                self.segments_above -= (right - left).div_ceil(f.mss.max(1));
                self.cursor = right.max(start);
                left.min(f.max)
            } else {
                self.cursor = f.max;
                f.max
            };
            if start < end {
                let lost_end = if lost {
                    end
                } else {
                    f.lost_below.max(start).min(end)
                };
                return Some(Hole {
                    start,
                    end,
                    lost_end,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 100;

    fn s(n: u32) -> SeqNum {
        SeqNum(n)
    }

    /// Ten segments of 100 bytes sent from 1000; no recovery marks.
    fn view() -> FlightView {
        FlightView {
            una: s(1000),
            max: s(2000),
            high_rxt: s(1000),
            lost_below: s(1000),
            mss: MSS,
        }
    }

    #[test]
    fn rfc6675_update_merges_blocks_and_reports_newly_sacked_bytes() {
        let mut b = Scoreboard::default();
        assert_eq!(b.insert(s(1200), s(1300)), 100);
        assert_eq!(b.insert(s(1250), s(1400)), 100, "overlap counted once");
        assert_eq!(b.insert(s(1200), s(1400)), 0, "nothing new");
        assert!(b.is_sacked(s(1399)) && !b.is_sacked(s(1400)));
        assert_eq!(b.highest_sacked(), Some(s(1400)));
        assert_eq!(b.next_sacked(s(1000)), Some(s(1200)));
    }

    #[test]
    fn rfc6675_is_lost_needs_dupthresh_segments_or_more_than_two_smss_above() {
        let mut b = Scoreboard::default();
        b.insert(s(1100), s(1300));
        assert!(!b.is_lost(s(1000), MSS), "two segments SACKed above");
        b.insert(s(1400), s(1410));
        assert!(
            b.is_lost(s(1000), MSS),
            "three discontiguous SACKed sequences"
        );
        assert!(!b.is_lost(s(1300), MSS), "only one above 1300");
        let mut b = Scoreboard::default();
        b.insert(s(1100), s(1301));
        assert!(
            b.is_lost(s(1000), MSS),
            "201 bytes > (DupThresh - 1) * SMSS"
        );
    }

    #[test]
    fn holes_split_around_sacked_ranges_and_are_lost_by_the_sack_rule() {
        let mut b = Scoreboard::default();
        b.insert(s(1100), s(1200));
        b.insert(s(1300), s(1600));
        let holes: Vec<Hole> = b.holes(&view()).collect();
        assert_eq!(
            holes,
            vec![
                Hole {
                    start: s(1000),
                    end: s(1100),
                    lost_end: s(1100)
                },
                Hole {
                    start: s(1200),
                    end: s(1300),
                    lost_end: s(1300)
                },
                Hole {
                    start: s(1600),
                    end: s(2000),
                    lost_end: s(1600)
                },
            ]
        );
    }

    #[test]
    fn rfc6675_set_pipe_counts_unsacked_not_lost_plus_retransmitted() {
        let mut b = Scoreboard::default();
        b.insert(s(1100), s(1200));
        b.insert(s(1300), s(1600));
        let mut f = view();
        // Lost: [1000, 1100) and [1200, 1300); in flight: [1600, 2000).
        assert_eq!(b.pipe(&f), 400);
        f.high_rxt = s(1100);
        assert_eq!(
            b.pipe(&f),
            500,
            "the retransmission of the first hole is in flight"
        );
        f.lost_below = s(2000);
        assert_eq!(
            b.pipe(&f),
            100,
            "after a timeout only retransmissions count"
        );
    }

    #[test]
    fn rfc6675_next_seg_rule_1_takes_lost_holes_above_high_rxt_in_order() {
        let mut b = Scoreboard::default();
        b.insert(s(1100), s(1200));
        b.insert(s(1350), s(1600));
        let mut f = view();
        assert_eq!(b.next_lost(&f), Some((s(1000), s(1100))));
        f.high_rxt = s(1100);
        assert_eq!(
            b.next_lost(&f),
            Some((s(1200), s(1300))),
            "one SMSS at most"
        );
        f.high_rxt = s(1300);
        assert_eq!(
            b.next_lost(&f),
            Some((s(1300), s(1350))),
            "rest of the hole"
        );
        f.high_rxt = s(1350);
        assert_eq!(b.next_lost(&f), None, "the tail is not lost");
    }

    #[test]
    fn rfc6675_next_seg_rules_3_and_4() {
        let mut b = Scoreboard::default();
        b.insert(s(1100), s(1200));
        let f = view();
        assert_eq!(b.next_lost(&f), None, "one SACKed segment is not enough");
        assert_eq!(b.next_unsacked(&f), Some((s(1000), s(1100))), "rule 3");
        assert_eq!(
            b.rescue(&f),
            Some((s(1900), s(2000))),
            "rule 4: highest unSACKed"
        );
    }

    #[test]
    fn ack_inside_a_sacked_range_is_reneging_and_clears_the_board() {
        let mut b = Scoreboard::default();
        b.insert(s(1100), s(1200));
        b.insert(s(1300), s(1400));
        assert!(b.acknowledge(s(1200)));
        assert_eq!(b.sacked_bytes(), 100);
        assert!(
            !b.acknowledge(s(1300)),
            "SACKed 1300 but the ACK stops there"
        );
        assert!(b.is_empty());
    }
}
