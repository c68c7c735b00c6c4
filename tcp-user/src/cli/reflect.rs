//! `xdptcp reflect`: the AF_XDP path with no TCP work. Every frame steered to the served
//! ports is sent straight back with Ethernet and IPv4 addresses and TCP ports swapped. It
//! measures the packets-per-second ceiling of the rings, copies and wakeups on this machine,
//! against which the stack's own frame rate can be judged.
//!
//! Swapping source and destination changes neither checksum (one's complement sums do not
//! depend on the order of their terms), so frames go back untouched otherwise. It stands on
//! the runtime's [`Datapath`] directly: there is no endpoint and no service.

use anyhow::{Context, Result};
use clap::Args;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::args::DatapathArgs;
use crate::runtime::datapath::{pin, Datapath, DatapathConfig};
use crate::runtime::{print_counters, signals, Control};
use crate::stats::WorkerStats;
use crate::xdp::XskPort;

/// Options of `xdptcp reflect`.
#[derive(Args, Debug, Clone)]
pub struct ReflectArgs {
    #[command(flatten)]
    #[allow(missing_docs)] // clap: the flattened group documents itself
    pub datapath: DatapathArgs,
    /// TCP port(s) whose frames are reflected.
    #[arg(long = "port", value_delimiter = ',', required = true)]
    pub ports: Vec<u16>,
}

/// Swaps the addresses of an Ethernet/IPv4/TCP frame in place; false if it is not one.
pub fn swap_addresses(frame: &mut [u8]) -> bool {
    if frame.len() < 14 + 20 + 20 || frame[12..14] != [0x08, 0x00] {
        return false;
    }
    let ihl = (frame[14] & 0x0f) as usize * 4;
    if ihl < 20 || frame.len() < 14 + ihl + 20 || frame[23] != 6 {
        return false;
    }
    let (dst, src) = frame[..12].split_at_mut(6);
    dst.swap_with_slice(src);
    let (a, b) = frame[26..34].split_at_mut(4);
    a.swap_with_slice(b);
    let tcp = 14 + ihl;
    let (a, b) = frame[tcp..tcp + 4].split_at_mut(2);
    a.swap_with_slice(b);
    true
}

/// Runs `xdptcp reflect` until SIGINT/SIGTERM, then prints the counters.
pub fn reflect(args: ReflectArgs) -> Result<()> {
    let cfg = args.datapath.runtime_config(&args.ports);
    let mut dp = Datapath::open(&DatapathConfig::from_runtime(&cfg, &args.ports))?;
    signals::install().context("installing the SIGINT/SIGTERM handlers")?;
    let control = Arc::new(Control::default());
    let ports: Vec<XskPort> = dp.ports.drain(..).collect();
    let mut handles = Vec::new();
    for (i, port) in ports.into_iter().enumerate() {
        let core = dp.core_for(i);
        let control = control.clone();
        let busy = args.datapath.busy_poll;
        handles.push(
            std::thread::Builder::new()
                .name(format!("xdptcp-r{i}"))
                .spawn(move || {
                    pin(core);
                    run(port, &control, busy)
                })?,
        );
    }
    println!(
        "ready reflect iface={} ports={:?}",
        dp.iface.name, args.ports
    );
    while !signals::signalled() {
        std::thread::sleep(Duration::from_millis(20));
    }
    control.stop.store(true, Ordering::SeqCst);
    let stats: Vec<WorkerStats> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
    print_counters(&stats, &dp.program.counters(), &[]);
    Ok(())
}

/// One queue's reflect loop: receive a batch, write each frame back swapped, flush.
fn run(mut port: XskPort, control: &Control, busy_poll: bool) -> WorkerStats {
    let mut idle = 0u32;
    while !control.stop.load(Ordering::Relaxed) {
        let n = port.receive(|frame, tx| {
            tx.send(|buf| {
                let len = frame.len().min(buf.len());
                buf[..len].copy_from_slice(&frame[..len]);
                swap_addresses(&mut buf[..len]).then_some(len)
            });
        });
        port.flush();
        if n > 0 || busy_poll {
            idle = 0;
        } else {
            idle += 1;
            if idle > 2000 && !port.has_pending() {
                port.wait(10);
            }
        }
    }
    port.read_kernel_stats();
    WorkerStats {
        queue: port.queue,
        port: port.counters,
        ..Default::default()
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{Segment, SeqNum, TcpFlags};
    use crate::wire::Addr;
    use crate::wire::{emit_frame, parse_frame, FrameHeader, MacAddr};

    #[test]
    fn a_swapped_frame_parses_with_addresses_and_ports_exchanged_and_valid_checksums() {
        let hdr = FrameHeader {
            src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            src_addr: Addr::v4(0x0a00_0001),
            dst_addr: Addr::v4(0x0a00_0002),
            ttl: 64,
            ip_id: 0,
            flow_label: 0,
        };
        let seg = Segment {
            src_port: 40000,
            dst_port: 7,
            seq: SeqNum(1),
            ack: SeqNum(2),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 100,
            payload: b"reflect me",
            ..Default::default()
        };
        let mut buf = [0u8; 256];
        let len = emit_frame(&mut buf, &hdr, &seg).unwrap();
        assert!(swap_addresses(&mut buf[..len]));
        let p = parse_frame(&buf[..len]).expect("checksums still valid");
        assert_eq!(
            (p.src_addr, p.dst_addr),
            (Addr::v4(0x0a00_0002), Addr::v4(0x0a00_0001))
        );
        assert_eq!((p.src_mac, p.dst_mac), (hdr.dst_mac, hdr.src_mac));
        assert_eq!((p.segment.src_port, p.segment.dst_port), (7, 40000));
        assert_eq!(p.segment.payload, b"reflect me");
        assert!(
            !swap_addresses(&mut buf[..20]),
            "short frames are left alone"
        );
    }
}
