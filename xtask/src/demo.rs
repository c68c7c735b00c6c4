//! `cargo xtask demo`: the daemon in a namespace, real kernel clients in the peer namespace.
//!
//! A demo is a list of scenarios (one daemon each, since a daemon serves one app and owns the
//! interface's XDP slot); a scenario is a list of steps, each printing PASS/FAIL with a
//! figure. To show a new feature, add a step (or a scenario) below.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use netns_tests::{wait_until, Daemon, ExitCounters, KernelServer, Testbed};
use serde_json::Value;

use crate::{build, util::workspace_root};

/// What a step can use.
struct Ctx<'a> {
    tb: &'a Testbed,
}

/// One check against the running daemon: returns the figure to print, or why it failed.
struct Step {
    name: &'static str,
    run: fn(&Ctx) -> Result<String>,
}

/// What a scenario runs on the server end.
enum Launch {
    /// `xdptcp serve` with these arguments.
    Serve(&'static [&'static str]),
    /// An example service (`target/release/examples/NAME`), with arguments from the testbed.
    Example {
        name: &'static str,
        args: fn(&Testbed) -> Vec<String>,
    },
    /// Nothing: the stack is the client, against kernel servers.
    Client,
}

struct Scenario {
    title: &'static str,
    launch: Launch,
    /// Kernel servers the scenario needs before its daemon starts (a proxy's backend).
    backends: fn(&Testbed) -> Result<Vec<KernelServer>>,
    /// Give both ends IPv6 addresses and serve the server's IPv4 and IPv6 addresses.
    dual_stack: bool,
    steps: &'static [Step],
}

fn no_backends(_: &Testbed) -> Result<Vec<KernelServer>> {
    Ok(Vec::new())
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        title: "echo on port 7: the stack serves it, the kernel keeps everything else",
        launch: Launch::Serve(&["--port", "7", "--app", "echo"]),
        backends: no_backends,
        dual_stack: false,
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
                name: "TcpStream echoes 16 MiB through the stack, byte for byte",
                run: echo_bulk,
            },
            Step {
                name: "64 concurrent connections, 64 KiB each, echoed",
                run: echo_concurrent,
            },
            Step {
                name: "1000 request/response round trips of 64 B",
                run: echo_rr,
            },
        ],
    },
    Scenario {
        title: "http on port 80 over IPv4 and IPv6: curl and ab against the stack",
        launch: Launch::Serve(&["--port", "80", "--app", "http", "--body-size", "1024"]),
        backends: no_backends,
        dual_stack: true,
        steps: &[
            Step {
                name: "curl GET / (two requests, one keep-alive connection)",
                run: curl_http,
            },
            Step {
                name: "curl -6 GET / over IPv6 (two requests, one connection)",
                run: curl_http6,
            },
            Step {
                name: "ab -k: 20000 keep-alive requests, 8 concurrent",
                run: ab_keepalive,
            },
            Step {
                name: "ab: 2000 requests, a new connection each",
                run: ab_close,
            },
        ],
    },
    Scenario {
        title: "examples/kv on port 6379: a Redis-protocol service, with Redis's own clients",
        launch: Launch::Example {
            name: "kv",
            args: |_| {
                ["--port", "6379", "--maxmemory", "256mb"]
                    .map(String::from)
                    .to_vec()
            },
        },
        backends: no_backends,
        dual_stack: false,
        steps: &[
            Step {
                name: "redis-cli SET, GET, INCR, MSET/MGET, TTL",
                run: redis_cli,
            },
            Step {
                name: "redis-benchmark -t set,get -n 50000 -c 50 -q: no errors",
                run: redis_benchmark,
            },
        ],
    },
    Scenario {
        title: "examples/proxy on port 80: a TCP proxy to nginx, both legs on the stack",
        launch: Launch::Example {
            name: "proxy",
            args: |tb| {
                let backend = format!("{}:8080", tb.cli_ip);
                ["--port", "80", "--backend", &backend]
                    .map(String::from)
                    .to_vec()
            },
        },
        backends: |tb| {
            let addr = std::net::SocketAddrV4::new(tb.cli_ip, 8080);
            Ok(vec![KernelServer::nginx(
                &tb.cli,
                addr,
                "hello from nginx, through the stack\\n",
            )?])
        },
        dual_stack: false,
        steps: &[
            Step {
                name: "curl through the proxy to nginx",
                run: curl_proxy,
            },
            Step {
                name: "wrk -c 16 -d 2s through the proxy: 0 errors",
                run: wrk_proxy,
            },
        ],
    },
    Scenario {
        title: "the stack as a client: xdptcp connect against kernel servers",
        launch: Launch::Client,
        backends: no_backends,
        dual_stack: false,
        steps: &[
            Step {
                name: "fetch README.md from python http.server, byte for byte",
                run: fetch_http,
            },
            Step {
                name: "connect to a closed kernel port: refused at once",
                run: fetch_refused,
            },
            Step {
                name: "rr load (64 B, 1 connection, 2 s) against a kernel echo server",
                run: connect_rr,
            },
        ],
    },
];

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
    if s.dual_stack {
        tb.enable_ipv6().context("adding IPv6 addresses")?;
        println!("ipv6: {} <-> {}", tb.srv_ip6, tb.cli_ip6);
    }
    let _backends = (s.backends)(&tb).context("starting the backends")?;
    let mut daemon = match &s.launch {
        Launch::Client => return run_client_scenario(s, &tb),
        Launch::Serve(args) => {
            let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            if s.dual_stack {
                args.extend(tb.dual_stack_args());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Daemon::start(&tb, &args).context("starting xdptcp")?
        }
        Launch::Example { name, args } => {
            let args = args(&tb);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Daemon::start_example(&tb, name, &args).with_context(|| format!("starting {name}"))?
        }
    };
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
    for line in out.lines().filter(|l| {
        l.contains("queue ")
            || l.contains("xdp:")
            || l.starts_with("service ")
            || l.starts_with("backend ")
            || l.starts_with("kv:")
    }) {
        println!("  {line}");
    }
    if counters.queues.is_empty() && counters.xdp.is_empty() {
        println!("  (no counters printed)");
    }
    Ok(failed)
}

