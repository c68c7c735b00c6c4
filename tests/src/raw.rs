//! A raw-socket TCP peer: hand-crafted Ethernet/IPv4/TCP frames sent from the client
//! namespace through an AF_PACKET socket bound to the client veth, and the stack's answers
//! read back from the same socket, filtered by ports, with a timeout.
//!
//! It builds every byte itself (checksums included, or deliberately wrong ones), so tests can
//! send what a kernel socket never would: segments for no connection, bad flags, malformed
//! headers, blind-attack segments with chosen sequence numbers.
//!
//! **The client kernel must stay out of the way.** The raw peer uses the client's real IP and
//! a source port the kernel has no socket for, so the kernel would answer every SYN-ACK or ACK
//! the stack sends to that port with an RST of its own and tear the raw connection down. The
//! peer therefore installs, for its lifetime, an iptables rule in the client namespace
//! `-A OUTPUT -p tcp --sport <port> --tcp-flags RST RST -j DROP`. (The alternative, a source IP
//! the client does not own, avoids iptables but depends on how the stack picks the reply's
//! MAC and never looks like a real client; the rule is explicit and visible in `iptables -S`.)
#![allow(unsafe_code)] // the raw AF_PACKET peer is FFI.

use std::{
    fmt, io,
    net::Ipv4Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::{iptables::IptablesRule, Netns, Testbed};

/// TCP header flag bits.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// Ethernet header length.
pub const ETH_LEN: usize = 14;
/// IPv4 header length without options (what the peer sends).
pub const IP_LEN: usize = 20;
/// Offset of the IPv4 header checksum in a frame.
pub const IP_CHECKSUM_AT: usize = ETH_LEN + 10;
/// Offset of the TCP checksum in a frame sent by the peer (IPv4 header without options).
pub const TCP_CHECKSUM_AT: usize = ETH_LEN + IP_LEN + 16;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const PROTO_TCP: u8 = 6;

/// A TCP segment as the peer sends or receives it (host byte order, raw option bytes).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TcpSeg {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// [`flags`] bits.
    pub flags: u8,
    pub window: u16,
    pub urgent: u16,
    /// Raw option bytes; padded with zeros (EOL) to a multiple of 4 when emitted.
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl TcpSeg {
    /// True if every bit of `f` is set.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f == f
    }

    /// Sequence space taken: payload length plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32
            + u32::from(self.has(flags::SYN))
            + u32::from(self.has(flags::FIN))
    }

    /// The MSS option, if present.
    pub fn mss(&self) -> Option<u16> {
        self.option(2)
            .filter(|v| v.len() == 2)
            .map(|v| u16::from_be_bytes([v[0], v[1]]))
    }

    /// The window scale option's shift, if present.
    pub fn window_scale(&self) -> Option<u8> {
        self.option(3).filter(|v| v.len() == 1).map(|v| v[0])
    }

    /// The value bytes of the first option of `kind` (kinds 0 and 1 have none).
    pub fn option(&self, kind: u8) -> Option<&[u8]> {
        let o = &self.options;
        let mut i = 0;
        while i < o.len() {
            match o[i] {
                0 => return None,
                1 => i += 1,
                k => {
                    let len = *o.get(i + 1)? as usize;
                    if len < 2 || i + len > o.len() {
                        return None;
                    }
                    if k == kind {
                        return Some(&o[i + 2..i + len]);
                    }
                    i += len;
                }
            }
        }
        None
    }
}

impl fmt::Debug for TcpSeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (flags::SYN, 'S'),
            (flags::FIN, 'F'),
            (flags::RST, 'R'),
            (flags::PSH, 'P'),
            (flags::ACK, '.'),
            (flags::URG, 'U'),
            (flags::ECE, 'E'),
            (flags::CWR, 'W'),
        ];
        let fl: String = names
            .iter()
            .filter(|(b, _)| self.flags & b != 0)
            .map(|(_, c)| *c)
            .collect();
        write!(
            f,
            "{}>{} [{fl}] seq={} ack={} win={} len={}",
            self.src_port,
            self.dst_port,
            self.seq,
            self.ack,
            self.window,
            self.payload.len()
        )?;
        if !self.options.is_empty() {
            write!(f, " opts={:02x?}", self.options)?;
        }
        Ok(())
    }
}

