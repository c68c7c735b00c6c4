//! TCP options: parsing the option bytes of a header into [`TcpOptions`] and writing them
//! back in the order Linux uses, so our segments look ordinary to middleboxes.
//!
//! Options (RFC 9293 section 3.2): kind 0 ends the list, kind 1 is one byte of padding,
//! every other kind is `kind, length, data` with `length` counting the first two bytes.

use crate::stats::DropReason;
use crate::tcp::{SackBlock, SeqNum, TcpOptions, Timestamps};

/// Most option bytes a header can carry (data offset 15 words minus the 5 fixed ones).
pub const MAX_OPTIONS_LEN: usize = 40;

/// Option kinds (IANA "TCP Option Kind Numbers").
mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// Option lengths, kind and length bytes included.
mod len {
    pub const MSS: usize = 4;
    pub const WINDOW_SCALE: usize = 3;
    pub const SACK_PERMITTED: usize = 2;
    pub const TIMESTAMPS: usize = 10;
    pub const SACK_BLOCK: usize = 8;
    pub const SACK_MIN: usize = 2 + SACK_BLOCK;
    pub const SACK_MAX: usize = 2 + 4 * SACK_BLOCK;
}

/// Largest window scale shift (RFC 7323 section 2.3).
const MAX_WINDOW_SCALE: u8 = 14;

