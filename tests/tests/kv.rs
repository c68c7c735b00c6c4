//! The `kv` example end to end, against Redis's own clients and Redis itself: redis-cli and
//! redis-benchmark from the client namespace; every reply compared byte for byte with a real
//! redis-server 7.0 on kernel TCP (in the server namespace, on another port of the same
//! address, which the XDP program leaves to the kernel); a 2-queue veth where keys set
//! through one worker are read through the other.
//!
//! Run with `cargo xtask test` (builds the examples, sets `XDPTCP_BIN`).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use netns_tests::{redis_cases, Daemon, KernelServer, Testbed};

const KV_PORT: u16 = 6379;
const REDIS_PORT: u16 = 6380;
const T: Duration = Duration::from_secs(10);

fn kv(tb: &Testbed, queues: &str) -> Daemon {
    Daemon::start_example(
        tb,
        "kv",
        &["--port", "6379", "--queues", queues, "--maxmemory", "256mb"],
    )
    .expect("kv starts and prints ready")
}

fn redis(tb: &Testbed) -> KernelServer {
    KernelServer::redis(&tb.srv, tb.srv_addr(REDIS_PORT), 256 << 20).expect("redis-server starts")
}

/// `redis-cli -h <server> -p <port> args...` from the client namespace: its stdout.
fn redis_cli(tb: &Testbed, port: u16, args: &[&str]) -> String {
    let host = tb.srv_ip.to_string();
    let port = port.to_string();
    let mut argv = vec!["redis-cli", "-h", &host, "-p", &port];
    argv.extend_from_slice(args);
    let out = tb.cli.run_timeout(&argv, T).expect("redis-cli runs");
    assert!(
        out.success(),
        "redis-cli {args:?}: {}{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

#[test]
fn redis_cli_gets_the_same_answers_from_kv_as_from_redis_server() {
    let tb = Testbed::new(1).unwrap();
    let _kv = kv(&tb, "1");
    let _redis = redis(&tb);
    let script: &[&[&str]] = &[
        &["PING"],
        &["PING", "hello there"],
        &["ECHO", "echo me"],
        &["SET", "greeting", "hello"],
        &["GET", "greeting"],
        &["SET", "greeting", "again", "NX"],
        &["SET", "fresh", "v", "XX"],
        &["SET", "counter", "41"],
        &["INCR", "counter"],
        &["INCRBY", "counter", "-50"],
        &["DECR", "counter"],
        &["DECRBY", "counter", "2"],
        &["INCR", "greeting"],
        &["MSET", "a", "1", "b", "2", "c", "3"],
        &["MGET", "a", "nope", "c", "b"],
        &["EXISTS", "a", "b", "nope"],
        &["SET", "temp", "v", "EX", "100"],
        &["TTL", "temp"],
        &["EXPIRE", "greeting", "50"],
        &["TTL", "greeting"],
        &["TTL", "counter"],
        &["TTL", "nope"],
        &["DEL", "a", "b", "nope"],
        &["DBSIZE"],
        &["GET"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "BOGUS"],
        &["NOSUCHCOMMAND", "x", "y"],
        &["FLUSHALL"],
        &["DBSIZE"],
    ];
    for args in script {
        let from_kv = redis_cli(&tb, KV_PORT, args);
        let from_redis = redis_cli(&tb, REDIS_PORT, args);
        assert_eq!(from_kv, from_redis, "redis-cli {args:?}");
    }
    // Commands on redis-cli's standard input, one connection, as a script would pipe them.
    let piped = |port: u16| {
        let host = tb.srv_ip.to_string();
        let cmd = format!(
            "printf 'SET x 10\\nINCR x\\nGET x\\nDEL x\\nQUIT\\n' | redis-cli -h {host} -p {port}"
        );
        tb.cli.run_ok(&["sh", "-c", &cmd]).expect("piped redis-cli")
    };
    assert_eq!(piped(KV_PORT), piped(REDIS_PORT));
}

#[test]
fn every_reply_is_byte_for_byte_redis_servers() {
    let tb = Testbed::new(1).unwrap();
    let _kv = kv(&tb, "1");
    let _redis = redis(&tb);
    let reference = SocketAddr::V4(tb.srv_addr(REDIS_PORT));
    let subject = SocketAddr::V4(tb.srv_addr(KV_PORT));
    let cases = redis_cases::cases().len();
    let result = tb
        .cli
        .exec_in(move || redis_cases::compare(reference, subject));
    if let Err(differences) = result {
        panic!("kv differs from redis-server:\n{differences}");
    }
    eprintln!("{cases} cases, every reply identical to redis-server's");
}

#[test]
fn redis_benchmark_set_and_get_complete_without_errors() {
    let tb = Testbed::new(1).unwrap();
    let kv = kv(&tb, "1");
    let host = tb.srv_ip.to_string();
    let out = tb
        .cli
        .run_timeout(
            &[
                "redis-benchmark",
                "-h",
                &host,
                "-p",
                "6379",
                "-t",
                "set,get",
                "-n",
                "20000",
                "-c",
                "50",
                "-q",
            ],
            Duration::from_secs(60),
        )
        .expect("redis-benchmark runs");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(out.success(), "{text}");
    for test in ["SET", "GET"] {
        let line = text
            .split(['\r', '\n'])
            .rfind(|l| l.starts_with(&format!("{test}: ")) && l.contains("requests per second"))
            .unwrap_or_else(|| panic!("no {test} result in:\n{text}"));
        eprintln!("{line}");
    }
    assert!(!text.to_lowercase().contains("error"), "{text}");
    // redis-benchmark's SET wrote `key:__rand_int__` keys: the default keyspace is one key.
    assert_eq!(redis_cli(&tb, KV_PORT, &["DBSIZE"]).trim(), "1");
    let (exit, _) = kv.stop();
    assert_eq!(exit.total("drops"), 0, "{exit:?}");
}

#[test]
fn on_two_queues_keys_set_through_one_worker_are_read_through_the_other() {
    let tb = Testbed::new(2).unwrap();
    let kv = kv(&tb, "2");
    let addr = SocketAddr::V4(tb.srv_addr(KV_PORT));
    // Connections from different source ports spread over the two queues (and workers).
    let conns: Vec<TcpStream> = (0..16)
        .map(|_| {
            let s = tb
                .cli
                .exec_in(move || TcpStream::connect_timeout(&addr, T))
                .expect("connects");
            s.set_read_timeout(Some(T)).unwrap();
            s
        })
        .collect();
    let mut readers: Vec<BufReader<TcpStream>> = conns
        .iter()
        .map(|s| BufReader::new(s.try_clone().unwrap()))
        .collect();
    let mut ask = |i: usize, request: &str| -> String {
        (&conns[i]).write_all(request.as_bytes()).unwrap();
        let mut line = String::new();
        readers[i].read_line(&mut line).unwrap();
        if let Some(len) = line
            .strip_prefix('$')
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            let mut value = String::new();
            readers[i].read_line(&mut value).unwrap();
            assert_eq!(value.len(), len + 2);
            return value.trim_end().to_string();
        }
        line.trim_end().to_string()
    };
    for i in 0..16 {
        assert_eq!(ask(i, &format!("SET key:{i} value-{i}\r\n")), "+OK");
    }
    for j in 0..16 {
        for i in 0..16 {
            assert_eq!(ask(j, &format!("GET key:{i}\r\n")), format!("value-{i}"));
        }
        assert_eq!(ask(j, "DBSIZE\r\n"), ":16");
    }
    drop(conns);
    let (exit, out) = kv.stop();
    assert!(
        exit.queue(0, "opened") > 0 && exit.queue(1, "opened") > 0,
        "connections on both workers: {exit:?}"
    );
    let remote: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("kv: "))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|kv| kv.strip_prefix("remote="))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no kv summary in:\n{out}"));
    assert!(remote > 0, "requests crossed workers: {out}");
}