/// A TCP segment the peer received, with what the IP layer said about it.
#[derive(Clone, Debug)]
pub struct Received {
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub ttl: u8,
    pub ip_checksum_ok: bool,
    pub tcp_checksum_ok: bool,
    pub tcp: TcpSeg,
}

/// The sequence state after a handshake with the stack.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The peer's port (the raw peer's `local_port`).
    pub local_port: u16,
    /// The stack's port.
    pub remote_port: u16,
    /// Our initial sequence number.
    pub iss: u32,
    /// The stack's initial sequence number (from its SYN-ACK).
    pub irs: u32,
    /// Next sequence number we send (iss + 1 after the handshake).
    pub snd_nxt: u32,
    /// Next sequence number we expect from the stack (irs + 1 after the handshake).
    pub rcv_nxt: u32,
    /// The stack's SYN-ACK as received.
    pub syn_ack: TcpSeg,
}

impl Handshake {
    /// A segment on this connection at the current `snd_nxt`/`rcv_nxt` with flags `f` (pass
    /// `flags::ACK` for an ordinary segment), window 64240.
    pub fn seg(&self, f: u8, payload: &[u8]) -> TcpSeg {
        TcpSeg {
            src_port: self.local_port,
            dst_port: self.remote_port,
            seq: self.snd_nxt,
            ack: self.rcv_nxt,
            flags: f,
            window: 64240,
            payload: payload.to_vec(),
            ..TcpSeg::default()
        }
    }
}

/// The raw peer: an AF_PACKET socket on the client veth, for one local (source) port.
pub struct RawPeer {
    fd: OwnedFd,
    ifindex: i32,
    pub local_mac: [u8; 6],
    pub remote_mac: [u8; 6],
    pub local_ip: Ipv4Addr,
    pub remote_ip: Ipv4Addr,
    /// The source port this peer uses; frames to it are what [`RawPeer::recv`] returns.
    pub local_port: u16,
    ip_id: std::cell::Cell<u16>,
    _no_kernel_rst: IptablesRule,
}

impl RawPeer {
    /// A peer in `tb`'s client namespace sending from `local_port` to the server; installs the
    /// rule that keeps the client kernel's RSTs for that port off the wire.
    pub fn new(tb: &Testbed, local_port: u16) -> Result<RawPeer> {
        RawPeer::open(tb, local_port, ETHERTYPE_IPV4)
    }

    /// A peer for IPv6 frames: it receives IPv6 frames only, and the client kernel's IPv6
    /// RSTs for `local_port` are kept off the wire. Build its frames by hand and send them
    /// with [`RawPeer::send_frame`] (the segment helpers build IPv4).
    pub fn new6(tb: &Testbed, local_port: u16) -> Result<RawPeer> {
        RawPeer::open(tb, local_port, ETHERTYPE_IPV6)
    }

    fn open(tb: &Testbed, local_port: u16, ethertype: u16) -> Result<RawPeer> {
        let local_mac = read_mac(&tb.cli, &tb.cli_if)?;
        let remote_mac = read_mac(&tb.srv, &tb.srv_if)?;
        let ifname = tb.cli_if.clone();
        let (fd, ifindex) = tb
            .cli
            .exec_in(move || open_packet_socket(&ifname, ethertype))
            .with_context(|| format!("AF_PACKET socket on {}", tb.cli_if))?;
        let port = local_port.to_string();
        let spec = [
            "-p",
            "tcp",
            "--sport",
            &port,
            "--tcp-flags",
            "RST",
            "RST",
            "-j",
            "DROP",
        ];
        let rule = if ethertype == ETHERTYPE_IPV6 {
            tb.cli.ip6tables_append("OUTPUT", &spec)?
        } else {
            tb.cli.iptables_append("OUTPUT", &spec)?
        };
        Ok(RawPeer {
            fd,
            ifindex,
            local_mac,
            remote_mac,
            local_ip: tb.cli_ip,
            remote_ip: tb.srv_ip,
            local_port,
            ip_id: std::cell::Cell::new(1),
            _no_kernel_rst: rule,
        })
    }

