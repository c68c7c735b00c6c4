//! The control socket: how `xdptcp ss` and `xdptcp capture` talk to a running daemon.
//!
//! The runtime listens on a Unix stream socket, `/run/xdptcp/IF.sock`, mode 0600 (its owner
//! only: root, or the service user under systemd). A client writes one JSON line, a
//! [`Request`], and reads the answer:
//! - `ss`: one JSON line per connection ([`ConnInfo`](crate::tcp::ConnInfo)), then `{"done":{...}}`;
//! - `capture`: `{"capturing":{...}}`, then binary [`Record`]s until the count is reached,
//!   the client hangs up or the daemon stops, the last one the summary.
//!
//! Errors are `{"error":"..."}`. Each client has its own thread; the workers answer between
//! batches (a listing is one pass over a worker's table), so nothing here blocks the
//! datapath, and when nobody asks, a worker pays one atomic load per turn.

pub(crate) mod sink;

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossbeam_channel::{RecvTimeoutError, Sender};
use serde::{Deserialize, Serialize};

use crate::capture::{CapturedFrame, Direction, Filter, Record};
use crate::metrics::RUN_DIR;
use crate::service::Waker;
use crate::tcp::ConnFilter;
use sink::{CaptureSink, WorkerRequest};

/// The control socket of the daemon serving `iface`.
pub fn socket_path(iface: &str) -> PathBuf {
    PathBuf::from(RUN_DIR).join(format!("{iface}.sock"))
}

/// A client's request (one JSON line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// List connections.
    Ss {
        /// Which ones.
        #[serde(default)]
        filter: ConnFilter,
    },
    /// Stream the frames the daemon receives and sends.
    Capture {
        /// A tcpdump-style filter ([`Filter`]); empty for every frame.
        #[serde(default)]
        filter: String,
        /// Bytes kept of each frame.
        snaplen: u32,
        /// Stop after this many frames (0: until the client hangs up).
        #[serde(default)]
        count: u64,
    },
}

/// How a capture went, the last record of its stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureSummary {
    /// Frames streamed to the client.
    pub frames: u64,
    /// Of which received.
    pub received: u64,
    /// Of which sent.
    pub sent: u64,
    /// Frames the filter passed but the capture ring had no room for.
    pub dropped: u64,
    /// Why it ended: `count`, `client`, `stopped`.
    pub ended: String,
}

/// Longest a worker may take to answer a listing.
const WORKER_ANSWER: Duration = Duration::from_secs(5);
/// Frames held between the workers and the control thread, per capture.
const CAPTURE_RING: usize = 16_384;
/// Largest snaplen (a frame is at most 4 KiB here; tcpdump's default is 262144).
const MAX_SNAPLEN: u32 = 262_144;
/// Longest request line.
const MAX_REQUEST: u64 = 64 * 1024;

/// One worker as the control thread sees it.
#[derive(Clone)]
pub(crate) struct WorkerHandle {
    pub requests: Sender<WorkerRequest>,
    pub waker: Waker,
}

impl WorkerHandle {
    fn ask(&self, request: WorkerRequest) -> bool {
        let sent = self.requests.send(request).is_ok();
        self.waker.wake();
        sent
    }
}

