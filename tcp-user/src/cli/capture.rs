//! `xdptcp capture`: the frames a running daemon receives and sends, to pcapng (`-w FILE`,
//! `-w -` for stdout, e.g. into `tcpdump -r -`) or as one text line each.
//!
//! The daemon copies frames into a bounded ring and drops (and counts) rather than slow its
//! datapath, so a capture never costs the served connections more than the copy.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::capture::pcapng::PcapNgWriter;
use crate::capture::{CapturedFrame, Direction, Filter, Record};
use crate::runtime::control::{self, CaptureSummary, Request};
use crate::runtime::signals;
use crate::wire::ipv6::UpperLayer;
use crate::wire::{
    checksum::PROTOCOL_TCP, EthernetFrame, Ipv4Packet, Ipv6Packet, TcpPacket, ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
};

/// Options of `xdptcp capture`.
#[derive(Args, Debug, Clone)]
pub struct CaptureArgs {
    /// Interface the daemon serves.
    #[arg(long)]
    pub iface: String,
    /// Write pcapng to this file (`-` for stdout) instead of printing a line per frame.
    #[arg(short = 'w', long = "write")]
    pub write: Option<String>,
    /// Stop after this many frames.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    /// Bytes kept of each frame.
    #[arg(short = 's', long, default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(1..=262_144))]
    pub snaplen: u32,
    /// A tcpdump-style filter: `host A`, `net A/N`, `port P`, `portrange A-B` (each with an
    /// optional `src`/`dst`), `tcp`, `ip` (IPv4), `ip6`, `syn`, `fin`, `rst`, joined by
    /// `and`, `or`, `not` and parentheses. Addresses are IPv4 or IPv6 (`host 2001:db8::1`,
    /// `net 2001:db8::/64`); one of a family matches only frames of that family.
    #[arg(trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// Runs a capture until the count is reached, Ctrl-C, or the daemon stops.
pub fn capture(args: CaptureArgs) -> Result<()> {
    let filter = args.filter.join(" ");
    Filter::parse(&filter).map_err(|e| anyhow::anyhow!("bad filter: {e}"))?;
    if args.count == Some(0) {
        bail!("--count must be at least 1");
    }
    let mut sink = Sink::open(args.write.as_deref(), &args.iface, args.snaplen)?;
    let request = Request::Capture {
        filter: filter.clone(),
        snaplen: args.snaplen,
        count: args.count.unwrap_or(0),
    };
    let stream = control::request(&args.iface, &request)?;
    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut hello = String::new();
    std::io::BufRead::read_line(&mut reader, &mut hello).context("reading the daemon's answer")?;
    let hello: serde_json::Value =
        serde_json::from_str(hello.trim()).context("the daemon's answer is not JSON")?;
    if let Some(e) = hello.get("error") {
        bail!("{}", e.as_str().unwrap_or("the daemon refused the capture"));
    }
    let queues = hello["capturing"]["queues"].as_u64().unwrap_or(0);
    eprintln!(
        "xdptcp capture: listening on {} ({queues} queues), snaplen {}{}",
        args.iface,
        args.snaplen,
        if filter.is_empty() {
            String::new()
        } else {
            format!(", filter '{filter}'")
        }
    );
    signals::install().context("installing the Ctrl-C handler")?;
    // Records are read on their own thread so that Ctrl-C is noticed while none arrive.
    let (tx, rx) = crossbeam_channel::bounded::<std::io::Result<Option<Record>>>(1024);
    std::thread::spawn(move || loop {
        let r = Record::read_from(&mut reader);
        let end = !matches!(r, Ok(Some(Record::Frame(_))));
        if tx.send(r).is_err() || end {
            return;
        }
    });
    let mut asked_to_stop = false;
    let summary = loop {
        if !asked_to_stop && signals::signalled() {
            // The daemon ends the capture and still sends its summary.
            asked_to_stop = true;
            let _ = stream.shutdown(Shutdown::Write);
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(Some(Record::Frame(f)))) => sink.frame(&f)?,
            Ok(Ok(Some(Record::End(text)))) => {
                break serde_json::from_str::<CaptureSummary>(&text).unwrap_or_default()
            }
            Ok(Ok(None)) => bail!("the daemon closed the capture without a summary"),
            Ok(Err(e)) => return Err(e).context("reading the capture stream"),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(_) => bail!("the capture stream ended"),
        }
    };
    sink.finish(&summary)?;
    eprintln!(
        "xdptcp capture: {} frames captured ({} received, {} sent), {} dropped by the capture ring",
        summary.frames, summary.received, summary.sent, summary.dropped
    );
    Ok(())
}

/// Where frames go: a pcapng file or stream, or text lines on stdout.
enum Sink {
    Pcap(PcapNgWriter<Box<dyn Write>>),
    Text(std::io::Stdout),
}

impl Sink {
    fn open(path: Option<&str>, iface: &str, snaplen: u32) -> Result<Sink> {
        let out: Box<dyn Write> = match path {
            None => return Ok(Sink::Text(std::io::stdout())),
            Some("-") => Box::new(BufWriter::new(std::io::stdout())),
            Some(p) => Box::new(BufWriter::new(
                File::create(p).with_context(|| format!("creating {p}"))?,
            )),
        };
        let w = PcapNgWriter::new(out, iface, snaplen).context("writing the pcapng header")?;
        Ok(Sink::Pcap(w))
    }

    fn frame(&mut self, f: &CapturedFrame) -> Result<()> {
        match self {
            Sink::Pcap(w) => w.packet(f).context("writing the capture"),
            Sink::Text(out) => {
                let mut out = out.lock();
                writeln!(out, "{}", describe(f)).context("writing to stdout")?;
                Ok(())
            }
        }
    }

