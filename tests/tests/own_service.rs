//! The README's "Write your own service" example, built by `cargo xtask test` as a crate
//! outside the workspace (`XDPTCP_OWN_SERVICE_BIN`), run on the server end of a veth pair
//! with a kernel client: what the README prints works as printed.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use netns_tests::{Daemon, Testbed};

#[test]
fn the_readmes_service_answers_a_kernel_client_in_upper_case_and_closes() {
    let bin = std::env::var("XDPTCP_OWN_SERVICE_BIN").expect(
        "XDPTCP_OWN_SERVICE_BIN is not set: run with `cargo xtask test`, which builds the README's example",
    );
    let tb = Testbed::new(1).unwrap();
    let mut shout = Daemon::start_program(&tb.srv, &[&bin, &tb.srv_if]).expect("shout is ready");
    assert!(
        shout.ready_line().contains("ports=7000"),
        "{}",
        shout.ready_line()
    );
    let mut s = tb.connect(7000, Duration::from_secs(5)).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"hello from the kernel\n").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"HELLO FROM THE KERNEL\n");
    let (status, out) = shout.sigterm_and_wait().unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("detached"), "{out}");
}
