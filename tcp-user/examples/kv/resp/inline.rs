//! Splitting an inline request line into arguments: a port of Redis 7.0's `sdssplitargs`
//! (`sds.c`), quirks included, so inline requests (telnet, `redis-benchmark`'s PING_INLINE)
//! split exactly as Redis splits them:
//! - blanks between arguments are C `isspace` (space, `\t`, `\n`, `\v`, `\f`, `\r`), but inside
//!   an unquoted argument only space, `\t`, `\n`, `\r` end it (`a\vb` is one argument);
//! - `"..."` understands `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<any>`; `'...'` only `\'`;
//! - a quote may open in the middle of an argument (`ab"c d"` is `abc d`), but a closing quote
//!   must be followed by a blank or the end of the line, otherwise the request is an error, as is
//!   an unterminated quote.

use super::Args;

/// The unbalanced-quotes error of `sdssplitargs`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Unbalanced;

/// Splits `line` (without its line end, holding no NUL byte) into `args`, which the caller has
/// cleared.
pub(super) fn split(line: &[u8], args: &mut Args) -> Result<(), Unbalanced> {
    // The C code walks a NUL-terminated string: reading past the end gives 0.
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut p = 0;
    loop {
        while at(p) != 0 && is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Ok(());
        }
        let (mut in_dq, mut in_sq, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if in_dq {
                if c == b'\\' && at(p + 1) == b'x' && is_hex(at(p + 2)) && is_hex(at(p + 3)) {
                    args.push_byte(hex(at(p + 2)) * 16 + hex(at(p + 3)));
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    args.push_byte(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(Unbalanced);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(Unbalanced);
                } else {
                    args.push_byte(c);
                }
            } else if in_sq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    args.push_byte(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(Unbalanced);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(Unbalanced);
                } else {
                    args.push_byte(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    _ => args.push_byte(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        args.finish_arg();
    }
}

/// C `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}
