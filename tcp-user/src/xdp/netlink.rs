//! A minimal rtnetlink client (route, neighbour and link queries). Control plane only.

use anyhow::{bail, Context, Result};

pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLM_F_REQUEST: u16 = 1;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const IFLA_XDP: u16 = 43;
const IFLA_XDP_PROG_ID: u16 = 4;

/// A route netlink socket.
pub(crate) struct Netlink {
    fd: i32,
    seq: u32,
}

impl Netlink {
    pub(crate) fn open() -> Result<Netlink> {
        // Safety: plain socket(2) call; the fd is owned by the returned value and closed on drop.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("opening a netlink socket");
        }
        let tv = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        // Safety: setsockopt with a valid timeval of the right size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        Ok(Netlink { fd, seq: 0 })
    }

    /// Sends one request and returns the payloads of the replies of type `want`.
    pub(crate) fn request(
        &mut self,
        kind: u16,
        flags: u16,
        body: &[u8],
        want: u16,
    ) -> Result<Vec<Vec<u8>>> {
        self.seq += 1;
        let len = 16 + body.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        // Safety: sends our own buffer on our own socket (to the kernel: zeroed sockaddr_nl).
        let sent = unsafe { libc::send(self.fd, msg.as_ptr() as *const _, msg.len(), 0) };
        if sent < 0 {
            return Err(std::io::Error::last_os_error()).context("netlink send");
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // Safety: receives into our own buffer of the given length.
            let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr() as *mut _, buf.len(), 0) };
            if n < 0 {
                return Err(std::io::Error::last_os_error()).context("netlink receive");
            }
            let mut rest = &buf[..n as usize];
            while rest.len() >= 16 {
                let mlen = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
                let mtype = u16::from_ne_bytes(rest[4..6].try_into().unwrap());
                if mlen < 16 || mlen > rest.len() {
                    bail!("malformed netlink reply");
                }
                match mtype {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let errno = i32::from_ne_bytes(rest[16..20].try_into().unwrap_or([0; 4]));
                        if errno == 0 {
                            return Ok(out); // an ACK
                        }
                        return Err(std::io::Error::from_raw_os_error(-errno))
                            .context("netlink request refused");
                    }
                    t if t == want => out.push(rest[16..mlen].to_vec()),
                    _ => {}
                }
                rest = &rest[(mlen + 3) & !3..];
            }
            if flags & NLM_F_DUMP == 0 && !out.is_empty() {
                return Ok(out);
            }
        }
    }
}

impl Drop for Netlink {
    fn drop(&mut self) {
        // Safety: closes the fd this value owns, once.
        unsafe { libc::close(self.fd) };
    }
}

/// Iterates over the rtattrs of a message body after a fixed header of `skip` bytes.
pub(crate) fn attrs(body: &[u8], skip: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = body.get(skip..).unwrap_or_default();
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]);
        if len < 4 || len > rest.len() {
            return None;
        }
        let value = &rest[4..len];
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
        Some((kind, value))
    })
}

/// The id of the XDP program attached to interface `ifindex`, if any.
pub fn attached_xdp_program(ifindex: u32) -> Result<Option<u32>> {
    let mut nl = Netlink::open()?;
    // struct ifinfomsg: family, pad, type(u16), index(i32), flags(u32), change(u32)
    let mut body = vec![libc::AF_UNSPEC as u8, 0, 0, 0];
    body.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    body.extend_from_slice(&[0; 8]);
    let replies = nl.request(RTM_GETLINK, 0, &body, RTM_NEWLINK)?;
    let reply = replies.first().context("no such interface")?;
    for (kind, value) in attrs(reply, 16) {
        if kind & 0x3fff == IFLA_XDP {
            for (inner, v) in attrs(value, 0) {
                if inner == IFLA_XDP_PROG_ID && v.len() == 4 {
                    let id = u32::from_ne_bytes(v.try_into().unwrap());
                    return Ok((id != 0).then_some(id));
                }
            }
        }
    }
    Ok(None)
}
