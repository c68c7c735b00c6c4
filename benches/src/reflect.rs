//! The `reflect` mode's client: the packets-per-second ceiling of the AF_XDP path.
//!
//! `xdptcp reflect` in the server namespace sends every steered frame straight back with MACs,
//! IPs and ports swapped, with no TCP work. Here an AF_PACKET socket on the client veth keeps
//! a window of `K` copies of one valid Ethernet/IPv4/TCP frame (64-byte payload) in flight:
//! it sends until `K` are outstanding (`sendmmsg`), and every reflected frame that comes back
//! (`recvmmsg`, nonblocking, busy-polled) lets it send one more. The payload carries a
//! sequence number, the send time and an epoch, so each frame's round trip is known.
//!
//! A frame lost on the way (none should be: the loop is closed and every ring is larger than
//! the window) would shrink the window for good; after [`LOSS_TIMEOUT`] without progress the
//! outstanding frames are counted lost and a new epoch starts (late arrivals of an old epoch
//! are counted, but return no credit).
#![allow(unsafe_code)] // the raw AF_PACKET client is FFI.

use std::{
    io,
    net::Ipv4Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use netns_tests::raw::{build_frame, fill_checksums, parse_frame, TcpSeg, ETH_LEN, IP_LEN};

/// Payload bytes of every frame.
pub const PAYLOAD: usize = 64;
/// Frames per `sendmmsg`/`recvmmsg` call at most.
const BATCH: usize = 64;
/// No frame back for this long with frames outstanding: they are lost.
pub const LOSS_TIMEOUT: Duration = Duration::from_millis(20);
/// Receive buffer per frame (reflected frames are 118 bytes; anything longer is not ours).
const RX_BUF: usize = 2048;
/// Where the payload starts (no IP or TCP options).
const PAYLOAD_AT: usize = ETH_LEN + IP_LEN + 20;
/// Source (client) TCP port of the frames; nothing in the client namespace listens on it.
pub const CLIENT_PORT: u16 = 61000;

/// Who talks to whom.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The client veth (the socket is opened on it, inside its namespace).
    pub ifname: String,
    pub client_mac: [u8; 6],
    pub server_mac: [u8; 6],
    pub client_ip: Ipv4Addr,
    pub server_ip: Ipv4Addr,
    pub client_port: u16,
    pub server_port: u16,
}

/// One point of the window sweep.
#[derive(Debug, Clone)]
pub struct PointConfig {
    /// Frames kept in flight.
    pub window: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one point measured.
#[derive(Debug, Clone)]
pub struct PointResult {
    pub window: usize,
    /// Reflected frames received in the measurement window.
    pub frames: u64,
    pub seconds: f64,
    /// Round trip of every frame sent and received within the window, in nanoseconds.
    pub rtt_ns: Histogram<u64>,
    /// Over the whole point (warm-up included).
    pub sent: u64,
    pub received: u64,
    /// Frames given up after [`LOSS_TIMEOUT`].
    pub lost: u64,
    /// Reflected frames that failed the checks (wrong checksum): must be 0.
    pub bad: u64,
    /// Server CPU seconds (utime + stime) over the measurement window, if readable.
    pub server_cpu_s: Option<f64>,
}

impl PointResult {
    /// Reflected frames per second (each is one rx and one tx frame at the server).
    pub fn frames_per_s(&self) -> f64 {
        self.frames as f64 / self.seconds.max(1e-9)
    }
}

/// The AF_PACKET socket with its batch buffers.
pub struct RawLink {
    fd: OwnedFd,
    addr: libc::sockaddr_ll,
    tx: Vec<Vec<u8>>,
    rx: Vec<Vec<u8>>,
    ep: Endpoints,
}

/// Nanoseconds since `base`.
fn ns_since(base: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(base).as_nanos() as u64
}

impl RawLink {
    /// Opens the socket on `ep.ifname`; call it on a thread inside the client namespace.
    pub fn open(ep: Endpoints) -> Result<RawLink> {
        let name = std::ffi::CString::new(ep.ifname.as_str())?;
        // Safety: if_nametoindex reads a NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
        if ifindex == 0 {
            bail!("no interface {}: {}", ep.ifname, io::Error::last_os_error());
        }
        // Safety: plain socket(2); protocol 0 receives nothing until the bind below.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            bail!("socket(AF_PACKET): {}", io::Error::last_os_error());
        }
        // Safety: a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let setopt = |level, name, value: libc::c_int, what: &str| -> Result<()> {
            // Safety: setsockopt with an int argument of the right size.
            let r = unsafe {
                libc::setsockopt(
                    raw,
                    level,
                    name,
                    &value as *const _ as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r < 0 {
                bail!("{what}: {}", io::Error::last_os_error());
            }
            Ok(())
        };
        setopt(
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            1,
            "PACKET_IGNORE_OUTGOING",
        )?;
        // Room for every frame of the largest window (root: the FORCE variants ignore rmem_max).
        let _ = setopt(
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            8 << 20,
            "SO_RCVBUFFORCE",
        );
        let _ = setopt(
            libc::SOL_SOCKET,
            libc::SO_SNDBUFFORCE,
            8 << 20,
            "SO_SNDBUFFORCE",
        );
        // Safety: an all-zero sockaddr_ll is valid; the fields set are plain integers.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = 0x0800u16.to_be();
        addr.sll_ifindex = ifindex;
        // Safety: bind with a sockaddr_ll of the size given.
        let r = unsafe {
            libc::bind(
                raw,
                &addr as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            bail!(
                "bind(AF_PACKET, {}): {}",
                ep.ifname,
                io::Error::last_os_error()
            );
        }
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&ep.server_mac);
        let template = template_frame(&ep);
        Ok(RawLink {
            fd,
            addr,
            tx: vec![template; BATCH],
            rx: vec![vec![0u8; RX_BUF]; BATCH],
            ep,
        })
    }

