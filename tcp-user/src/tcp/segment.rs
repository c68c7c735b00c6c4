//! The engine's view of a TCP segment: header fields and options already parsed, payload
//! borrowed. `wire::tcp` parses a frame into a [`Segment`] and emits one into a frame; the
//! engine only ever sees this type, never bytes of a header.

use super::seq::SeqNum;
use core::fmt;

/// TCP control bits (RFC 9293 section 3.1, plus ECE/CWR of RFC 3168).
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// The urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);
    /// No flags set.
    pub const NONE: TcpFlags = TcpFlags(0);

    /// True when every bit of `other` is set in `self`.
    #[inline]
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    #[inline]
    /// FIN is set.
    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    #[inline]
    /// SYN is set.
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    #[inline]
    /// RST is set.
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    #[inline]
    /// ACK is set.
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    #[inline]
    /// PSH is set.
    pub fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    #[inline]
    /// URG is set.
    pub fn urg(self) -> bool {
        self.contains(Self::URG)
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for TcpFlags {
    #[inline]
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        let mut first = true;
        for (i, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// Maximum number of SACK blocks carried in one segment (RFC 2018: at most 4 fit in the
/// 40 option bytes, 3 when timestamps are also present).
pub const MAX_SACK_BLOCKS: usize = 4;

/// A SACK block: the half-open range `[left, right)` of sequence space received
/// (RFC 2018 section 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SackBlock {
    /// First sequence number of the block.
    pub left: SeqNum,
    /// Sequence number after the block's last byte.
    pub right: SeqNum,
}

/// A fixed-capacity list of SACK blocks (no allocation on the packet path).
#[derive(Clone, Copy, Debug, Default)]
pub struct SackBlocks {
    len: u8,
    blocks: [SackBlock; MAX_SACK_BLOCKS],
}

/// Two lists are equal when they hold the same blocks (slots past `len` are not compared).
impl PartialEq for SackBlocks {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl SackBlocks {
    /// Appends a block; returns false (and drops it) when full.
    pub fn push(&mut self, block: SackBlock) -> bool {
        if (self.len as usize) < MAX_SACK_BLOCKS {
            self.blocks[self.len as usize] = block;
            self.len += 1;
            true
        } else {
            false
        }
    }
    /// The blocks present.
    pub fn as_slice(&self) -> &[SackBlock] {
        &self.blocks[..self.len as usize]
    }
    /// True when there is no block.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    /// Keeps only the first `n` blocks.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n as u8);
    }
}

/// TCP timestamps option value (RFC 7323 section 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timestamps {
    /// TSval: the sender's clock.
    pub value: u32,
    /// TSecr: the echoed TSval of the peer (meaningful only with ACK set).
    pub echo: u32,
}

/// The TCP options this stack understands. Unknown options are skipped by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// Maximum segment size (RFC 9293 section 3.7.1); only meaningful on SYN.
    pub mss: Option<u16>,
    /// Window scale shift count (RFC 7323 section 2); only meaningful on SYN.
    pub window_scale: Option<u8>,
    /// SACK-permitted (RFC 2018); only meaningful on SYN.
    pub sack_permitted: bool,
    /// Timestamps (RFC 7323 section 3).
    pub timestamps: Option<Timestamps>,
    /// SACK blocks (RFC 2018).
    pub sack: SackBlocks,
}

/// A TCP segment as the engine sees it: parsed header fields and a borrowed payload.
/// Ports are here so a segment can be answered without its frame; addresses are not
/// (they belong to the connection's 4-tuple).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Segment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// SEG.SEQ.
    pub seq: SeqNum,
    /// Acknowledgment number; meaningful only when `flags` has ACK.
    pub ack: SeqNum,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window field as carried (not yet scaled).
    pub window: u16,
    /// Urgent pointer (RFC 6093: data is delivered inline).
    pub urgent: u16,
    /// Parsed options.
    pub options: TcpOptions,
    /// The data, borrowed from the frame or the send buffer.
    pub payload: &'a [u8],
}

impl Segment<'_> {
    /// Sequence space the segment occupies: payload plus one for SYN and one for FIN
    /// (RFC 9293 section 3.4, SEG.LEN).
    #[inline]
    pub fn seq_len(&self) -> usize {
        self.payload.len() + self.flags.syn() as usize + self.flags.fin() as usize
    }
}