    /// A segment from this peer to `remote_port` (window 64240, no options).
    pub fn seg(&self, remote_port: u16, f: u8, seq: u32, ack: u32) -> TcpSeg {
        TcpSeg {
            src_port: self.local_port,
            dst_port: remote_port,
            seq,
            ack,
            flags: f,
            window: 64240,
            ..TcpSeg::default()
        }
    }

    /// The complete Ethernet frame for `seg`, with correct IPv4 and TCP checksums.
    pub fn frame(&self, seg: &TcpSeg) -> Vec<u8> {
        let id = self.ip_id.get();
        self.ip_id.set(id.wrapping_add(1));
        build_frame(
            self.local_mac,
            self.remote_mac,
            self.local_ip,
            self.remote_ip,
            id,
            seg,
        )
    }

    /// Sends `seg` with correct checksums.
    pub fn send(&self, seg: &TcpSeg) -> Result<()> {
        self.send_frame(&self.frame(seg))
    }

    /// Sends any bytes as one frame (malformed ones included).
    pub fn send_frame(&self, frame: &[u8]) -> Result<()> {
        // Safety: an all-zero sockaddr_ll is valid; the fields set below are plain integers.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = self.ifindex;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&self.remote_mac);
        // Safety: sendto on our open socket with a valid buffer and sockaddr of the given size.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
                &addr as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            bail!("sendto: {}", io::Error::last_os_error());
        }
        if n as usize != frame.len() {
            bail!("sendto sent {n} of {} bytes", frame.len());
        }
        Ok(())
    }

    /// The next TCP segment from the server to this peer's port, or `None` after `timeout`.
    /// Other frames (ARP, other ports, other hosts) are skipped.
    pub fn recv(&self, timeout: Duration) -> Result<Option<Received>> {
        self.recv_matching(timeout, |_| true)
    }

    /// The next segment to this peer's port for which `pred` holds (others are skipped), or
    /// `None` after `timeout`.
    pub fn recv_matching(
        &self,
        timeout: Duration,
        pred: impl Fn(&Received) -> bool,
    ) -> Result<Option<Received>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(n) = self.recv_frame(&mut buf, left)? else {
                return Ok(None);
            };
            if let Some(r) = parse_frame(&buf[..n]) {
                let ours = r.src_ip == self.remote_ip
                    && r.dst_ip == self.local_ip
                    && r.tcp.dst_port == self.local_port;
                if ours && pred(&r) {
                    return Ok(Some(r));
                }
            }
        }
    }

    /// Fails if any segment arrives for this peer's port within `window`.
    pub fn expect_silence(&self, window: Duration) -> Result<()> {
        match self.recv(window)? {
            None => Ok(()),
            Some(r) => bail!("expected no answer within {window:?}, got {:?}", r.tcp),
        }
    }

    /// Drops whatever has already arrived (so a following `recv` sees only new segments).
    pub fn drain(&self) -> Result<()> {
        let mut buf = vec![0u8; 65536];
        while self.recv_frame(&mut buf, Duration::ZERO)?.is_some() {}
        Ok(())
    }

    /// A three-way handshake with the stack's `remote_port`, our ISS `iss`: SYN (MSS 1460),
    /// wait up to 3 s for a SYN-ACK acknowledging it, then ACK. Returns the sequence state.
    pub fn handshake(&self, remote_port: u16, iss: u32) -> Result<Handshake> {
        let mut syn = self.seg(remote_port, flags::SYN, iss, 0);
        syn.options = vec![2, 4, 0x05, 0xb4]; // MSS 1460
        self.send(&syn)?;
        let reply = self
            .recv_matching(Duration::from_secs(3), |r| r.tcp.src_port == remote_port)?
            .with_context(|| format!("no answer to {syn:?} within 3 s"))?;
        let sa = reply.tcp.clone();
        if sa.flags & (flags::SYN | flags::ACK | flags::RST | flags::FIN) != flags::SYN | flags::ACK
            || sa.ack != iss.wrapping_add(1)
        {
            bail!(
                "expected SYN-ACK with ack={} to {syn:?}, got {sa:?}",
                iss.wrapping_add(1)
            );
        }
        if !reply.tcp_checksum_ok || !reply.ip_checksum_ok {
            bail!("SYN-ACK with a bad checksum: {reply:?}");
        }
        let hs = Handshake {
            local_port: self.local_port,
            remote_port,
            iss,
            irs: sa.seq,
            snd_nxt: iss.wrapping_add(1),
            rcv_nxt: sa.seq.wrapping_add(1),
            syn_ack: sa,
        };
        self.send(&hs.seg(flags::ACK, &[]))?;
        Ok(hs)
    }

    /// One frame from the socket into `buf`, or `None` after `timeout`.
    pub fn recv_frame(&self, buf: &mut [u8], timeout: Duration) -> Result<Option<usize>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // Safety: poll on one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(Some(0));
            }
            bail!("poll: {e}");
        }
        if r == 0 {
            return Ok(None);
        }
        // Safety: recv into a buffer of the given length on our open socket.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) {
                return Ok(Some(0));
            }
            bail!("recv: {e}");
        }
        Ok(Some(n as usize))
    }
}