    /// Sends the first `n` frames of `self.tx`; returns how many left (0 if the socket is
    /// momentarily full).
    fn send_batch(&mut self, n: usize) -> Result<usize> {
        // Safety: all-zero iovec and mmsghdr are valid; the pointers set below outlive the call.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        // Safety: as above.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let addr = &mut self.addr as *mut libc::sockaddr_ll as *mut libc::c_void;
        for i in 0..n {
            iov[i].iov_base = self.tx[i].as_mut_ptr() as *mut libc::c_void;
            iov[i].iov_len = self.tx[i].len();
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = addr;
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            h.msg_iov = &mut iov[i];
            h.msg_iovlen = 1;
        }
        // Safety: `msgs` holds `n` valid headers pointing at live buffers.
        let r = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                n as u32,
                libc::MSG_DONTWAIT,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                // The veth's peer queue was momentarily full: nothing left.
                _ if e.raw_os_error() == Some(libc::ENOBUFS) => Ok(0),
                _ => Err(e).context("sendmmsg"),
            };
        }
        Ok(r as usize)
    }

    /// Receives up to [`BATCH`] frames into `self.rx`; returns how many, their lengths in
    /// `lens`.
    fn recv_batch(&mut self, lens: &mut [usize; BATCH]) -> Result<usize> {
        // Safety: as in send_batch.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        // Safety: as in send_batch.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for i in 0..BATCH {
            iov[i].iov_base = self.rx[i].as_mut_ptr() as *mut libc::c_void;
            iov[i].iov_len = self.rx[i].len();
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // Safety: `msgs` holds BATCH valid headers pointing at live buffers.
        let r = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e).context("recvmmsg"),
            };
        }
        let n = r as usize;
        for (len, m) in lens.iter_mut().zip(&msgs[..n]) {
            *len = m.msg_len as usize;
        }
        Ok(n)
    }

    /// Runs one point of the sweep; `server_cpu` reads the server's CPU seconds at the edges
    /// of the measurement window.
    pub fn run_point(
        &mut self,
        cfg: &PointConfig,
        epoch: &mut u32,
        mut server_cpu: impl FnMut() -> Option<f64>,
    ) -> Result<PointResult> {
        let window = cfg.window.max(1);
        let base = Instant::now();
        let measure_from = base + cfg.warmup;
        let until = measure_from + cfg.duration;
        let (from_ns, until_ns) = (ns_since(base, measure_from), ns_since(base, until));
        let mut r = PointResult {
            window,
            frames: 0,
            seconds: cfg.duration.as_secs_f64(),
            rtt_ns: Histogram::new_with_bounds(1, 60_000_000_000, 3)
                .expect("valid histogram bounds"),
            sent: 0,
            received: 0,
            lost: 0,
            bad: 0,
            server_cpu_s: None,
        };
        *epoch = epoch.wrapping_add(1);
        let mut seq = 0u64;
        let mut outstanding = 0usize;
        let mut last_progress = base;
        let mut cpu0 = None;
        let mut in_window = false;
        let mut lens = [0usize; BATCH];
        let mut checked = false;
        loop {
            let now = Instant::now();
            if now >= until {
                break;
            }
            if !in_window && now >= measure_from {
                in_window = true;
                cpu0 = server_cpu();
            }
            let room = window - outstanding;
            if room > 0 {
                let n = room.min(BATCH);
                let t = ns_since(base, now);
                for f in &mut self.tx[..n] {
                    stamp(f, seq, t, *epoch);
                    seq += 1;
                }
                let sent = self.send_batch(n)?;
                // Frames not sent get their sequence numbers again next time.
                seq -= (n - sent) as u64;
                if sent > 0 {
                    outstanding += sent;
                    r.sent += sent as u64;
                    last_progress = now;
                }
            }
            let got = self.recv_batch(&mut lens)?;
            let t_rx = Instant::now();
            let t = ns_since(base, t_rx);
            if got == 0 {
                if outstanding > 0 && t_rx - last_progress > LOSS_TIMEOUT {
                    r.lost += outstanding as u64;
                    outstanding = 0;
                    *epoch = epoch.wrapping_add(1);
                }
                continue;
            }
            for (buf, &len) in self.rx.iter().zip(&lens[..got]) {
                let f = &buf[..len.min(RX_BUF)];
                let Some((sent_ns, ep)) = ours(f, &self.ep) else {
                    continue;
                };
                if !checked {
                    // The first reflected frame in full: addresses swapped, checksums valid.
                    checked = true;
                    let ok = parse_frame(f).is_some_and(|p| p.ip_checksum_ok && p.tcp_checksum_ok);
                    if !ok {
                        r.bad += 1;
                    }
                }
                r.received += 1;
                last_progress = t_rx;
                if ep == *epoch {
                    outstanding = outstanding.saturating_sub(1);
                }
                if in_window && t <= until_ns {
                    r.frames += 1;
                    if sent_ns >= from_ns {
                        let _ = r.rtt_ns.record(t.saturating_sub(sent_ns).max(1));
                    }
                }
            }
        }
        r.server_cpu_s = match (cpu0, server_cpu()) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        // Let what is still in flight come back, so the next point starts empty.
        let drain_until = Instant::now() + Duration::from_millis(50);
        while outstanding > 0 && Instant::now() < drain_until {
            let got = self.recv_batch(&mut lens)?;
            for (buf, &len) in self.rx.iter().zip(&lens[..got]) {
                if let Some((_, ep)) = ours(&buf[..len.min(RX_BUF)], &self.ep) {
                    r.received += 1;
                    if ep == *epoch {
                        outstanding -= 1;
                    }
                }
            }
        }
        r.lost += outstanding as u64;
        Ok(r)
    }
}