/// Runs the steps of a scenario in which the stack is the client: kernel servers in the
/// server namespace (an echo listener and python's http.server), `xdptcp connect` in the
/// client namespace, started by each step.
fn run_client_scenario(s: &Scenario, tb: &Testbed) -> Result<usize> {
    // The kernel is the sender now: its segments must carry full checksums.
    tb.srv.run_ok(&["ethtool", "-K", &tb.srv_if, "tx", "off"])?;
    let ip = tb.srv_ip.to_string();
    let _http = tb.srv.spawn(
        "python3 http.server",
        &[
            "python3",
            "-m",
            "http.server",
            "8000",
            "--bind",
            &ip,
            "-d",
            &workspace_root().to_string_lossy(),
        ],
    )?;
    let listener = tb.srv.exec_in({
        let addr = tb.srv_addr(7);
        move || std::net::TcpListener::bind(addr)
    })?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = &stream;
                let _ = std::io::copy(&mut reader, &mut &stream);
            });
        }
    });
    wait_until("http.server listening", Duration::from_secs(10), || {
        tb.srv.is_listening(8000).ok()?.then_some(())
    })?;
    let ctx = Ctx { tb };
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
    Ok(failed)
}

/// Runs `xdptcp connect --iface <client veth> ARGS` in the client namespace; returns the JSON
/// line it printed last, parsed.
fn xdptcp_connect(ctx: &Ctx, args: &[&str]) -> Result<Value> {
    let bin = std::env::var("XDPTCP_BIN")?;
    let mut argv = vec![bin.as_str(), "connect", "--iface", &ctx.tb.cli_if];
    argv.extend_from_slice(args);
    let out = ctx
        .tb
        .cli
        .run_timeout(&argv, Duration::from_secs(60))?
        .check()?;
    out.stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("xdptcp connect printed no result")
        .and_then(|l| serde_json::from_str(l).with_context(|| format!("not JSON: {l}")))
}

fn fetch_http(ctx: &Ctx) -> Result<String> {
    let remote = format!("{}:8000", ctx.tb.srv_ip);
    let out_path = std::env::temp_dir().join(format!("xdptcp-demo-{}.body", std::process::id()));
    let out = out_path.to_string_lossy().to_string();
    let line = xdptcp_connect(
        ctx,
        &[
            "--mode",
            "fetch",
            "--remote",
            &remote,
            "--request",
            "GET /README.md HTTP/1.0\\r\\n\\r\\n",
            "--output",
            &out,
        ],
    )?;
    let got = std::fs::read(&out_path)?;
    let _ = std::fs::remove_file(&out_path);
    let want = std::fs::read(workspace_root().join("README.md"))?;
    let body = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| &got[p + 4..])
        .unwrap_or(&[]);
    if line["outcome"] != "completed" || body != want.as_slice() {
        bail!(
            "{line}: body of {} bytes, README has {}",
            body.len(),
            want.len()
        );
    }
    Ok(format!(
        "{} bytes identical, connected in {} us",
        body.len(),
        line["connect_us"]
    ))
}

fn fetch_refused(ctx: &Ctx) -> Result<String> {
    let remote = format!("{}:81", ctx.tb.srv_ip);
    let start = Instant::now();
    let line = xdptcp_connect(ctx, &["--mode", "fetch", "--remote", &remote])?;
    if line["outcome"] != "refused" {
        bail!("{line}");
    }
    Ok(format!(
        "refused (whole run incl. attach {:.0} ms)",
        start.elapsed().as_secs_f64() * 1e3
    ))
}

