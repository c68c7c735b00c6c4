//! `xdptcp capture`: the frames a running daemon receives and sends, to pcapng (`-w FILE`,
//! `-w -` for stdout, e.g. into `tcpdump -r -`) or as one text line each.
//!
//! The daemon copies frames into a bounded ring and drops (and counts) rather than slow its
//! datapath, so a capture never costs the served connections more than the copy.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Shutdown;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::capture::pcapng::PcapNgWriter;
use crate::capture::{CapturedFrame, Direction, Filter, Record};
use crate::runtime::control::{self, CaptureSummary, Request};
use crate::runtime::signals;
use crate::wire::{EthernetFrame, Ipv4Packet, TcpPacket};

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
    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
        return format!(
            "{head} ethertype {:#06x}, {} bytes",
            eth.ethertype(),
            f.orig_len
        );
    };
    let (src, dst) = (
        std::net::Ipv4Addr::from(ip.src_addr()),
        std::net::Ipv4Addr::from(ip.dst_addr()),
    );
    let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
        return format!(
            "{head} {src} > {dst}: proto {}, {} bytes",
            ip.protocol(),
            f.orig_len
        );
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