/// The frame every send starts from: client → server, ACK, 64 zero bytes of payload.
pub fn template_frame(ep: &Endpoints) -> Vec<u8> {
    let seg = TcpSeg {
        src_port: ep.client_port,
        dst_port: ep.server_port,
        seq: 1,
        ack: 1,
        flags: netns_tests::raw::flags::ACK,
        window: 64240,
        payload: vec![0u8; PAYLOAD],
        ..TcpSeg::default()
    };
    build_frame(
        ep.client_mac,
        ep.server_mac,
        ep.client_ip,
        ep.server_ip,
        1,
        &seg,
    )
}

/// Writes sequence number, send time and epoch into the payload and fixes the checksums.
fn stamp(f: &mut [u8], seq: u64, sent_ns: u64, epoch: u32) {
    f[PAYLOAD_AT..PAYLOAD_AT + 8].copy_from_slice(&seq.to_be_bytes());
    f[PAYLOAD_AT + 8..PAYLOAD_AT + 16].copy_from_slice(&sent_ns.to_be_bytes());
    f[PAYLOAD_AT + 16..PAYLOAD_AT + 20].copy_from_slice(&epoch.to_be_bytes());
    fill_checksums(f);
}

/// If `f` is one of our frames reflected (server → client, from the served port to ours),
/// its send time and epoch.
fn ours(f: &[u8], ep: &Endpoints) -> Option<(u64, u32)> {
    if f.len() < PAYLOAD_AT + 20 || f[12..14] != [0x08, 0x00] || f[ETH_LEN] != 0x45 {
        return None;
    }
    let ip = &f[ETH_LEN..];
    if ip[9] != 6 || ip[12..16] != ep.server_ip.octets() || ip[16..20] != ep.client_ip.octets() {
        return None;
    }
    let tcp = &ip[IP_LEN..];
    if tcp[0..2] != ep.server_port.to_be_bytes() || tcp[2..4] != ep.client_port.to_be_bytes() {
        return None;
    }
    let p = &f[PAYLOAD_AT..];
    let sent = u64::from_be_bytes(p[8..16].try_into().ok()?);
    let epoch = u32::from_be_bytes(p[16..20].try_into().ok()?);
    Some((sent, epoch))
}

