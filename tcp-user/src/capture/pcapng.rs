//! A pcapng writer (draft-ietf-opsawg-pcapng) for captured Ethernet frames: a section
//! header, one interface description, an enhanced packet block per frame with its
//! direction and receive queue, and interface statistics (frames captured and dropped) at
//! the end. `tcpdump -r` and Wireshark read it.
//!
//! Hand-written rather than taken from a crate: the four block layouts are fixed and short,
//! and the options we need (`epb_flags` for the direction, `epb_queue`, `isb_osdrop` for the
//! capture ring's drops) are exactly what a generic writer makes awkward; the netns capture
//! test reads every file back with tcpdump.

use std::io::{self, Write};

use super::{CapturedFrame, Direction};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const ISB: u32 = 5;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const LINKTYPE_ETHERNET: u16 = 1;

const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const EPB_FLAGS: u16 = 2;
const EPB_QUEUE: u16 = 6;
const ISB_STARTTIME: u16 = 2;
const ISB_ENDTIME: u16 = 3;
const ISB_OSDROP: u16 = 7;
const ISB_USRDELIV: u16 = 8;

/// Writes one section with one interface to `out`.
pub struct PcapNgWriter<W: Write> {
    out: W,
    block: Vec<u8>,
    first_ts: Option<u64>,
    last_ts: u64,
}

impl<W: Write> PcapNgWriter<W> {
    /// Starts the file: section header and the interface (`iface`, frames cut at `snaplen`,
    /// timestamps in microseconds).
    pub fn new(out: W, iface: &str, snaplen: u32) -> io::Result<Self> {
        let mut w = PcapNgWriter {
            out,
            block: Vec::with_capacity(256),
            first_ts: None,
            last_ts: 0,
        };
        w.begin();
        w.u32(BYTE_ORDER_MAGIC);
        w.u16(1);
        w.u16(0);
        w.block.extend_from_slice(&(-1i64).to_le_bytes()); // section length: unknown
        w.option(
            SHB_USERAPPL,
            concat!("xdptcp ", env!("CARGO_PKG_VERSION")).as_bytes(),
        );
        w.end_options();
        w.finish(SHB)?;
        w.begin();
        w.u16(LINKTYPE_ETHERNET);
        w.u16(0);
        w.u32(snaplen);
        w.option(IF_NAME, iface.as_bytes());
        w.option(IF_TSRESOL, &[6]);
        w.end_options();
        w.finish(IDB)?;
        Ok(w)
    }

    /// One frame.
    pub fn packet(&mut self, f: &CapturedFrame) -> io::Result<()> {
        self.first_ts.get_or_insert(f.ts_us);
        self.last_ts = self.last_ts.max(f.ts_us);
        self.begin();
        self.u32(0); // interface 0
        self.timestamp(f.ts_us);
        self.u32(f.data.len() as u32);
        self.u32(f.orig_len);
        self.block.extend_from_slice(&f.data);
        self.pad();
        let direction: u32 = match f.direction {
            Direction::In => 1,
            Direction::Out => 2,
        };
        self.option(EPB_FLAGS, &direction.to_le_bytes());
        self.option(EPB_QUEUE, &f.queue.to_le_bytes());
        self.end_options();
        self.finish(EPB)
    }

    /// The interface statistics at the end: frames delivered to the file and frames the
    /// capture ring dropped, with a comment saying so, then flushes.
    pub fn finish_with_stats(
        &mut self,
        now_us: u64,
        delivered: u64,
        dropped: u64,
    ) -> io::Result<()> {
        self.begin();
        self.u32(0);
        self.timestamp(now_us);
        let ts = |w: &mut Self, code, us: u64| {
            let v = ((us >> 32) as u32, us as u32);
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&v.0.to_le_bytes());
            b[4..].copy_from_slice(&v.1.to_le_bytes());
            w.option(code, &b);
        };
        ts(self, ISB_STARTTIME, self.first_ts.unwrap_or(now_us));
        ts(self, ISB_ENDTIME, now_us.max(self.last_ts));
        self.option(ISB_USRDELIV, &delivered.to_le_bytes());
        self.option(ISB_OSDROP, &dropped.to_le_bytes());
        let comment = format!("{dropped} frames dropped by the capture ring");
        self.option(OPT_COMMENT, comment.as_bytes());
        self.end_options();
        self.finish(ISB)?;
        self.out.flush()
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn begin(&mut self) {
        self.block.clear();
        self.block.extend_from_slice(&[0; 8]); // type and length, filled by `finish`
    }

