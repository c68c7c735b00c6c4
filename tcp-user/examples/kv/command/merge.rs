//! Splitting a multi-key command ([`super::Class::Multi`]) into per-shard parts, and merging the
//! parts' replies (or those of a [`super::Class::All`] command run on every shard) into the bytes
//! Redis answers for the whole command.
//!
//! Merges: DEL, EXISTS, DBSIZE sum their integers ([`merge_integer_replies`]); MSET, FLUSHALL,
//! FLUSHDB answer `+OK` ([`merge_ok_replies`]); MGET puts each part's values back at their keys'
//! positions ([`merge_mget`]). When a part answered an error, the first error is the reply. The
//! parts run independently, so unlike Redis the whole command is not atomic: an MSET whose part
//! on one shard is refused for memory may have been applied on another.

use super::shard_of;
use crate::resp::{reply, string2ll, Args};

/// The part of a multi-key command that runs on one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The shard ([`shard_of`]) owning every key of this part.
    pub shard: usize,
    /// The command for that shard: the original arguments before `first`, then this shard's
    /// keys (with their values for MSET), in request order.
    pub args: Args,
    /// For each key of this part, its ordinal among all the request's keys (0 for the first
    /// key): what [`merge_mget`] needs to put values back in place.
    pub positions: Vec<usize>,
}

/// Splits a request classified `Multi { first, step, .. }` into one [`Part`] per shard that owns
/// one of its keys, in order of first appearance. Each key takes the `step - 1` arguments after
/// it along (MSET's value).
pub fn split_by_shard(args: &Args, first: usize, step: usize, shards: usize) -> Vec<Part> {
    let step = step.max(1);
    let mut parts: Vec<Part> = Vec::new();
    let mut ordinal = 0;
    let mut i = first;
    while i < args.len() {
        let shard = shard_of(args.get(i), shards);
        let at = match parts.iter().position(|p| p.shard == shard) {
            Some(at) => at,
            None => {
                let mut head = Args::new();
                for arg in args.iter().take(first) {
                    head.push(arg);
                }
                parts.push(Part {
                    shard,
                    args: head,
                    positions: Vec::new(),
                });
                parts.len() - 1
            }
        };
        let part = &mut parts[at];
        for j in i..(i + step).min(args.len()) {
            part.args.push(args.get(j));
        }
        part.positions.push(ordinal);
        ordinal += 1;
        i += step;
    }
    parts
}

/// Error replies start with `-`: returns the first one among `replies`.
fn first_error<'a>(replies: impl IntoIterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    replies.into_iter().find(|r| r.first() == Some(&b'-'))
}

const BAD_PART: &[u8] = b"internal error merging shard replies";

/// One `:<n>\r\n` reply.
fn integer_reply(r: &[u8]) -> Option<i64> {
    string2ll(r.strip_prefix(b":")?.strip_suffix(b"\r\n")?)
}

/// Sums the `:<n>` replies of the parts (DEL, EXISTS, DBSIZE).
pub fn merge_integer_replies(replies: &[&[u8]], out: &mut Vec<u8>) {
    if let Some(e) = first_error(replies.iter().copied()) {
        return out.extend_from_slice(e);
    }
    let mut sum = 0i64;
    for r in replies {
        match integer_reply(r) {
            Some(n) => sum = sum.saturating_add(n),
            None => return reply::error(out, BAD_PART),
        }
    }
    reply::integer(out, sum);
}

/// `+OK` if every part answered it (MSET, FLUSHALL, FLUSHDB), else the first error.
pub fn merge_ok_replies(replies: &[&[u8]], out: &mut Vec<u8>) {
    match first_error(replies.iter().copied()) {
        Some(e) => out.extend_from_slice(e),
        None if replies.iter().all(|r| *r == reply::OK) => out.extend_from_slice(reply::OK),
        None => reply::error(out, BAD_PART),
    }
}

/// Reads one line (without `\r\n`) at `*pos`, moving past it.
fn line<'a>(r: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = r.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    Some(&rest[..end])
}

/// The elements of an MGET reply (`*n` then bulk strings or nils), each as its raw bytes.
fn mget_elements(r: &[u8]) -> Option<Vec<&[u8]>> {
    let mut pos = 0;
    let n = string2ll(line(r, &mut pos)?.strip_prefix(b"*")?)?;
    let mut elements = Vec::with_capacity(usize::try_from(n).ok()?.min(r.len()));
    for _ in 0..n {
        let start = pos;
        let len = string2ll(line(r, &mut pos)?.strip_prefix(b"$")?)?;
        if len >= 0 {
            pos = pos
                .checked_add(usize::try_from(len).ok()?)?
                .checked_add(2)?;
            if r.get(pos - 2..pos)? != b"\r\n" {
                return None;
            }
        } else if len != -1 {
            return None;
        }
        elements.push(&r[start..pos]);
    }
    (pos == r.len()).then_some(elements)
}

/// Merges MGET parts: `parts[i]` is (the part's [`Part::positions`], its reply); `keys` is the
/// number of keys of the whole request. Writes the reply Redis gives for the whole MGET.
pub fn merge_mget(parts: &[(&[usize], &[u8])], keys: usize, out: &mut Vec<u8>) {
    if let Some(e) = first_error(parts.iter().map(|p| p.1)) {
        return out.extend_from_slice(e);
    }
    let mut slots: Vec<Option<&[u8]>> = vec![None; keys];
    for (positions, r) in parts {
        let Some(elements) = mget_elements(r).filter(|e| e.len() == positions.len()) else {
            return reply::error(out, BAD_PART);
        };
        for (&at, element) in positions.iter().zip(elements) {
            match slots.get_mut(at) {
                Some(slot) => *slot = Some(element),
                None => return reply::error(out, BAD_PART),
            }
        }
    }
    reply::array_len(out, keys);
    for slot in slots {
        out.extend_from_slice(slot.unwrap_or(reply::NULL_BULK));
    }
}