/// An AF_PACKET socket bound to `ifname` for IPv4 frames, ignoring the frames it sends itself
/// (call it on a thread inside the interface's namespace). Returns it with the ifindex.
fn open_packet_socket(ifname: &str, ethertype: u16) -> Result<(OwnedFd, i32)> {
    let name = std::ffi::CString::new(ifname)?;
    // Safety: if_nametoindex reads a NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
    if ifindex == 0 {
        bail!("no interface {ifname}: {}", io::Error::last_os_error());
    }
    // Protocol 0: receives nothing until bound to a protocol and an interface below.
    // Safety: plain socket(2).
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        bail!("socket(AF_PACKET): {}", io::Error::last_os_error());
    }
    // Safety: `raw` is a fresh descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let one: libc::c_int = 1;
    // Safety: setsockopt with an int argument of the right size.
    let r = unsafe {
        libc::setsockopt(
            raw,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        bail!("PACKET_IGNORE_OUTGOING: {}", io::Error::last_os_error());
    }
    // Safety: zeroed sockaddr_ll is valid; fields below are plain integers.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ethertype.to_be();
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
        bail!("bind(AF_PACKET, {ifname}): {}", io::Error::last_os_error());
    }
    Ok((fd, ifindex))
}

/// The MAC address of `ifname` in `ns` (/sys as seen inside the namespace).
fn read_mac(ns: &Netns, ifname: &str) -> Result<[u8; 6]> {
    let text = ns.run_ok(&["cat", &format!("/sys/class/net/{ifname}/address")])?;
    parse_mac(text.trim()).with_context(|| format!("MAC of {ifname}: {text:?}"))
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The Internet checksum (RFC 1071) of `data` added to `initial` (a partial sum).
pub fn checksum(initial: u32, data: &[u8]) -> u16 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, tcp_len: usize) -> u32 {
    let (s, d) = (src.octets(), dst.octets());
    u32::from(u16::from_be_bytes([s[0], s[1]]))
        + u32::from(u16::from_be_bytes([s[2], s[3]]))
        + u32::from(u16::from_be_bytes([d[0], d[1]]))
        + u32::from(u16::from_be_bytes([d[2], d[3]]))
        + u32::from(PROTO_TCP)
        + tcp_len as u32
}