/// Nanosecond histogram percentile in microseconds.
pub fn us_at(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The nanosecond histogram re-recorded in microseconds (for the HdrHistogram log and plot).
pub fn to_us(h: &Histogram<u64>) -> Histogram<u64> {
    let mut out = crate::hist::new_histogram();
    for v in h.iter_recorded() {
        let us = (v.value_iterated_to() / 1000).clamp(1, crate::hist::MAX_US);
        let _ = out.record_n(us, v.count_at_value());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netns_tests::raw::parse_frame;

    fn endpoints() -> Endpoints {
        Endpoints {
            ifname: "x".into(),
            client_mac: [2, 0, 0, 0, 0, 2],
            server_mac: [2, 0, 0, 0, 0, 1],
            client_ip: Ipv4Addr::new(10, 0, 0, 2),
            server_ip: Ipv4Addr::new(10, 0, 0, 1),
            client_port: CLIENT_PORT,
            server_port: 7777,
        }
    }

    /// What `xdptcp reflect` does to a frame.
    fn swap(f: &mut [u8]) {
        let (d, s) = f[..12].split_at_mut(6);
        d.swap_with_slice(s);
        let (a, b) = f[26..34].split_at_mut(4);
        a.swap_with_slice(b);
        let (a, b) = f[34..38].split_at_mut(2);
        a.swap_with_slice(b);
    }

    #[test]
    fn stamped_frames_are_valid_and_recognised_once_reflected() {
        let ep = endpoints();
        let mut f = template_frame(&ep);
        assert_eq!(f.len(), ETH_LEN + IP_LEN + 20 + PAYLOAD);
        stamp(&mut f, 42, 123_456, 7);
        let p = parse_frame(&f).unwrap();
        assert!(p.ip_checksum_ok && p.tcp_checksum_ok);
        assert_eq!((p.tcp.src_port, p.tcp.dst_port), (CLIENT_PORT, 7777));
        assert_eq!(p.tcp.payload.len(), PAYLOAD);
        assert_eq!(ours(&f, &ep), None, "not yet reflected");
        swap(&mut f);
        let p = parse_frame(&f).unwrap();
        assert!(
            p.ip_checksum_ok && p.tcp_checksum_ok,
            "swapping keeps checksums"
        );
        assert_eq!(ours(&f, &ep), Some((123_456, 7)));
    }

    #[test]
    fn microsecond_copy_keeps_the_distribution() {
        let mut h = Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for ns in [12_000u64, 15_000, 15_500, 90_000] {
            h.record(ns).unwrap();
        }
        let us = to_us(&h);
        assert_eq!(us.len(), 4);
        assert_eq!(us.value_at_quantile(0.5), 15);
        assert!((us_at(&h, 0.5) - 15.0).abs() < 0.1);
    }
}