fn connect_rr(ctx: &Ctx) -> Result<String> {
    let remote = format!("{}:7", ctx.tb.srv_ip);
    let line = xdptcp_connect(
        ctx,
        &[
            "--mode",
            "rr",
            "--remote",
            &remote,
            "--duration",
            "2",
            "--warmup",
            "0.5",
        ],
    )?;
    if line["errors"] != 0 || line["transactions"] == 0 {
        bail!("{line}");
    }
    Ok(format!(
        "{} txn/s, p50 {} us, p99 {} us, 0 errors",
        line["tps"], line["p50_us"], line["p99_us"]
    ))
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

/// Deterministic test pattern of `len` bytes.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Writes `data` on one thread and reads the echo on another; returns the elapsed time.
fn echo_through(stream: TcpStream, data: Vec<u8>) -> Result<Duration> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let start = Instant::now();
    let mut writer = stream.try_clone()?;
    let len = data.len();
    let expected = data.clone();
    let w = std::thread::spawn(move || -> std::io::Result<()> {
        writer.write_all(&data)?;
        writer.shutdown(std::net::Shutdown::Write)
    });
    let mut got = Vec::with_capacity(len);
    (&stream).read_to_end(&mut got)?;
    w.join().map_err(|_| anyhow::anyhow!("writer panicked"))??;
    if got != expected {
        bail!("echo differs: sent {len} bytes, got {} back", got.len());
    }
    Ok(start.elapsed())
}

fn echo_bulk(ctx: &Ctx) -> Result<String> {
    let addr = SocketAddr::V4(ctx.tb.srv_addr(7));
    let len = 16 << 20;
    let took = ctx.tb.cli.exec_in(move || -> Result<Duration> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
        echo_through(s, pattern(len, 7))
    })?;
    let mbps = (2 * len) as f64 / took.as_secs_f64() / 1e6;
    Ok(format!(
        "{} MiB each way in {:.0} ms ({mbps:.0} MB/s both directions)",
        len >> 20,
        took.as_secs_f64() * 1e3
    ))
}

fn echo_concurrent(ctx: &Ctx) -> Result<String> {
    let addr = SocketAddr::V4(ctx.tb.srv_addr(7));
    let took = ctx.tb.cli.exec_in(move || -> Result<Duration> {
        let start = Instant::now();
        let streams = (0..64)
            .map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(3)))
            .collect::<std::io::Result<Vec<_>>>()?;
        let workers: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(i, s)| std::thread::spawn(move || echo_through(s, pattern(64 << 10, i as u8))))
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
        }
        Ok(start.elapsed())
    })?;
    Ok(format!(
        "64/64 identical in {:.0} ms",
        took.as_secs_f64() * 1e3
    ))
}

fn echo_rr(ctx: &Ctx) -> Result<String> {
    let addr = SocketAddr::V4(ctx.tb.srv_addr(7));
    let mut lat = ctx.tb.cli.exec_in(move || -> Result<Vec<Duration>> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let (req, mut resp) = ([0x5au8; 64], [0u8; 64]);
        let mut lat = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let t = Instant::now();
            s.write_all(&req)?;
            s.read_exact(&mut resp)?;
            lat.push(t.elapsed());
            if resp != req {
                bail!("reply differs from the request");
            }
        }
        Ok(lat)
    })?;
    lat.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Ok(format!(
        "p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        us(lat[499]),
        us(lat[989]),
        us(lat[999])
    ))
}

fn curl_http(ctx: &Ctx) -> Result<String> {
    curl_twice(ctx, &format!("http://{}:80/", ctx.tb.srv_ip), "-4")
}

fn curl_http6(ctx: &Ctx) -> Result<String> {
    let figure = curl_twice(ctx, &format!("http://[{}]:80/", ctx.tb.srv_ip6), "-6")?;
    Ok(format!("{figure}, from {}", ctx.tb.cli_ip6))
}

/// Two GETs of `url` with one curl (`family`: `-4` or `-6`), which must re-use the connection.
fn curl_twice(ctx: &Ctx, url: &str, family: &str) -> Result<String> {
    let out = ctx
        .tb
        .cli
        .run(&[
            "curl",
            family,
            "-g",
            "-sS",
            "-v",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}\n",
            url,
            url,
        ])?
        .check()?;
    let lines: Vec<&str> = out.stdout.lines().collect();
    if lines != ["200 1024", "200 1024"] {
        bail!("unexpected responses: {lines:?}");
    }
    if !out.stderr.contains("Re-using existing connection")
        && !out.stderr.contains("Reusing existing")
    {
        bail!("curl opened a second connection");
    }
    Ok("2 x HTTP 200, 1024-byte bodies, connection re-used".into())
}

