//! The capture filter: any text through `Filter::parse`, and what parses evaluated on any
//! frame. Invariants: parsing never panics; `not (F)` passes exactly the frames `F` does
//! not; `F or F` and `F and F` pass what `F` passes.

use crate::capture::Filter;

/// The first byte is the filter's length; then the filter text, then the frame.
pub fn fuzz_filter(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n).min(rest.len());
    let (text, frame) = rest.split_at(n);
    let text = String::from_utf8_lossy(text);
    let Ok(f) = Filter::parse(&text) else {
        return;
    };
    let passes = f.matches(frame);
    if text.trim().is_empty() {
        assert!(passes, "the empty filter takes every frame");
        return;
    }
    let negated = Filter::parse(&format!("not ( {text} )")).expect("a parsed filter negates");
    assert_eq!(negated.matches(frame), !passes, "not ({text})");
    let twice = Filter::parse(&format!("( {text} ) or ( {text} )")).expect("or of itself");
    assert_eq!(twice.matches(frame), passes, "({text}) or ({text})");
    let both = Filter::parse(&format!("( {text} ) and ( {text} )")).expect("and of itself");
    assert_eq!(both.matches(frame), passes, "({text}) and ({text})");
}
