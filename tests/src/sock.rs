//! Socket helpers: connecting from a chosen source port, reading `ss` socket states.
#![allow(unsafe_code)] // socket options are FFI.

use std::{
    io,
    net::{SocketAddrV4, TcpStream},
    os::fd::FromRawFd,
    time::Duration,
};

use anyhow::Result;

use crate::Netns;

/// Connects from `local` to `remote` with a timeout (std cannot bind before connecting).
/// Call it on a thread inside the client namespace ([`Netns::spawn_in`]).
pub fn connect_from(
    local: SocketAddrV4,
    remote: SocketAddrV4,
    timeout: Duration,
) -> io::Result<TcpStream> {
    fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }
    fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
        libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: a.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*a.ip()).to_be(),
            },
            sin_zero: [0; 8],
        }
    }
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // Safety: plain socket syscalls on a descriptor owned by `stream` from creation on, with
    // correctly sized sockaddr_in / int arguments.
    unsafe {
        let fd = cvt(libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        ))?;
        let stream = TcpStream::from_raw_fd(fd);
        let one: libc::c_int = 1;
        cvt(libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ))?;
        let l = sockaddr(local);
        cvt(libc::bind(fd, &l as *const _ as *const libc::sockaddr, len))?;
        let r = sockaddr(remote);
        if libc::connect(fd, &r as *const _ as *const libc::sockaddr, len) < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            let n = cvt(libc::poll(
                &mut pfd,
                1,
                timeout.as_millis().min(i32::MAX as u128) as i32,
            ))?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
            }
            if let Some(e) = stream.take_error()? {
                return Err(e);
            }
        }
        stream.set_nonblocking(false)?;
        Ok(stream)
    }
}

/// One line of `ss -tanH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsSocket {
    /// `LISTEN`, `ESTAB`, `SYN-SENT`, `TIME-WAIT`, ...
    pub state: String,
    pub recv_q: u64,
    pub send_q: u64,
    /// Local address as printed (`10.1.2.2:40000`, `*:80`, `[::]:22`).
    pub local: String,
    /// Peer address as printed (`10.1.2.1:7`, `*:*`).
    pub peer: String,
}

impl SsSocket {
    /// The port of the local address.
    pub fn local_port(&self) -> Option<u16> {
        port_of(&self.local)
    }

    /// The port of the peer address (None for `*`).
    pub fn peer_port(&self) -> Option<u16> {
        port_of(&self.peer)
    }

    /// Parses `ss -tanH` output (no header).
    pub fn parse_all(text: &str) -> Vec<SsSocket> {
        text.lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 5 {
                    return None;
                }
                Some(SsSocket {
                    state: f[0].to_string(),
                    recv_q: f[1].parse().ok()?,
                    send_q: f[2].parse().ok()?,
                    local: f[3].to_string(),
                    peer: f[4].to_string(),
                })
            })
            .collect()
    }
}

fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit_once(':')?.1.parse().ok()
}

impl Netns {
    /// TCP sockets in this namespace (`ss -tanH`).
    pub fn tcp_sockets(&self) -> Result<Vec<SsSocket>> {
        Ok(SsSocket::parse_all(&self.run_ok(&["ss", "-tanH"])?))
    }

    /// True if something listens on TCP `port` in this namespace.
    pub fn is_listening(&self, port: u16) -> Result<bool> {
        Ok(self
            .tcp_sockets()?
            .iter()
            .any(|s| s.state == "LISTEN" && s.local_port() == Some(port)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ss_lines() {
        let text = "LISTEN 0      5            10.9.8.1:8080      0.0.0.0:*\n\
                    ESTAB  0      0            10.9.8.2:40000    10.9.8.1:7\n\
                    TIME-WAIT 0   0      [::ffff:10.9.8.2]:41000 [::ffff:10.9.8.1]:80\n";
        let s = SsSocket::parse_all(text);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].state, "LISTEN");
        assert_eq!(s[0].local_port(), Some(8080));
        assert_eq!(s[0].peer_port(), None);
        assert_eq!(s[1].peer, "10.9.8.1:7");
        assert_eq!(s[1].peer_port(), Some(7));
        assert_eq!(s[2].local_port(), Some(41000));
    }
}