/// Parses the option bytes of a TCP header (everything between the fixed 20 bytes and the
/// data offset).
///
/// Known options with an unexpected length, and unknown options, are skipped by their
/// length as Linux does; whether an option is meaningful on a non-SYN segment is for the
/// engine to decide. A length below 2 or running past the header is
/// [`DropReason::BadTcpOption`]: each step advances at least one byte, so the loop ends.
pub fn parse_options(bytes: &[u8]) -> Result<TcpOptions, DropReason> {
    let mut opts = TcpOptions::default();
    let mut i = 0;
    while let Some(&k) = bytes.get(i) {
        match k {
            kind::EOL => break,
            kind::NOP => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let opt_len = match bytes.get(i + 1) {
            Some(&l) => l as usize,
            None => return Err(DropReason::BadTcpOption),
        };
        let Some(opt) = bytes.get(i..i + opt_len).filter(|_| opt_len >= 2) else {
            return Err(DropReason::BadTcpOption);
        };
        let data = &opt[2..];
        match (k, opt_len) {
            (kind::MSS, len::MSS) => opts.mss = Some(super::bytes::read_u16(data, 0)),
            // RFC 7323 section 2.3: a shift above 14 "MUST use 14 instead".
            (kind::WINDOW_SCALE, len::WINDOW_SCALE) => {
                opts.window_scale = Some(data[0].min(MAX_WINDOW_SCALE))
            }
            (kind::SACK_PERMITTED, len::SACK_PERMITTED) => opts.sack_permitted = true,
            (kind::TIMESTAMPS, len::TIMESTAMPS) => {
                opts.timestamps = Some(Timestamps {
                    value: super::bytes::read_u32(data, 0),
                    echo: super::bytes::read_u32(data, 4),
                })
            }
            (kind::SACK, l) if (len::SACK_MIN..=len::SACK_MAX).contains(&l) && l % 8 == 2 => {
                for block in data.chunks_exact(len::SACK_BLOCK) {
                    opts.sack.push(SackBlock {
                        left: SeqNum(super::bytes::read_u32(block, 0)),
                        right: SeqNum(super::bytes::read_u32(block, 4)),
                    });
                }
            }
            _ => {}
        }
        i += opt_len;
    }
    Ok(opts)
}

/// Bytes of options [`emit_options`] writes for `opts` (a multiple of 4, at most 40).
/// `syn` selects the SYN layout (MSS, SACK-permitted, timestamps, window scale) over the
/// one for other segments (timestamps, SACK blocks).
pub fn options_len(opts: &TcpOptions, syn: bool) -> usize {
    Layout::new(opts, syn).len()
}

/// Writes the options for `opts` into the start of `buf`, padded to a multiple of 4 with
/// NOPs, and returns how many bytes were written; `None` if `buf` is shorter than
/// [`options_len`]. SACK blocks that do not fit in 40 bytes are left out, the later ones
/// first (RFC 2018 section 4: the first block reports the most recent data).
pub fn emit_options(buf: &mut [u8], opts: &TcpOptions, syn: bool) -> Option<usize> {
    let layout = Layout::new(opts, syn);
    let out = buf.get_mut(..layout.len())?;
    let mut w = Writer { out, at: 0 };
    // Order as in Linux tcp_options_write(): MSS; SACK-permitted folded into the
    // timestamps word; NOP NOP SACK-permitted without timestamps; NOP WS; NOP NOP SACK.
    if let Some(mss) = layout.mss {
        w.put(&[kind::MSS, len::MSS as u8]);
        w.put(&mss.to_be_bytes());
    }
    if let Some(ts) = layout.timestamps {
        if layout.sack_permitted {
            w.put(&[kind::SACK_PERMITTED, len::SACK_PERMITTED as u8]);
        } else {
            w.put(&[kind::NOP, kind::NOP]);
        }
        w.put(&[kind::TIMESTAMPS, len::TIMESTAMPS as u8]);
        w.put(&ts.value.to_be_bytes());
        w.put(&ts.echo.to_be_bytes());
    } else if layout.sack_permitted {
        w.put(&[
            kind::NOP,
            kind::NOP,
            kind::SACK_PERMITTED,
            len::SACK_PERMITTED as u8,
        ]);
    }
    if let Some(shift) = layout.window_scale {
        w.put(&[
            kind::NOP,
            kind::WINDOW_SCALE,
            len::WINDOW_SCALE as u8,
            shift,
        ]);
    }
    if layout.sack_blocks > 0 {
        let opt_len = 2 + layout.sack_blocks * len::SACK_BLOCK;
        w.put(&[kind::NOP, kind::NOP, kind::SACK, opt_len as u8]);
        for block in &opts.sack.as_slice()[..layout.sack_blocks] {
            w.put(&block.left.0.to_be_bytes());
            w.put(&block.right.0.to_be_bytes());
        }
    }
    Some(w.at)
}

/// Which options a segment carries; the single place that decides, so [`options_len`]
/// and [`emit_options`] cannot disagree.
struct Layout {
    mss: Option<u16>,
    window_scale: Option<u8>,
    sack_permitted: bool,
    timestamps: Option<Timestamps>,
    sack_blocks: usize,
}

impl Layout {
    fn new(opts: &TcpOptions, syn: bool) -> Layout {
        let mut layout = Layout {
            // MSS, window scale and SACK-permitted are only sent on SYN (RFC 9293 section
            // 3.7.1, RFC 7323 section 2.2, RFC 2018 section 2).
            mss: opts.mss.filter(|_| syn),
            window_scale: opts.window_scale.filter(|_| syn),
            sack_permitted: opts.sack_permitted && syn,
            timestamps: opts.timestamps,
            sack_blocks: 0,
        };
        if !syn && !opts.sack.is_empty() {
            let room = MAX_OPTIONS_LEN - layout.len();
            let fit = room.saturating_sub(4) / len::SACK_BLOCK;
            layout.sack_blocks = opts.sack.len().min(fit);
        }
        layout
    }

    fn len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        if self.timestamps.is_some() {
            n += 12; // SACK-permitted, if any, shares this word
        } else if self.sack_permitted {
            n += 4;
        }
        if self.window_scale.is_some() {
            n += 4;
        }
        if self.sack_blocks > 0 {
            n += 4 + self.sack_blocks * len::SACK_BLOCK;
        }
        n
    }
}

