//! `policy::guard` against the `kdl` parser it protects, on inputs of at most 64 bytes
//! (where `kdl`'s error recovery is still fast): the guard accepts exactly what `kdl`
//! 6.7.1 accepts. A document `kdl` accepts and the guard rejects is a guard bug (a policy
//! refused for nothing); one the guard accepts and `kdl` rejects lets `kdl` run the error
//! recovery that overflows its stack or takes exponential time on bigger inputs. (The
//! guard's nesting and work limits need far more than 64 bytes.) A guard error's span is in
//! bounds and on character boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::policy::guard;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 64 {
        return;
    }
    let verdict = guard::check(text);
    if let Err(e) = &verdict {
        let end = e.offset + e.len;
        assert!(
            end <= text.len(),
            "span {}..{end} past the end ({})",
            e.offset,
            text.len()
        );
        assert!(
            text.is_char_boundary(e.offset) && text.is_char_boundary(end),
            "span {}..{end} splits a character",
            e.offset
        );
    }
    match (kdl::KdlDocument::parse_v2(text).is_ok(), verdict) {
        (true, Err(e)) => panic!("kdl accepts {text:?}, the guard rejects it: {e:?}"),
        (false, Ok(())) => panic!("kdl rejects {text:?}, the guard accepts it"),
        _ => {}
    }
});