/// The listening socket and its thread; removed when dropped.
pub(crate) struct ControlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Listens on `iface`'s control socket and serves `workers` (index = queue).
    pub fn start(iface: &str, workers: Vec<WorkerHandle>) -> Result<ControlServer> {
        std::fs::create_dir_all(RUN_DIR).with_context(|| format!("creating {RUN_DIR}"))?;
        let path = socket_path(iface);
        if UnixStream::connect(&path).is_ok() {
            anyhow::bail!(
                "another xdptcp answers on {} (is a daemon already serving {iface}?)",
                path.display()
            );
        }
        // Bound under a temporary name, made owner-only, then moved into place: the socket
        // is never reachable with looser permissions.
        let tmp = path.with_extension(format!("sock.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp)
            .with_context(|| format!("binding the control socket {}", tmp.display()))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .context("making the control socket owner-only")?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("moving the control socket to {}", path.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            iface: iface.to_string(),
            workers,
            stop: stop.clone(),
            capturing: AtomicBool::new(false),
        });
        let thread = std::thread::Builder::new()
            .name("xdptcp-control".into())
            .spawn(move || accept_loop(listener, shared))
            .context("spawning the control thread")?;
        Ok(ControlServer {
            path,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The thread blocks in accept(): a connection of our own wakes it to see `stop`. If
        // that fails (someone removed the socket file), the thread is left behind rather
        // than waited for forever; it holds nothing the runtime still needs.
        let woken = UnixStream::connect(&self.path).is_ok();
        if let Some(t) = self.thread.take() {
            if woken {
                let _ = t.join();
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Shared {
    iface: String,
    workers: Vec<WorkerHandle>,
    stop: Arc<AtomicBool>,
    capturing: AtomicBool,
}

/// Accepts clients until told to stop. It blocks in accept(): a thread that woke up to poll
/// would cost the workers measurably (20 % of `rr`'s rate with a 20 ms poll), and the
/// server's `Drop` connects once to wake it instead.
fn accept_loop(listener: UnixListener, shared: Arc<Shared>) {
    let mut clients: Vec<JoinHandle<()>> = Vec::new();
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            continue;
        };
        let client = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("xdptcp-ctl-client".into())
            .spawn(move || serve_client(stream, &client));
        if let Ok(h) = spawned {
            clients.push(h);
        }
        clients.retain(|h| !h.is_finished());
    }
    for h in clients {
        let _ = h.join();
    }
}

fn serve_client(stream: UnixStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut line = String::new();
    let read = BufReader::new(read_half.take(MAX_REQUEST)).read_line(&mut line);
    let mut out = BufWriter::new(stream);
    let request = match read {
        Ok(0) => return,
        Ok(_) => serde_json::from_str::<Request>(line.trim()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let _ = match request {
        Ok(Request::Ss { filter }) => list(shared, &filter, &mut out),
        Ok(Request::Capture {
            filter,
            snaplen,
            count,
        }) => capture(shared, &filter, snaplen, count, out),
        Err(e) => send_error(&mut out, &format!("bad request: {e}")),
    };
}

fn send_error(out: &mut impl Write, message: &str) -> std::io::Result<()> {
    let line = serde_json::json!({ "error": message });
    writeln!(out, "{line}")?;
    out.flush()
}

/// `ss`: asks each worker for its connections a piece at a time, streams them, then says
/// how many workers answered to the end.
fn list(shared: &Shared, filter: &ConnFilter, out: &mut impl Write) -> std::io::Result<()> {
    let mut answered = 0;
    let mut listed = 0;
    for w in &shared.workers {
        let mut from = Some(0);
        while let Some(start) = from {
            let (reply, replies) = crossbeam_channel::bounded(1);
            let asked = w.ask(WorkerRequest::Connections {
                filter: filter.clone(),
                from: start,
                reply,
            });
            let Some((conns, next)) = asked
                .then(|| replies.recv_timeout(WORKER_ANSWER).ok())
                .flatten()
            else {
                break;
            };
            for c in conns {
                serde_json::to_writer(&mut *out, &c)?;
                out.write_all(b"\n")?;
                listed += 1;
            }
            from = next;
        }
        answered += usize::from(from.is_none());
    }
    let done = serde_json::json!({
        "done": { "workers": shared.workers.len(), "answered": answered, "connections": listed }
    });
    writeln!(out, "{done}")?;
    out.flush()
}

/// `capture`: hands every worker a sink, streams what they copy until the end, then the
/// summary.
fn capture(
    shared: &Shared,
    filter: &str,
    snaplen: u32,
    count: u64,
    mut out: BufWriter<UnixStream>,
) -> std::io::Result<()> {
    let filter = match Filter::parse(filter) {
        Ok(f) => Arc::new(f),
        Err(e) => return send_error(&mut out, &format!("bad filter: {e}")),
    };
    if snaplen == 0 || snaplen > MAX_SNAPLEN {
        return send_error(&mut out, &format!("snaplen must be 1-{MAX_SNAPLEN}"));
    }
    if shared.capturing.swap(true, Ordering::SeqCst) {
        return send_error(
            &mut out,
            &format!("a capture is already running on {}", shared.iface),
        );
    }
    let result = run_capture(shared, filter, snaplen, count, &mut out);
    shared.capturing.store(false, Ordering::SeqCst);
    result
}

fn run_capture(
    shared: &Shared,
    filter: Arc<Filter>,
    snaplen: u32,
    count: u64,
    out: &mut BufWriter<UnixStream>,
) -> std::io::Result<()> {
    let (tx, frames) = crossbeam_channel::bounded::<CapturedFrame>(CAPTURE_RING);
    let dropped = Arc::new(AtomicU64::new(0));
    for (q, w) in shared.workers.iter().enumerate() {
        w.ask(WorkerRequest::StartCapture(CaptureSink {
            filter: filter.clone(),
            snaplen: snaplen as usize,
            queue: q as u32,
            out: tx.clone(),
            dropped: dropped.clone(),
            gone: false,
        }));
    }
    drop(tx);
    let stop_all = || {
        for w in &shared.workers {
            w.ask(WorkerRequest::StopCapture);
        }
    };
    let hello = serde_json::json!({
        "capturing": { "iface": shared.iface, "queues": shared.workers.len(), "snaplen": snaplen }
    });
    if writeln!(out, "{hello}").and_then(|_| out.flush()).is_err() {
        stop_all();
        return Ok(());
    }
    // The client sends nothing more: a read that returns means it hung up.
    let hangup = out.get_ref().try_clone()?;
    hangup.set_read_timeout(Some(Duration::from_millis(1)))?;
    let mut summary = CaptureSummary::default();
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut last_check = Instant::now();
    let ended = loop {
        if count > 0 && summary.frames >= count {
            break "count";
        }
        if shared.stop.load(Ordering::SeqCst) {
            break "stopped";
        }
        if last_check.elapsed() >= Duration::from_millis(100) {
            last_check = Instant::now();
            if client_left(&hangup) {
                break "client";
            }
        }
        match frames.recv_timeout(Duration::from_millis(100)) {
            Ok(f) => {
                take(f, &mut summary, &mut buf);
                // Batch what is already waiting into one write.
                while buf.len() < 60 * 1024 && (count == 0 || summary.frames < count) {
                    match frames.try_recv() {
                        Ok(f) => take(f, &mut summary, &mut buf),
                        Err(_) => break,
                    }
                }
                if out.write_all(&buf).and_then(|_| out.flush()).is_err() {
                    break "client";
                }
                buf.clear();
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Every worker dropped its sink: the runtime is stopping.
            Err(RecvTimeoutError::Disconnected) => break "stopped",
        }
    };
    stop_all();
    summary.dropped = dropped.load(Ordering::Relaxed);
    summary.ended = ended.to_string();
    // A client that only shut down its sending side still reads the summary; one that
    // closed altogether makes this write fail, which is fine.
    let text = serde_json::to_string(&summary).unwrap_or_default();
    Record::End(text).write_to(out)?;
    out.flush()
}

/// Counts a frame and encodes it for the client.
fn take(f: CapturedFrame, summary: &mut CaptureSummary, buf: &mut Vec<u8>) {
    match f.direction {
        Direction::In => summary.received += 1,
        Direction::Out => summary.sent += 1,
    }
    summary.frames += 1;
    Record::Frame(f).encode(buf);
}

/// True when the peer of `stream` closed its end (a read returns 0 or fails for good).
fn client_left(mut stream: &UnixStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false, // the client sent something: ignored
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// A connected client of `iface`'s daemon, with a clear error when none runs.
pub fn connect(iface: &str) -> Result<UnixStream> {
    let path = socket_path(iface);
    UnixStream::connect(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => anyhow::anyhow!(
            "no running xdptcp on {iface} ({} not found)",
            path.display()
        ),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "{}: permission denied (the control socket is its owner's only: run as root or as the daemon's user)",
            path.display()
        ),
        _ => anyhow::anyhow!("connecting to {}: {e}", path.display()),
    })
}

/// Sends `request` on a new connection to `iface`'s daemon.
pub fn request(iface: &str, request: &Request) -> Result<UnixStream> {
    let mut stream = connect(iface)?;
    let mut line = serde_json::to_string(request).context("encoding the request")?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .context("sending the request to the daemon")?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_line_each() {
        let r = Request::Ss {
            filter: ConnFilter {
                states: vec!["ESTABLISHED".into()],
                port: Some(7),
            },
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(
            text,
            r#"{"op":"ss","filter":{"states":["ESTABLISHED"],"port":7}}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
        let c: Request = serde_json::from_str(r#"{"op":"capture","snaplen":96}"#).unwrap();
        assert_eq!(
            c,
            Request::Capture {
                filter: String::new(),
                snaplen: 96,
                count: 0
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"reboot"}"#).is_err());
    }
}