/// Appends bytes to a slice already sized by [`Layout::len`].
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sack(n: usize) -> crate::tcp::SackBlocks {
        let mut s = crate::tcp::SackBlocks::default();
        for i in 0..n as u32 {
            s.push(SackBlock {
                left: SeqNum(1000 * i + 100),
                right: SeqNum(1000 * i + 200),
            });
        }
        s
    }

    #[test]
    fn linux_syn_options_parse() {
        // MSS 1460, SACK-permitted, TS 0x4e59fb72/0, NOP, WS 7 (a captured Linux SYN).
        let bytes = [
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x4e, 0x59, 0xfb, 0x72, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let o = parse_options(&bytes).expect("valid");
        assert_eq!(o.mss, Some(1460));
        assert!(o.sack_permitted);
        assert_eq!(
            o.timestamps,
            Some(Timestamps {
                value: 0x4e59_fb72,
                echo: 0
            })
        );
        assert_eq!(o.window_scale, Some(7));
    }

    #[test]
    fn syn_options_are_emitted_in_linux_order() {
        let opts = TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps {
                value: 0x4e59_fb72,
                echo: 0,
            }),
            sack: sack(2),
        };
        let mut buf = [0u8; 40];
        let n = emit_options(&mut buf, &opts, true).expect("fits");
        assert_eq!(n, options_len(&opts, true));
        assert_eq!(
            &buf[..n],
            &[2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x4e, 0x59, 0xfb, 0x72, 0, 0, 0, 0, 1, 3, 3, 7]
        );
    }

    #[test]
    fn non_syn_carries_only_timestamps_and_sack() {
        let opts = TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps { value: 5, echo: 6 }),
            sack: sack(1),
        };
        let mut buf = [0u8; 40];
        let n = emit_options(&mut buf, &opts, false).expect("fits");
        assert_eq!(n, 24);
        assert_eq!(&buf[..4], &[1, 1, 8, 10]);
        assert_eq!(&buf[12..16], &[1, 1, 5, 10]);
        let back = parse_options(&buf[..n]).expect("valid");
        assert_eq!(back.mss, None);
        assert_eq!(back.timestamps, opts.timestamps);
        assert_eq!(back.sack, opts.sack);
    }

    #[test]
    fn sack_blocks_that_do_not_fit_40_bytes_are_dropped() {
        let mut opts = TcpOptions {
            sack: sack(4),
            ..Default::default()
        };
        assert_eq!(
            options_len(&opts, false),
            36,
            "4 blocks fit without timestamps"
        );
        opts.timestamps = Some(Timestamps::default());
        assert_eq!(options_len(&opts, false), 40, "only 3 fit with timestamps");
        let mut buf = [0u8; 40];
        emit_options(&mut buf, &opts, false).expect("fits");
        let back = parse_options(&buf).expect("valid");
        assert_eq!(back.sack.as_slice(), &opts.sack.as_slice()[..3]);
    }

    #[test]
    fn sack_permitted_without_timestamps_is_padded_with_nops() {
        let opts = TcpOptions {
            mss: Some(536),
            sack_permitted: true,
            ..Default::default()
        };
        let mut buf = [0u8; 40];
        let n = emit_options(&mut buf, &opts, true).expect("fits");
        assert_eq!(&buf[..n], &[2, 4, 2, 24, 1, 1, 4, 2]);
    }

    #[test]
    fn emit_into_short_buffer_is_none() {
        let opts = TcpOptions {
            mss: Some(536),
            ..Default::default()
        };
        assert_eq!(emit_options(&mut [0u8; 3], &opts, true), None);
    }

    #[test]
    fn option_length_0_or_1_is_bad() {
        assert_eq!(parse_options(&[2, 0, 0, 0]), Err(DropReason::BadTcpOption));
        assert_eq!(parse_options(&[99, 1, 0, 0]), Err(DropReason::BadTcpOption));
    }

    #[test]
    fn option_running_past_header_is_bad() {
        assert_eq!(
            parse_options(&[1, 1, 8, 10, 0, 0, 0, 0]),
            Err(DropReason::BadTcpOption)
        );
        assert_eq!(
            parse_options(&[1, 1, 1, 2]),
            Err(DropReason::BadTcpOption),
            "no length"
        );
    }

    #[test]
    fn unknown_option_is_skipped_by_length() {
        let o = parse_options(&[30, 6, 1, 2, 3, 4, 2, 4, 0x02, 0x18]).expect("valid");
        assert_eq!(o.mss, Some(536));
    }

    #[test]
    fn known_option_with_wrong_length_is_skipped() {
        let o = parse_options(&[2, 3, 9, 3, 3, 7, 0, 0]).expect("valid");
        assert_eq!((o.mss, o.window_scale), (None, Some(7)));
    }

    #[test]
    fn sack_with_partial_block_is_skipped() {
        let o = parse_options(&[5, 6, 0, 0, 0, 1, 1, 1]).expect("valid");
        assert!(o.sack.is_empty());
    }

    #[test]
    fn end_of_list_stops_parsing() {
        let o = parse_options(&[0, 2, 0, 0]).expect("garbage after EOL is padding");
        assert_eq!(o, TcpOptions::default());
    }

    #[test]
    fn window_scale_above_14_is_clamped() {
        let o = parse_options(&[1, 3, 3, 20]).expect("valid");
        assert_eq!(o.window_scale, Some(14));
    }
}