fn ab(ctx: &Ctx, args: &[&str]) -> Result<String> {
    let url = format!("http://{}:80/", ctx.tb.srv_ip);
    let mut argv = vec!["ab", "-q"];
    argv.extend_from_slice(args);
    argv.push(&url);
    let out = ctx
        .tb
        .cli
        .run_timeout(&argv, Duration::from_secs(120))?
        .check()?;
    let field = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.split_whitespace().next().unwrap_or("?").to_string())
            .unwrap_or_else(|| "?".into())
    };
    let failed = field("Failed requests");
    if failed != "0" {
        bail!("{failed} failed requests");
    }
    Ok(format!(
        "{} complete, 0 failed, {} req/s, mean {} ms",
        field("Complete requests"),
        field("Requests per second"),
        field("Time per request")
    ))
}

fn ab_keepalive(ctx: &Ctx) -> Result<String> {
    ab(ctx, &["-k", "-n", "20000", "-c", "8"])
}

fn ab_close(ctx: &Ctx) -> Result<String> {
    ab(ctx, &["-n", "2000", "-c", "4"])
}

/// `redis-cli -h <server> -p 6379 ARGS` from the client namespace: its output, trimmed.
fn cli(ctx: &Ctx, args: &[&str]) -> Result<String> {
    let host = ctx.tb.srv_ip.to_string();
    let mut argv = vec!["redis-cli", "-h", &host, "-p", "6379"];
    argv.extend_from_slice(args);
    let out = ctx
        .tb
        .cli
        .run_timeout(&argv, Duration::from_secs(10))?
        .check()?;
    Ok(out.stdout.trim().replace('\n', " "))
}

fn redis_cli(ctx: &Ctx) -> Result<String> {
    let steps: [(&[&str], &str); 6] = [
        (&["SET", "greeting", "hello"], "OK"),
        (&["GET", "greeting"], "hello"),
        (&["INCRBY", "visits", "41"], "41"),
        (&["INCR", "visits"], "42"),
        (&["MSET", "a", "1", "b", "2"], "OK"),
        (&["MGET", "a", "nope", "b"], "1  2"),
    ];
    let mut shown = Vec::new();
    for (args, want) in steps {
        let got = cli(ctx, args)?;
        if got != want {
            bail!("redis-cli {args:?}: {got:?}, expected {want:?}");
        }
        shown.push(format!("{} -> {got}", args.join(" ")));
    }
    cli(ctx, &["SET", "temp", "v", "EX", "60"])?;
    let ttl = cli(ctx, &["TTL", "temp"])?;
    if ttl != "60" && ttl != "59" {
        bail!("TTL after SET EX 60: {ttl}");
    }
    shown.push(format!("TTL temp -> {ttl}"));
    Ok(shown.join("; "))
}

fn redis_benchmark(ctx: &Ctx) -> Result<String> {
    let host = ctx.tb.srv_ip.to_string();
    let out = ctx.tb.cli.run_timeout(
        &[
            "redis-benchmark",
            "-h",
            &host,
            "-p",
            "6379",
            "-t",
            "set,get",
            "-n",
            "50000",
            "-c",
            "50",
            "-r",
            "10000",
            "-q",
        ],
        Duration::from_secs(60),
    )?;
    let text = format!("{}{}", out.stdout, out.stderr);
    if !out.success() || text.to_lowercase().contains("error") {
        bail!("redis-benchmark: {text}");
    }
    let lines: Vec<String> = text
        .split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
        .map(|l| l.trim().to_string())
        .collect();
    if lines.len() != 2 {
        bail!("no SET and GET results in: {text}");
    }
    Ok(lines.join("; "))
}

fn curl_proxy(ctx: &Ctx) -> Result<String> {
    let url = format!("http://{}/", ctx.tb.srv_addr(80));
    let out = ctx
        .tb
        .cli
        .run_ok(&["curl", "-sS", "--max-time", "5", &url])?;
    if out != "hello from nginx, through the stack\n" {
        bail!("unexpected body {out:?}");
    }
    Ok(format!("{:?}", out.trim()))
}

fn wrk_proxy(ctx: &Ctx) -> Result<String> {
    let url = format!("http://{}/", ctx.tb.srv_addr(80));
    let out = ctx.tb.cli.run_timeout(
        &["wrk", "-t1", "-c16", "-d2s", "--latency", &url],
        Duration::from_secs(30),
    )?;
    let text = format!("{}{}", out.stdout, out.stderr);
    if !out.success() || text.contains("Socket errors") || text.contains("Non-2xx") {
        bail!("wrk: {text}");
    }
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .map(str::trim)
        .context("no Requests/sec in wrk's output")?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .unwrap_or("?");
    Ok(format!("{rps} requests/s, p99 {p99}, 0 errors"))
}