/// Builds Ethernet + IPv4 (20 bytes, DF, TTL 64) + TCP for `seg`, with correct checksums.
pub fn build_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    ip_id: u16,
    seg: &TcpSeg,
) -> Vec<u8> {
    let mut options = seg.options.clone();
    options.resize(options.len().div_ceil(4) * 4, 0);
    let tcp_len = 20 + options.len() + seg.payload.len();
    let total = IP_LEN + tcp_len;
    let mut f = Vec::with_capacity(ETH_LEN + total);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    // IPv4
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&(total as u16).to_be_bytes());
    f.extend_from_slice(&ip_id.to_be_bytes());
    f.extend_from_slice(&0x4000u16.to_be_bytes()); // DF
    f.extend_from_slice(&[64, PROTO_TCP, 0, 0]);
    f.extend_from_slice(&src_ip.octets());
    f.extend_from_slice(&dst_ip.octets());
    // TCP
    f.extend_from_slice(&seg.src_port.to_be_bytes());
    f.extend_from_slice(&seg.dst_port.to_be_bytes());
    f.extend_from_slice(&seg.seq.to_be_bytes());
    f.extend_from_slice(&seg.ack.to_be_bytes());
    f.push((((20 + options.len()) / 4) as u8) << 4);
    f.push(seg.flags);
    f.extend_from_slice(&seg.window.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&seg.urgent.to_be_bytes());
    f.extend_from_slice(&options);
    f.extend_from_slice(&seg.payload);
    fill_checksums(&mut f);
    f
}

/// Splits a frame built by [`build_frame`] into two IPv4 fragments (DF cleared): the first
/// carries `first_len` bytes of the IP payload (the TCP header and the start of the data;
/// rounded down to a multiple of 8), the second the rest. The TCP checksum, computed over
/// the whole segment, stays valid for the reassembled datagram.
pub fn fragment(frame: &[u8], first_len: usize) -> (Vec<u8>, Vec<u8>) {
    let ihl = usize::from(frame[ETH_LEN] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([frame[ETH_LEN + 2], frame[ETH_LEN + 3]]));
    let payload = &frame[ETH_LEN + ihl..ETH_LEN + total];
    let cut = (first_len / 8 * 8).clamp(8, payload.len().saturating_sub(1) / 8 * 8);
    let piece = |bytes: &[u8], offset: usize, more: bool| {
        let mut f = frame[..ETH_LEN + ihl].to_vec();
        f.extend_from_slice(bytes);
        let len = (ihl + bytes.len()) as u16;
        f[ETH_LEN + 2..ETH_LEN + 4].copy_from_slice(&len.to_be_bytes());
        let flags = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
        f[ETH_LEN + 6..ETH_LEN + 8].copy_from_slice(&flags.to_be_bytes());
        f[IP_CHECKSUM_AT..IP_CHECKSUM_AT + 2].fill(0);
        let sum = checksum(0, &f[ETH_LEN..ETH_LEN + ihl]);
        f[IP_CHECKSUM_AT..IP_CHECKSUM_AT + 2].copy_from_slice(&sum.to_be_bytes());
        f
    };
    (
        piece(&payload[..cut], 0, true),
        piece(&payload[cut..], cut, false),
    )
}

