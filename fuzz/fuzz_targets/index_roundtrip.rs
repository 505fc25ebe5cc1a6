//! The `.bin` index: build from fuzzed `(key, value, priority)` triples, write in both
//! layouts, read back with our own reader, and compare every key and value (and their
//! order) with a model of kmod's rules. The raw input is also read as an index file,
//! which must fail cleanly or succeed, never panic or loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::index::{lookup, read_all, IndexBuilder, Layout, MAX_KEY_LEN};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let _ = read_all(data);
    if data.len() >= 12 {
        let _ = lookup(data, &data[..4]);
    }

    // Records: `key \xff value \xff priority-byte`, separated by `\xfe`.
    let mut b = IndexBuilder::new();
    let mut model: BTreeMap<Vec<u8>, Vec<(u32, Vec<u8>)>> = BTreeMap::new();
    for rec in data.split(|&c| c == 0xfe) {
        let mut f = rec.splitn(3, |&c| c == 0xff);
        let key = f.next().unwrap_or_default();
        let value = f.next().unwrap_or_default();
        let prio = u32::from(f.next().and_then(|p| p.first().copied()).unwrap_or(0) % 4);
        // Keys are 7-bit ASCII without NUL (kmod 34 checks keys); values any byte but NUL.
        let key_ok = key.iter().all(|&c| (1..0x80).contains(&c));
        let value_ok = !value.contains(&0);
        let res = b.insert(key, value, prio);
        if !(key_ok && value_ok) {
            assert!(res.is_err(), "invalid bytes accepted");
            continue;
        }
        let dup = res.expect("valid key and value");
        let vals = model.entry(key.to_vec()).or_default();
        assert_eq!(dup, vals.iter().any(|(_, v)| v == value), "duplicate flag");
        let pos = vals.iter().position(|(p, _)| *p >= prio).unwrap_or(vals.len());
        vals.insert(pos, (prio, value.to_vec()));
    }
    if model.keys().any(|k| k.len() > MAX_KEY_LEN) {
        return;
    }
    let want: Vec<(Vec<u8>, Vec<(u32, Vec<u8>)>)> = model.into_iter().collect();
    for layout in [Layout::PostOrder, Layout::PreOrder] {
        let bytes = b.write(layout);
        let got = read_all(&bytes).expect("our own index reads back");
        assert_eq!(got, want, "{layout:?}");
        for (k, v) in &want {
            assert_eq!(&lookup(&bytes, k).expect("lookup"), v, "{layout:?}");
        }
    }
});
