//! Packet capture: what the daemon receives and sends, seen where AF_XDP took it from the
//! kernel's taps (`tcpdump` on the interface sees none of the served port's frames).
//!
//! A running daemon copies the frames a [`filter::Filter`] passes into a bounded channel
//! per capture (the worker drops and counts a frame rather than wait when it is full), its
//! control thread streams them to `xdptcp capture` as [`Record`]s, and the client writes
//! [`pcapng`]. Off, the datapath pays one branch per frame.

pub mod filter;
pub mod pcapng;

use std::io::{self, Read, Write};

pub use filter::Filter;

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received from the wire.
    In,
    /// Sent by the stack.
    Out,
}

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    /// Wall-clock time, microseconds since the Unix epoch.
    pub ts_us: u64,
    /// The receive queue (worker) that handled it.
    pub queue: u32,
    /// Received or sent.
    pub direction: Direction,
    /// The frame's length on the wire.
    pub orig_len: u32,
    /// Its first `snaplen` bytes.
    pub data: Vec<u8>,
}

/// What the daemon streams to a capture client after its one-line JSON answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A frame.
    Frame(CapturedFrame),
    /// The capture ended; the summary as JSON text.
    End(String),
}

const KIND_FRAME: u8 = 1;
const KIND_END: u8 = 2;
/// Largest record accepted: a 4 KiB frame with room to spare, or a summary.
const MAX_RECORD: usize = 1 << 16;

impl Record {
    /// Appends the record as `u32 length (LE) | u8 kind | body` to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        match self {
            Record::Frame(f) => {
                out.push(KIND_FRAME);
                out.extend_from_slice(&f.ts_us.to_le_bytes());
                out.extend_from_slice(&f.queue.to_le_bytes());
                out.push(match f.direction {
                    Direction::In => 0,
                    Direction::Out => 1,
                });
                out.extend_from_slice(&f.orig_len.to_le_bytes());
                out.extend_from_slice(&f.data);
            }
            Record::End(summary) => {
                out.push(KIND_END);
                out.extend_from_slice(summary.as_bytes());
            }
        }
        let len = (out.len() - start - 4) as u32;
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    }

    /// Writes one record.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(64);
        self.encode(&mut buf);
        w.write_all(&buf)
    }

    /// Reads the next record; `None` at a clean end of stream.
    pub fn read_from(r: &mut impl Read) -> io::Result<Option<Record>> {
        let mut len = [0u8; 4];
        match r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes(len) as usize;
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        if len == 0 || len > MAX_RECORD {
            return Err(bad("capture stream: record length out of range"));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        match body[0] {
            KIND_FRAME if len >= 18 => {
                let ts_us = u64::from_le_bytes(body[1..9].try_into().expect("8 bytes"));
                let queue = u32::from_le_bytes(body[9..13].try_into().expect("4 bytes"));
                let direction = if body[13] == 0 {
                    Direction::In
                } else {
                    Direction::Out
                };
                let orig_len = u32::from_le_bytes(body[14..18].try_into().expect("4 bytes"));
                Ok(Some(Record::Frame(CapturedFrame {
                    ts_us,
                    queue,
                    direction,
                    orig_len,
                    data: body[18..].to_vec(),
                })))
            }
            KIND_END => Ok(Some(Record::End(
                String::from_utf8_lossy(&body[1..]).into_owned(),
            ))),
            _ => Err(bad("capture stream: unknown record")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_stream_ends_cleanly() {
        let frame = Record::Frame(CapturedFrame {
            ts_us: 1_700_000_000_123_456,
            queue: 3,
            direction: Direction::Out,
            orig_len: 1514,
            data: (0..200).map(|i| i as u8).collect(),
        });
        let end = Record::End(r#"{"frames":1}"#.into());
        let mut buf = Vec::new();
        frame.encode(&mut buf);
        end.encode(&mut buf);
        let mut r = &buf[..];
        assert_eq!(Record::read_from(&mut r).unwrap(), Some(frame));
        assert_eq!(Record::read_from(&mut r).unwrap(), Some(end));
        assert_eq!(Record::read_from(&mut r).unwrap(), None);
    }

    #[test]
    fn a_corrupt_stream_is_an_error_not_a_huge_allocation() {
        let mut r = &[0xff, 0xff, 0xff, 0x7f, 1][..];
        assert!(Record::read_from(&mut r).is_err());
        let mut r = &[2, 0, 0, 0, 9, 9][..];
        assert!(Record::read_from(&mut r).is_err());
        let mut r = &[5, 0, 0, 0, 1][..];
        assert!(Record::read_from(&mut r).is_err(), "truncated");
    }
}