/// Recomputes the IPv4 header and TCP checksums of a frame in place (after a test edited it);
/// honours the IHL and total length found in the frame.
pub fn fill_checksums(f: &mut [u8]) {
    let ihl = usize::from(f[ETH_LEN] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([f[ETH_LEN + 2], f[ETH_LEN + 3]]));
    f[IP_CHECKSUM_AT..IP_CHECKSUM_AT + 2].fill(0);
    let ip_sum = checksum(0, &f[ETH_LEN..ETH_LEN + ihl]);
    f[IP_CHECKSUM_AT..IP_CHECKSUM_AT + 2].copy_from_slice(&ip_sum.to_be_bytes());
    let src = Ipv4Addr::from(<[u8; 4]>::try_from(&f[ETH_LEN + 12..ETH_LEN + 16]).unwrap());
    let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&f[ETH_LEN + 16..ETH_LEN + 20]).unwrap());
    let tcp = ETH_LEN + ihl;
    let end = (ETH_LEN + total).min(f.len());
    if end < tcp + 20 {
        return;
    }
    f[tcp + 16..tcp + 18].fill(0);
    let sum = checksum(pseudo_header_sum(src, dst, end - tcp), &f[tcp..end]);
    f[tcp + 16..tcp + 18].copy_from_slice(&sum.to_be_bytes());
}

/// Parses an Ethernet/IPv4/TCP frame; `None` for anything else or anything truncated.
pub fn parse_frame(f: &[u8]) -> Option<Received> {
    if f.len() < ETH_LEN + 20 || u16::from_be_bytes([f[12], f[13]]) != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = &f[ETH_LEN..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] >> 4 != 4 || ihl < 20 || total < ihl + 20 || total > ip.len() || ip[9] != PROTO_TCP {
        return None;
    }
    let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let tcp = &ip[ihl..total];
    let doff = usize::from(tcp[12] >> 4) * 4;
    if doff < 20 || doff > tcp.len() {
        return None;
    }
    let be16 = |i: usize| u16::from_be_bytes([tcp[i], tcp[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([tcp[i], tcp[i + 1], tcp[i + 2], tcp[i + 3]]);
    Some(Received {
        src_ip,
        dst_ip,
        ttl: ip[8],
        ip_checksum_ok: checksum(0, &ip[..ihl]) == 0,
        tcp_checksum_ok: checksum(pseudo_header_sum(src_ip, dst_ip, tcp.len()), tcp) == 0,
        tcp: TcpSeg {
            src_port: be16(0),
            dst_port: be16(2),
            seq: be32(4),
            ack: be32(8),
            flags: tcp[13],
            window: be16(14),
            urgent: be16(18),
            options: tcp[20..doff].to_vec(),
            payload: tcp[doff..].to_vec(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_valid_checksums() {
        let seg = TcpSeg {
            src_port: 40000,
            dst_port: 80,
            seq: 0xdead_beef,
            ack: 7,
            flags: flags::SYN | flags::ACK,
            window: 1000,
            options: vec![2, 4, 0x05, 0xb4, 3, 3, 7],
            payload: b"hello".to_vec(),
            ..TcpSeg::default()
        };
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
        let f = build_frame([2; 6], [4; 6], a, b, 9, &seg);
        let r = parse_frame(&f).unwrap();
        assert!(r.ip_checksum_ok && r.tcp_checksum_ok);
        assert_eq!((r.src_ip, r.dst_ip, r.ttl), (a, b, 64));
        assert_eq!(r.tcp.options.len(), 8); // padded
        assert_eq!(r.tcp.mss(), Some(1460));
        assert_eq!(r.tcp.window_scale(), Some(7));
        assert_eq!(r.tcp.payload, b"hello");
        assert_eq!(r.tcp.seq_len(), 6);
        assert_eq!((r.tcp.seq, r.tcp.flags), (seg.seq, seg.flags));

        let mut bad = f.clone();
        bad[TCP_CHECKSUM_AT] ^= 1;
        let r = parse_frame(&bad).unwrap();
        assert!(r.ip_checksum_ok && !r.tcp_checksum_ok);
        fill_checksums(&mut bad);
        assert_eq!(bad, f);
    }

    #[test]
    fn checksum_matches_rfc_1071_example() {
        // RFC 1071 section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (before inversion).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(0, &data), !0xddf2);
    }

    #[test]
    fn parses_macs() {
        assert_eq!(
            parse_mac("1a:2b:3c:4d:5e:6f"),
            Some([0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f])
        );
        assert_eq!(parse_mac("1a:2b"), None);
    }
}