    fn finish(&mut self, kind: u32) -> io::Result<()> {
        let len = (self.block.len() + 4) as u32;
        self.block[..4].copy_from_slice(&kind.to_le_bytes());
        self.block[4..8].copy_from_slice(&len.to_le_bytes());
        self.u32(len);
        self.out.write_all(&self.block)
    }

    fn u16(&mut self, v: u16) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn timestamp(&mut self, us: u64) {
        self.u32((us >> 32) as u32);
        self.u32(us as u32);
    }

    fn pad(&mut self) {
        while !self.block.len().is_multiple_of(4) {
            self.block.push(0);
        }
    }

    fn option(&mut self, code: u16, value: &[u8]) {
        self.u16(code);
        self.u16(value.len() as u16);
        self.block.extend_from_slice(value);
        self.pad();
    }

    fn end_options(&mut self) {
        self.u16(OPT_END);
        self.u16(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks the blocks: every block's leading and trailing lengths agree and are
    /// multiples of 4. Returns the block types.
    fn blocks(mut b: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let kind = u32::from_le_bytes(b[..4].try_into().unwrap());
            let len = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
            assert_eq!(len % 4, 0);
            let trailer = u32::from_le_bytes(b[len - 4..len].try_into().unwrap()) as usize;
            assert_eq!(trailer, len);
            out.push((kind, b[8..len - 4].to_vec()));
            b = &b[len..];
        }
        out
    }

    #[test]
    fn a_capture_is_a_section_an_interface_packets_and_statistics() {
        let mut file = Vec::new();
        let mut w = PcapNgWriter::new(&mut file, "veth0", 128).unwrap();
        for (i, dir) in [Direction::In, Direction::Out].into_iter().enumerate() {
            let f = CapturedFrame {
                ts_us: 1_700_000_000_000_000 + i as u64,
                queue: 1,
                direction: dir,
                orig_len: 60 + i as u32,
                data: vec![0xab; 13 + i],
            };
            w.packet(&f).unwrap();
        }
        w.finish_with_stats(1_700_000_000_000_100, 2, 5).unwrap();
        let b = blocks(&file);
        let kinds: Vec<u32> = b.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![SHB, IDB, EPB, EPB, ISB]);
        assert_eq!(&b[0].1[..4], &BYTE_ORDER_MAGIC.to_le_bytes());
        assert_eq!(&b[1].1[..2], &LINKTYPE_ETHERNET.to_le_bytes());
        assert_eq!(&b[1].1[4..8], &128u32.to_le_bytes());
        // EPB: interface, timestamp high and low, captured and original length, data.
        let epb = &b[3].1;
        let ts = (u64::from(u32::from_le_bytes(epb[4..8].try_into().unwrap())) << 32)
            | u64::from(u32::from_le_bytes(epb[8..12].try_into().unwrap()));
        assert_eq!(ts, 1_700_000_000_000_001);
        assert_eq!(&epb[12..16], &14u32.to_le_bytes());
        assert_eq!(&epb[16..20], &61u32.to_le_bytes());
        assert_eq!(&epb[20..34], &[0xab; 14]);
        // Options after the padded data: epb_flags says outbound.
        assert_eq!(&epb[36..38], &EPB_FLAGS.to_le_bytes());
        assert_eq!(&epb[40..44], &2u32.to_le_bytes());
        let isb = String::from_utf8_lossy(&b[4].1);
        assert!(isb.contains("5 frames dropped by the capture ring"));
    }
}
