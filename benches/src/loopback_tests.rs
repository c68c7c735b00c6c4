//! The kernel server and every client mode over 127.0.0.1 in one process: bounded
//! transaction counts, the server started on an already-listening socket (no waiting for
//! readiness), stopped through its eventfd.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use crate::{
    client::{
        run_client, ClientConfig, ClientResult, HttpReader, Mode, Schedule, SYN_INFLIGHT_PER_CONN,
    },
    kernel_server::{self, http_response, App, StopHandle},
};

const LIMIT: Duration = Duration::from_secs(30);

fn with_server(app: App, f: impl FnOnce(SocketAddr)) {
    with_server_on(IpAddr::V4(Ipv4Addr::LOCALHOST), app, f)
}

/// The server on `ip` (an ephemeral port).
fn with_server_on(ip: IpAddr, app: App, f: impl FnOnce(SocketAddr)) {
    let listener = kernel_server::listen(SocketAddr::new(ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    assert_eq!(addr.ip(), ip);
    let stop = std::sync::Arc::new(StopHandle::new().unwrap());
    let stop2 = stop.clone();
    let server = std::thread::spawn(move || kernel_server::serve(listener, app, Some(&stop2)));
    f(addr);
    stop.stop();
    server.join().unwrap().unwrap();
}

fn client(mode: Mode, addr: SocketAddr, size: usize, conns: usize, n: u64) -> ClientResult {
    let cfg = ClientConfig {
        mode,
        addr,
        size,
        conns,
        core: None,
    };
    run_client(&cfg, Schedule::counted(n, LIMIT)).unwrap()
}

#[test]
fn rr_echoes_exactly_the_requested_count() {
    with_server(App::Echo, |addr| {
        let r = client(Mode::Rr, addr, 64, 1, 500);
        assert_eq!(r.txns, 500);
        assert_eq!(r.hist.len(), 500);
        assert_eq!(r.bytes, 500 * 64);
        assert_eq!(r.errors, 0);
        assert!(r.txn_per_sec() > 0.0 && r.hist.min() >= 1);
    });
}

#[test]
fn rr_with_several_connections_and_large_messages() {
    with_server(App::Echo, |addr| {
        let r = client(Mode::Rr, addr, 100_000, 3, 50);
        assert_eq!(r.txns, 150);
        assert_eq!(r.bytes, 150 * 100_000);
    });
}

#[test]
fn crr_connects_once_per_transaction() {
    with_server(App::Echo, |addr| {
        let r = client(Mode::Crr, addr, 64, 2, 100);
        assert_eq!(r.txns, 200);
        assert_eq!(r.errors, 0);
    });
}

#[test]
fn stream_counts_echoed_chunks() {
    with_server(App::Echo, |addr| {
        let r = client(Mode::Stream, addr, 64, 1, 100);
        assert_eq!(r.txns, 100);
        let chunk = crate::client::STREAM_CHUNK as u64;
        assert!(
            r.bytes >= 100 * chunk && r.bytes < 101 * chunk,
            "{}",
            r.bytes
        );
        assert!(r.mb_per_sec() > 0.0);
    });
}

#[test]
fn http_reads_bodies_by_content_length() {
    with_server(App::Http { body_size: 1000 }, |addr| {
        let r = client(Mode::Http, addr, 64, 2, 200);
        assert_eq!(r.txns, 400);
        assert_eq!(r.bytes, 400 * 1000);
    });
}

#[test]
fn download_of_a_large_body() {
    with_server(App::Http { body_size: 1 << 20 }, |addr| {
        let r = client(Mode::Download, addr, 64, 1, 20);
        assert_eq!(r.txns, 20);
        assert_eq!(r.bytes, 20 << 20);
    });
}

#[test]
fn syn_completes_handshakes_and_resets() {
    with_server(App::Echo, |addr| {
        let r = client(Mode::Syn, addr, 64, 1, 1000);
        // Completions of one epoll batch are all recorded: at most one batch beyond the count.
        assert!(
            r.txns >= 1000 && r.txns < 1000 + SYN_INFLIGHT_PER_CONN as u64,
            "{}",
            r.txns
        );
        assert_eq!(r.errors, 0);
    });
}

/// ::1, if this machine has IPv6 on its loopback (containers may not).
fn ipv6_loopback() -> Option<IpAddr> {
    let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
    match std::net::TcpListener::bind(SocketAddr::new(ip, 0)) {
        Ok(_) => Some(ip),
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback here ({e})");
            None
        }
    }
}

#[test]
fn every_socket_mode_runs_over_ipv6() {
    let Some(ip) = ipv6_loopback() else { return };
    with_server_on(ip, App::Echo, |addr| {
        assert!(addr.is_ipv6());
        assert_eq!(client(Mode::Rr, addr, 64, 1, 200).txns, 200);
        let crr = client(Mode::Crr, addr, 64, 1, 100);
        assert_eq!((crr.txns, crr.errors), (100, 0));
        assert_eq!(client(Mode::Stream, addr, 64, 1, 20).txns, 20);
        // The nonblocking connects: a sockaddr_in6 through libc.
        let syn = client(Mode::Syn, addr, 64, 1, 300);
        assert!(syn.txns >= 300 && syn.errors == 0, "{syn:?}");
    });
    with_server_on(ip, App::Http { body_size: 500 }, |addr| {
        let r = client(Mode::Http, addr, 64, 1, 50);
        assert_eq!((r.txns, r.bytes), (50, 50 * 500));
    });
}

#[test]
fn discard_swallows_everything() {
    use std::io::{Read, Write};
    with_server(App::Discard, |addr| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&vec![7u8; 1 << 20]).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap(); // the server closes after our FIN, sending nothing
        assert!(rest.is_empty());
    });
}

/// A reader that hands out at most `step` bytes per read, to split heads and bodies.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn http_reader_handles_split_and_pipelined_responses() {
    let mut wire = http_response(10);
    wire.extend(http_response(70_000));
    wire.extend(http_response(0));
    for step in [1, 7, 100, 1 << 20] {
        let mut r = Trickle { data: &wire, step };
        let mut reader = HttpReader::new();
        assert_eq!(reader.read_response(&mut r).unwrap(), 10);
        assert_eq!(reader.read_response(&mut r).unwrap(), 70_000);
        assert_eq!(reader.read_response(&mut r).unwrap(), 0);
        assert!(
            reader.read_response(&mut r).is_err(),
            "end of stream is an error"
        );
    }
    let bad = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let err = HttpReader::new().read_response(&mut &bad[..]).unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
