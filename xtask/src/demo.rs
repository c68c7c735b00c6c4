//! `cargo xtask demo`: the daemon in a namespace, real kernel clients in the peer namespace.
//!
//! A demo is a list of scenarios (one daemon each, since a daemon serves one app and owns the
//! interface's XDP slot); a scenario is a list of steps, each printing PASS/FAIL with a
//! figure. To show a new feature, add a step (or a scenario) below.

use std::{
    io::ErrorKind,
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use netns_tests::{wait_until, Daemon, ExitCounters, Testbed};

use crate::build;

/// What a step can use.
struct Ctx<'a> {
    tb: &'a Testbed,
}

/// One check against the running daemon: returns the figure to print, or why it failed.
struct Step {
    name: &'static str,
    run: fn(&Ctx) -> Result<String>,
}

struct Scenario {
    title: &'static str,
    daemon_args: &'static [&'static str],
    steps: &'static [Step],
}

const SCENARIOS: &[Scenario] = &[Scenario {
    title: "foundation: ports 7 and 80 served, the stack answers RST (a CLOSED port)",
    daemon_args: &["--port", "7,80", "--app", "echo"],
    steps: &[
        Step {
            name: "XDP program attached to the server veth",
            run: xdp_attached,
        },
        Step {
            name: "ping the server address (kernel)",
            run: ping,
        },
        Step {
            name: "curl a kernel http.server on :8000 of the same address",
            run: kernel_http,
        },
        Step {
            name: "TcpStream to served :7 refused by the stack",
            run: refused_7,
        },
        Step {
            name: "curl to served :80 refused by the stack",
            run: curl_refused_80,
        },
    ],
}];

/// Builds (release) unless a binary is given, then runs every scenario; fails if a step
/// failed.
pub fn run(bin: Option<PathBuf>) -> Result<()> {
    let bin = match bin {
        Some(bin) => std::fs::canonicalize(&bin).with_context(|| format!("{}", bin.display()))?,
        None => build::run(true)?,
    };
    crate::setup::mount_bpffs(false)?;
    // Daemon::start takes the binary from XDPTCP_BIN.
    std::env::set_var("XDPTCP_BIN", &bin);
    let mut failed = 0;
    for scenario in SCENARIOS {
        failed += run_scenario(scenario)?;
    }
    if failed > 0 {
        bail!("{failed} demo step(s) failed");
    }
    println!("\ndemo: all steps passed");
    Ok(())
}

/// Runs one scenario on a fresh testbed; the guards remove everything on return, on error,
/// and (through the harness's signal handler) on Ctrl-C. Returns the number of failed steps.
fn run_scenario(s: &Scenario) -> Result<usize> {
    println!("\n== {} ==", s.title);
    let tb = Testbed::new(1).context("creating the namespaces")?;
    println!(
        "testbed: {} ({} {}) <-> {} ({} {})",
        tb.srv.name(),
        tb.srv_if,
        tb.srv_ip,
        tb.cli.name(),
        tb.cli_if,
        tb.cli_ip
    );
    let mut daemon = Daemon::start(&tb, s.daemon_args).context("starting xdptcp")?;
    println!("daemon: {}", daemon.ready_line());
    let ctx = Ctx { tb: &tb };
    let mut failed = 0;
    for step in s.steps {
        match (step.run)(&ctx) {
            Ok(figure) => println!("PASS {}: {figure}", step.name),
            Err(e) => {
                failed += 1;
                println!("FAIL {}: {e:#}", step.name);
            }
        }
    }
    let (status, out) = daemon.sigterm_and_wait()?;
    println!("daemon exited: {status}");
    let counters = ExitCounters::parse(&out);
    for line in out
        .lines()
        .filter(|l| l.contains("queue ") || l.contains("xdp:"))
    {
        println!("  {line}");
    }
    if counters.queues.is_empty() && counters.xdp.is_empty() {
        println!("  (no counters printed)");
    }
    Ok(failed)
}

fn xdp_attached(ctx: &Ctx) -> Result<String> {
    let tb = ctx.tb;
    let out = tb
        .srv
        .run_ok(&["ip", "-d", "link", "show", "dev", &tb.srv_if])?;
    let prog = out.lines().find(|l| l.contains("prog/xdp")).map(str::trim);
    match prog {
        Some(prog) => Ok(prog.to_string()),
        None => bail!("no XDP program on {}", tb.srv_if),
    }
}

fn ping(ctx: &Ctx) -> Result<String> {
    let ip = ctx.tb.srv_ip.to_string();
    let out = ctx
        .tb
        .cli
        .run(&["ping", "-c", "5", "-i", "0.2", "-W", "2", &ip])?
        .check()?;
    let rtt = out
        .stdout
        .lines()
        .find(|l| l.contains("min/avg/max"))
        .unwrap_or("");
    let avg = rtt
        .split('=')
        .nth(1)
        .and_then(|v| v.trim().split('/').nth(1))
        .unwrap_or("?");
    Ok(format!("5/5 replies, avg rtt {avg} ms"))
}

fn kernel_http(ctx: &Ctx) -> Result<String> {
    let tb = ctx.tb;
    let ip = tb.srv_ip.to_string();
    let _server = tb.srv.spawn(
        "python3 http.server",
        &[
            "python3",
            "-m",
            "http.server",
            "8000",
            "--bind",
            &ip,
            "-d",
            "/",
        ],
    )?;
    wait_until("http.server listening", Duration::from_secs(10), || {
        tb.srv.is_listening(8000).ok()?.then_some(())
    })?;
    let url = format!("http://{ip}:8000/");
    let out = tb.cli.run(&[
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{time_total}",
        &url,
    ])?;
    let out = out.check()?;
    let mut f = out.stdout.split_whitespace();
    let (code, secs) = (f.next().unwrap_or("?"), f.next().unwrap_or("0"));
    if code != "200" {
        bail!("HTTP {code}");
    }
    let ms = secs.parse::<f64>().unwrap_or(0.0) * 1e3;
    Ok(format!("HTTP 200 in {ms:.2} ms"))
}

fn refused_7(ctx: &Ctx) -> Result<String> {
    let addr = SocketAddr::V4(ctx.tb.srv_addr(7));
    let (result, took) = ctx.tb.cli.exec_in(move || {
        let start = Instant::now();
        let r = TcpStream::connect_timeout(&addr, Duration::from_secs(3));
        (r.map(|_| ()), start.elapsed())
    });
    match result {
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            Ok(format!("refused in {} us", took.as_micros()))
        }
        Err(e) => bail!("{e} after {took:?}"),
        Ok(()) => bail!("connected (expected a refusal for now)"),
    }
}

fn curl_refused_80(ctx: &Ctx) -> Result<String> {
    let url = format!("http://{}:80/", ctx.tb.srv_ip);
    let start = Instant::now();
    let out = ctx.tb.cli.run(&["curl", "-sS", "--max-time", "3", &url])?;
    let took = start.elapsed();
    // curl exit 7: "Failed to connect" (connection refused).
    if out.status.code() != Some(7) {
        bail!("curl exit {:?}: {}", out.status.code(), out.stderr.trim());
    }
    Ok(format!(
        "curl exit 7 ({}) in {:.1} ms",
        out.stderr.trim(),
        took.as_secs_f64() * 1e3
    ))
}