    fn finish(&mut self, summary: &CaptureSummary) -> Result<()> {
        if let Sink::Pcap(w) = self {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64);
            w.finish_with_stats(now, summary.frames, summary.dropped)
                .context("finishing the capture file")?;
        }
        Ok(())
    }
}

/// One line per frame, tcpdump-like:
/// `12:00:01.123456 q0 in 10.0.0.2.40000 > 10.0.0.1.7: Flags [S], seq 1, ack 0, win 64240, length 0`.
pub fn describe(f: &CapturedFrame) -> String {
    let secs = f.ts_us / 1_000_000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let dir = match f.direction {
        Direction::In => "in ",
        Direction::Out => "out",
    };
    let head = format!(
        "{h:02}:{m:02}:{s:02}.{:06} q{} {dir}",
        f.ts_us % 1_000_000,
        f.queue
    );
    let Ok(eth) = EthernetFrame::new_checked(&f.data[..]) else {
        return format!("{head} frame of {} bytes", f.orig_len);
    };
    let Some((src, dst, proto, l4)) = network_layer(&eth) else {
        return format!(
            "{head} ethertype {:#06x}, {} bytes",
            eth.ethertype(),
            f.orig_len
        );
    };
    let tcp = match (proto, TcpPacket::new_checked(l4)) {
        (Some(PROTOCOL_TCP), Ok(tcp)) => tcp,
        _ => {
            let proto = proto.map_or("unknown".to_string(), |p| p.to_string());
            return format!("{head} {src} > {dst}: proto {proto}, {} bytes", f.orig_len);
        }
    };
    let flags = tcp.flags();
    let mut names = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, '.'),
    ] {
        if flags.0 & bit != 0 {
            names.push(c);
        }
    }
    format!(
        "{head} {src}.{} > {dst}.{}: Flags [{names}], seq {}, ack {}, win {}, length {}",
        tcp.src_port(),
        tcp.dst_port(),
        tcp.seq_number().0,
        tcp.ack_number().0,
        tcp.window_len(),
        tcp.payload().len()
    )
}

/// The addresses, the upper-layer protocol (`None` when an IPv6 extension header cannot be
/// walked) and its bytes of an IPv4 or IPv6 frame.
fn network_layer<'a>(
    eth: &EthernetFrame<&'a [u8]>,
) -> Option<(IpAddr, IpAddr, Option<u8>, &'a [u8])> {
    let payload: &'a [u8] = eth.payload();
    match eth.ethertype() {
        ETHERTYPE_IPV4 => {
            let ip = Ipv4Packet::new_checked(payload).ok()?;
            let (src, dst) = (Ipv4Addr::from(ip.src_addr()), Ipv4Addr::from(ip.dst_addr()));
            let l4 = payload.get(ip.header_len()..usize::from(ip.total_len()))?;
            Some((src.into(), dst.into(), Some(ip.protocol()), l4))
        }
        ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new_checked(payload).ok()?;
            let (src, dst) = (Ipv6Addr::from(ip.src_addr()), Ipv6Addr::from(ip.dst_addr()));
            let (proto, l4) = match ip.upper_layer() {
                Ok(UpperLayer::Protocol {
                    next_header,
                    offset,
                }) => {
                    let start = crate::wire::ipv6::HEADER_LEN + offset;
                    let end = crate::wire::ipv6::HEADER_LEN + usize::from(ip.payload_len());
                    (Some(next_header), payload.get(start..end)?)
                }
                _ => (None, &payload[..0]),
            };
            Some((src.into(), dst.into(), proto, l4))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{Segment, SeqNum, TcpFlags};
    use crate::wire::test_vectors::frame_between;
    use crate::wire::Addr;

    fn captured(src: Addr, dst: Addr, payload: &[u8]) -> CapturedFrame {
        let seg = Segment {
            src_port: 7,
            dst_port: 40000,
            seq: SeqNum(5),
            ack: SeqNum(9),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 1000,
            payload,
            ..Default::default()
        };
        let data = frame_between(src, dst, &seg);
        CapturedFrame {
            ts_us: 3_723_000_042,
            queue: 1,
            direction: Direction::Out,
            orig_len: data.len() as u32,
            data,
        }
    }

    #[test]
    fn frames_of_both_families_are_described_as_tcpdump_does() {
        let v4 = captured(
            Ipv4Addr::new(10, 0, 0, 1).into(),
            Ipv4Addr::new(10, 0, 0, 2).into(),
            b"abc",
        );
        assert_eq!(
            describe(&v4),
            "01:02:03.000042 q1 out 10.0.0.1.7 > 10.0.0.2.40000: Flags [P.], seq 5, ack 9, win 1000, length 3"
        );
        let (a, b): (Ipv6Addr, Ipv6Addr) = ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
        let v6 = captured(a.into(), b.into(), b"abcd");
        assert_eq!(
            describe(&v6),
            "01:02:03.000042 q1 out fd00::1.7 > fd00::2.40000: Flags [P.], seq 5, ack 9, win 1000, length 4"
        );
    }

    #[test]
    fn a_frame_cut_short_by_the_snap_length_is_still_described() {
        let mut f = captured(
            "fd00::1".parse::<Ipv6Addr>().unwrap().into(),
            "fd00::2".parse::<Ipv6Addr>().unwrap().into(),
            &[0; 100],
        );
        f.data.truncate(60);
        assert_eq!(
            describe(&f),
            "01:02:03.000042 q1 out ethertype 0x86dd, 174 bytes"
        );
    }
}
