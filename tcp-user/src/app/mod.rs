//! The built-in services of `xdptcp serve --app` and `xdptcp connect`, written against the
//! public [`service`](crate::service) API like any user's service.

pub mod discard;
pub mod echo;
pub mod fetch;
pub mod hold;
pub mod http;
pub mod loadgen;

/// The built-in applications (`--app`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// RFC 862: every byte back.
    Echo,
    /// RFC 863: every byte thrown away.
    Discard,
    /// HTTP/1.1 `200 OK` with a fixed body to every request.
    Http,
}

impl std::str::FromStr for AppKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "echo" => Ok(AppKind::Echo),
            "discard" => Ok(AppKind::Discard),
            "http" => Ok(AppKind::Http),
            _ => Err(format!(
                "unknown app '{s}' (expected echo, discard or http)"
            )),
        }
    }
}
