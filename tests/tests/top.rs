//! `xdptcp top`: the live view of a running daemon, read the way a script reads it (stdout
//! piped, so one plain block per refresh), while a kernel client keeps an echo busy.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use netns_tests::{daemon_bin, host, wait_until, Daemon, Testbed};

const ECHO: u16 = 7;

/// A kernel client echoing 1 KiB messages over one connection until told to stop; counts
/// the bytes that came back.
struct EchoLoad {
    stop: Arc<AtomicBool>,
    echoed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl EchoLoad {
    fn start(tb: &Testbed) -> EchoLoad {
        let mut s = tb.connect(ECHO, Duration::from_secs(5)).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let echoed = Arc::new(AtomicU64::new(0));
        let (stop2, echoed2) = (stop.clone(), echoed.clone());
        let thread = std::thread::spawn(move || {
            let msg = [b'x'; 1024];
            let mut back = [0u8; 1024];
            while !stop2.load(Ordering::Relaxed) {
                s.write_all(&msg).expect("write");
                s.read_exact(&mut back).expect("echo");
                echoed2.fetch_add(back.len() as u64, Ordering::Relaxed);
            }
        });
        EchoLoad {
            stop,
            echoed,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("the echo client ran without error");
        }
    }
}

/// The refresh blocks of `top`'s piped output (separated by blank lines).
fn blocks(stdout: &str) -> Vec<Vec<&str>> {
    stdout
        .split("\n\n")
        .map(|b| b.lines().collect::<Vec<_>>())
        .filter(|b| !b.is_empty())
        .collect()
}

/// The value of `column` in queue `q`'s row of a block.
fn cell<'a>(block: &[&'a str], column: &str, q: u32) -> Option<&'a str> {
    let header: Vec<&str> = block
        .iter()
        .find(|l| l.split_whitespace().next() == Some("queue"))?
        .split_whitespace()
        .collect();
    let at = header.iter().position(|h| *h == column)?;
    let row = block
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&q.to_string().as_str()))?;
    row.get(at).copied()
}

#[test]
fn top_piped_prints_three_blocks_of_per_queue_rates_while_a_kernel_client_echoes() {
    let tb = Testbed::new(1).unwrap();
    let daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    let load = EchoLoad::start(&tb);
    wait_until("the echo under way", Duration::from_secs(10), || {
        (load.echoed.load(Ordering::Relaxed) > 1 << 20).then_some(())
    })
    .unwrap();
    wait_until(
        "the daemon's stats to show it",
        Duration::from_secs(5),
        || {
            let c = daemon.live_counters().ok()?;
            (c.total("rx_frames_total") > 0).then_some(())
        },
    )
    .unwrap();

    let bin = daemon_bin();
    let out = host(&[
        bin.to_str().unwrap(),
        "top",
        "--iface",
        &tb.srv_if,
        "--count",
        "3",
        "--interval-ms",
        "500",
    ])
    .unwrap();
    load.stop();
    daemon.stop();

    println!("{}", out.stdout);
    assert!(out.success(), "top failed: {out:?}");
    assert!(
        !out.stdout.contains('\x1b'),
        "piped output has no terminal escapes:\n{}",
        out.stdout
    );
    let blocks = blocks(&out.stdout);
    assert_eq!(blocks.len(), 3, "three refreshes:\n{}", out.stdout);
    for b in &blocks {
        assert!(
            b[0].starts_with(&format!("xdptcp top  {}", tb.srv_if)),
            "{b:#?}"
        );
        let rx: f64 = cell(b, "rx/s", 0)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no rx/s for queue 0 in {b:#?}"));
        let tx: f64 = cell(b, "tx/s", 0).unwrap().parse().unwrap();
        assert!(rx > 0.0 && tx > 0.0, "queue 0 moves frames: {b:#?}");
        assert_eq!(cell(b, "active", 0), Some("1"), "one connection: {b:#?}");
    }
}

#[test]
fn top_on_an_interface_without_a_daemon_exits_non_zero_with_one_clear_line() {
    let tb = Testbed::new(1).unwrap();
    let bin = daemon_bin();
    let out = host(&[
        bin.to_str().unwrap(),
        "top",
        "--iface",
        &tb.srv_if,
        "--count",
        "1",
    ])
    .unwrap();
    assert!(!out.success(), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "xdptcp: error: no running xdptcp on {0} (/run/xdptcp/{0}.prom not found)\n",
            tb.srv_if
        )
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn top_on_a_terminal_redraws_one_screen_and_q_quits_and_restores_the_terminal() {
    let tb = Testbed::new(1).unwrap();
    let daemon = Daemon::start(&tb, &["--port", "7"]).unwrap();
    wait_until("the stats file", Duration::from_secs(5), || {
        daemon.stats_text().ok()
    })
    .unwrap();
    // `script` gives `top` a pseudo-terminal and copies what it draws into a file.
    let typescript = std::env::temp_dir().join(format!("xdptcp-top-tty-{}", std::process::id()));
    let bin = daemon_bin();
    let cmd = format!(
        "{} top --iface {} --interval-ms 100",
        bin.display(),
        tb.srv_if
    );
    let mut tty = Command::new("script")
        .args(["-qfc", &cmd])
        .arg(&typescript)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("script(1) runs");
    let drawn = wait_until("two screens drawn", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&typescript).ok()?;
        (text.matches("xdptcp top  ").count() >= 2).then_some(())
    });
    tty.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let status = wait_until("top to quit on q", Duration::from_secs(5), || {
        tty.try_wait().ok().flatten()
    });
    let _ = tty.kill();
    let _ = tty.wait();
    let text = std::fs::read_to_string(&typescript).unwrap_or_default();
    let _ = std::fs::remove_file(&typescript);
    drawn.unwrap_or_else(|e| panic!("{e}:\n{text}"));
    assert!(status.unwrap().success(), "{text}");
    assert!(
        text.contains("\x1b[?1049h"),
        "alternate screen entered:\n{text}"
    );
    assert!(text.contains("(q quits)"), "{text}");
    assert!(
        text.contains("\x1b[?25h\x1b[?1049l"),
        "cursor shown and the screen restored on q:\n{text}"
    );
    assert!(!text.contains("error"), "{text}");
    daemon.stop();
}
