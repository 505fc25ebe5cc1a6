//! Unit tests: hand-built files, value order, round trips, hostile reader input.

use std::collections::BTreeMap;

use super::*;

const HEADER: [u8; 8] = [0xB0, 0x07, 0xF4, 0x57, 0x00, 0x02, 0x00, 0x01];

fn file(root: u32, body: &[u8]) -> Vec<u8> {
    let mut f = HEADER.to_vec();
    f.extend_from_slice(&root.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn both(b: &IndexBuilder) -> [Vec<u8>; 2] {
    [b.write(Layout::PostOrder), b.write(Layout::PreOrder)]
}

/// Tiny xorshift64 generator, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn empty_index_is_twelve_bytes() {
    let b = IndexBuilder::new();
    for f in both(&b) {
        assert_eq!(f, file(0x0000_000C, &[]));
        assert_eq!(read_all(&f).unwrap(), vec![]);
        assert_eq!(lookup(&f, b"x").unwrap(), vec![]);
        assert_eq!(lookup(&f, b"").unwrap(), vec![]);
    }
}

#[test]
fn single_key_both_layouts() {
    let mut b = IndexBuilder::new();
    assert!(!b.insert(b"a", b"x", 5).unwrap());
    let leaf = [0, 0, 0, 1, 0, 0, 0, 5, b'x', 0];
    // Post-order: leaf at 12, root (children 'a'..'a') at 22.
    let mut body = leaf.to_vec();
    body.extend_from_slice(&[b'a', b'a', 0x40, 0, 0, 12]);
    assert_eq!(b.write(Layout::PostOrder), file(0x2000_0016, &body));
    // Pre-order: root at 12, leaf at 18.
    let mut body = vec![b'a', b'a', 0x40, 0, 0, 18];
    body.extend_from_slice(&leaf);
    assert_eq!(b.write(Layout::PreOrder), file(0x2000_000C, &body));
}

#[test]
fn value_at_root_for_empty_key() {
    let mut b = IndexBuilder::new();
    b.insert(b"", b"", 0).unwrap();
    for f in both(&b) {
        assert_eq!(f, file(0x4000_000C, &[0, 0, 0, 1, 0, 0, 0, 0, 0]));
        assert_eq!(read_all(&f).unwrap(), vec![(vec![], vec![(0, vec![])])]);
    }
}

#[test]
fn split_prefix_and_sparse_children() {
    // "abc", "abe": root -a-> node with prefix "b" and children 'c', 'e' (gap at 'd').
    // "a" then ends inside that prefix, so the node is split: -a-> "" -b-> "" {c, e}.
    let mut b = IndexBuilder::new();
    b.insert(b"abc", b"1", 1).unwrap();
    b.insert(b"abe", b"2", 2).unwrap();
    b.insert(b"a", b"3", 3).unwrap();
    let post = b.write(Layout::PostOrder);
    // Nodes, post-order: c-leaf, e-leaf, node(children c..e), node-a(prefix "", child 'b', value 3), root.
    let mut body = Vec::new();
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, b'1', 0]); // 12: leaf c
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, b'2', 0]); // 22: leaf e
    body.extend_from_slice(&[b'c', b'e', 0x40, 0, 0, 12, 0, 0, 0, 0, 0x40, 0, 0, 22]); // 32
    body.extend_from_slice(&[b'b', b'b', 0x20, 0, 0, 32]); // 46: node 'a' children
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 3, b'3', 0]); //     and its value
    body.extend_from_slice(&[b'a', b'a', 0x60, 0, 0, 46]); // 62: root
    assert_eq!(post, file(0x2000_003E, &body));

    // Pre-order: root 12 (6), node-a 18 (16), node-b 34 (14), leaf c 48 (10), leaf e 58.
    let mut body = Vec::new();
    body.extend_from_slice(&[b'a', b'a', 0x60, 0, 0, 18]);
    body.extend_from_slice(&[b'b', b'b', 0x20, 0, 0, 34, 0, 0, 0, 1, 0, 0, 0, 3, b'3', 0]);
    body.extend_from_slice(&[b'c', b'e', 0x40, 0, 0, 48, 0, 0, 0, 0, 0x40, 0, 0, 58]);
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, b'1', 0]);
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, b'2', 0]);
    assert_eq!(b.write(Layout::PreOrder), file(0x2000_000C, &body));

    for f in both(&b) {
        let keys: Vec<_> = read_all(&f).unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"abc".to_vec(), b"abe".to_vec()]);
        assert_eq!(lookup(&f, b"abe").unwrap(), vec![(2, b"2".to_vec())]);
        assert_eq!(lookup(&f, b"ab").unwrap(), vec![]);
        assert_eq!(lookup(&f, b"abd").unwrap(), vec![]);
        assert_eq!(lookup(&f, b"abcd").unwrap(), vec![]);
    }
}

#[test]
fn prefix_flag_and_nul() {
    let mut b = IndexBuilder::new();
    b.insert(b"xyz", b"v", 7).unwrap();
    let mut body = vec![b'y', b'z', 0, 0, 0, 0, 1, 0, 0, 0, 7, b'v', 0]; // 12: leaf "yz"
    body.extend_from_slice(&[b'x', b'x', 0xC0, 0, 0, 12]);
    assert_eq!(b.write(Layout::PostOrder), file(0x2000_0019, &body));
}

#[test]
fn value_order_and_duplicates() {
    let mut b = IndexBuilder::new();
    assert!(!b.insert(b"k", b"v1", 5).unwrap());
    assert!(!b.insert(b"k", b"v2", 5).unwrap());
    assert!(!b.insert(b"k", b"v3", 1).unwrap());
    assert!(!b.insert(b"k", b"v4", 9).unwrap());
    assert!(b.insert(b"k", b"v1", 5).unwrap());
    assert!(!b.insert(b"other", b"v1", 5).unwrap());
    let want: Vec<(u32, Vec<u8>)> = [(1, "v3"), (5, "v1"), (5, "v2"), (5, "v1"), (9, "v4")]
        .iter()
        .map(|&(p, v)| (p, v.as_bytes().to_vec()))
        .collect();
    for f in both(&b) {
        assert_eq!(lookup(&f, b"k").unwrap(), want);
    }
}

#[test]
fn shape_is_insertion_order_independent() {
    let keys: [&[u8]; 7] = [b"on", b"once", b"one", b"ask", b"ate", b"a", b"o"];
    let mut first = None;
    for rot in 0..keys.len() {
        let mut b = IndexBuilder::new();
        for i in 0..keys.len() {
            let k = keys[(i + rot) % keys.len()];
            b.insert(k, k, 0).unwrap();
        }
        let f = both(&b);
        match &first {
            None => first = Some(f),
            Some(x) => assert_eq!(x, &f),
        }
    }
}

/// Wide nodes (with child tables, see `TABLE_AT`) give the same file whatever the order
/// their children arrive in, including when a split moves a table to a new node.
#[test]
fn wide_nodes_are_insertion_order_independent() {
    // The one-character keys include "p", which splits the "pq" node: in some orders
    // after that node has its table.
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for c in 1..=127u8 {
        keys.push(vec![b'p', b'q', c]);
        keys.push(vec![b'p', b'q', c, b'x', c]);
        keys.push(vec![c]);
    }
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut first = None;
    for round in 0..6 {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        match round {
            0 => {}
            1 => order.reverse(),
            _ => {
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
            }
        }
        let mut b = IndexBuilder::new();
        for &i in &order {
            b.insert(&keys[i], &keys[i], 0).unwrap();
        }
        let f = both(&b);
        for k in &keys {
            assert_eq!(lookup(&f[0], k).unwrap(), vec![(0, k.clone())]);
        }
        match &first {
            None => first = Some(f),
            Some(x) => assert_eq!(x, &f, "round {round}"),
        }
    }
}

#[test]
fn refuses_bytes_outside_ascii() {
    let mut b = IndexBuilder::new();
    let err = b.insert(b"caf\xc3\xa9", b"m", 0).unwrap_err();
    assert_eq!(
        err,
        IndexError::BadByte {
            byte: 0xC3,
            at: 3,
            string: b"caf\xc3\xa9".to_vec(),
            in_key: true
        }
    );
    assert_eq!(
        err.to_string(),
        "key \"caf\\xc3\\xa9\" has the byte 0xc3 at offset 3, which a .bin index cannot \
         hold (keys are 7-bit ASCII without NUL)"
    );
    let err = b.insert(b"ok", b"a\0b", 0).unwrap_err();
    assert!(matches!(
        err,
        IndexError::BadByte {
            byte: 0,
            at: 1,
            in_key: false,
            ..
        }
    ));
    // Values are C strings: any byte but NUL (kmod 34 checks keys only).
    assert!(b.insert(b"ok", b"\x7f", 0).is_ok());
    assert!(b.insert(b"ok2", b"caf\xc3\xa9", 0).is_ok());
    let mut empty = IndexBuilder::new();
    empty.insert(b"ok", b"\x7f", 0).unwrap();
    empty.insert(b"ok2", b"caf\xc3\xa9", 0).unwrap();
    assert_eq!(both(&b), both(&empty));
    let f = b.write(Layout::PostOrder);
    assert_eq!(
        lookup(&f, b"ok2").unwrap(),
        vec![(0, b"caf\xc3\xa9".to_vec())]
    );
}

/// A trie as deep as it has keys ("a", "aa", "aaa", ...): writing it walks the trie with
/// explicit stacks (the recursive writer overflowed the test thread's 2 MiB stack).
#[test]
fn deep_trie_is_written_without_recursion() {
    const DEPTH: usize = 40_000;
    let mut b = IndexBuilder::new();
    let key = vec![b'a'; DEPTH];
    // Longest first: each shorter key splits the one chain of nodes, so no insertion
    // walks more than one node and building stays linear.
    for k in (1..=DEPTH).rev() {
        b.insert(&key[..k], b"v", 0).unwrap();
    }
    for layout in [Layout::PostOrder, Layout::PreOrder] {
        let f = b.write(layout);
        assert_eq!(f.len() as u64, b.encoded_len());
        assert_eq!(
            lookup(&f, &key[..DEPTH / 2]).unwrap(),
            vec![(0, b"v".to_vec())]
        );
    }
}

/// An index that would outgrow its offset range is refused at the insertion that would
/// cross it, with a clear error; what was inserted before is written whole.
#[test]
fn size_limit_is_an_error_not_a_panic() {
    let mut b = IndexBuilder::with_max_size(64 << 10);
    let mut rng = Rng(7);
    let mut refused = None;
    for i in 0..10_000u32 {
        let klen = 1 + rng.below(300) as usize;
        let key: Vec<u8> = (0..klen).map(|_| b'a' + rng.below(26) as u8).collect();
        let before = b.encoded_len();
        match b.insert(&key, format!("m{i}").as_bytes(), i) {
            Ok(_) => assert!(b.encoded_len() <= 64 << 10),
            Err(e) => {
                assert_eq!(b.encoded_len(), before, "nothing inserted on error");
                refused = Some(e);
                break;
            }
        }
    }
    let e = refused.expect("the limit was reached");
    assert_eq!(e, IndexError::TooLarge { limit: 64 << 10 });
    assert!(e.to_string().contains("larger than 65536 bytes"), "{e}");
    for layout in [Layout::PostOrder, Layout::PreOrder] {
        let f = b.write(layout);
        assert_eq!(f.len() as u64, b.encoded_len());
        read_all(&f).unwrap();
    }
}

fn model_insert(model: &mut BTreeMap<Vec<u8>, Vec<(u32, Vec<u8>)>>, k: &[u8], v: &[u8], p: u32) {
    let list = model.entry(k.to_vec()).or_default();
    let pos = list.iter().position(|e| e.0 >= p).unwrap_or(list.len());
    list.insert(pos, (p, v.to_vec()));
}

#[test]
fn round_trip_random() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..40 {
        // Every 7-bit character but NUL: nodes wide enough for child tables.
        let wide: Vec<u8> = (1..=127).collect();
        let alphabet: &[u8] = match round % 3 {
            0 => b"ab",
            1 => b"abcxyz_:-*[]",
            _ => &wide,
        };
        let mut b = IndexBuilder::new();
        let mut model = BTreeMap::new();
        let n = 1 + rng.below(300);
        for _ in 0..n {
            let len = rng.below(12) as usize;
            let key: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            let vlen = rng.below(4) as usize;
            let value: Vec<u8> = (0..vlen).map(|_| 1 + rng.below(127) as u8).collect();
            let prio = rng.below(4) as u32;
            let dup = model
                .get(&key)
                .is_some_and(|l: &Vec<(u32, Vec<u8>)>| l.iter().any(|e| e.1 == value));
            assert_eq!(b.insert(&key, &value, prio).unwrap(), dup);
            model_insert(&mut model, &key, &value, prio);
        }
        let want: Vec<ReadEntry> = model.clone().into_iter().collect();
        let [post, pre] = both(&b);
        assert_eq!(post.len(), pre.len());
        for f in [&post, &pre] {
            assert_eq!(read_all(f).unwrap(), want);
            for (k, v) in &model {
                assert_eq!(&lookup(f, k).unwrap(), v);
                let mut absent = k.clone();
                absent.push(b'#');
                assert_eq!(lookup(f, &absent).unwrap(), vec![]);
            }
        }
        // Post-order puts the root last, pre-order at 12.
        let root = |f: &[u8]| u32::from_be_bytes([f[8], f[9], f[10], f[11]]) & OFFSET_MASK;
        assert_eq!(root(&pre), 12);
        assert!(root(&post) as usize > 12 || model.keys().all(|k| k.is_empty()));
    }
}

#[test]
fn hostile_header() {
    assert_eq!(read_all(&[]), Err(ReadError::TooShort(0)));
    assert_eq!(read_all(&HEADER), Err(ReadError::TooShort(8)));
    let mut f = file(12, &[]);
    f[0] = 0;
    assert!(matches!(read_all(&f), Err(ReadError::BadMagic(_))));
    let mut f = file(12, &[]);
    f[5] = 3;
    assert!(matches!(lookup(&f, b""), Err(ReadError::BadVersion(_))));
}

#[test]
fn hostile_offsets() {
    // Root past the end, root inside the header.
    assert_eq!(
        read_all(&file(0x4000_1000, &[])),
        Err(ReadError::BadOffset(0x1000))
    );
    assert_eq!(
        read_all(&file(0x4000_0004, &[0; 8])),
        Err(ReadError::BadOffset(4))
    );
    // Root with values flag at the very end of the file.
    assert_eq!(
        read_all(&file(0x4000_000C, &[])),
        Err(ReadError::Truncated(12))
    );
    // Huge value count.
    let f = file(0x4000_000C, &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, b'x', 0]);
    assert_eq!(read_all(&f), Err(ReadError::Truncated(12)));
    // Prefix without NUL.
    assert_eq!(
        read_all(&file(0x8000_000C, b"abc")),
        Err(ReadError::Truncated(12))
    );
    // first > last.
    let f = file(0x2000_000C, &[b'z', b'a', 0, 0, 0, 0]);
    assert!(matches!(read_all(&f), Err(ReadError::BadChildRange { .. })));
    // Child reference past the end.
    let f = file(0x2000_000C, &[b'a', b'a', 0x40, 0, 0x10, 0]);
    assert_eq!(read_all(&f), Err(ReadError::BadOffset(0x1000)));
    assert_eq!(lookup(&f, b"a"), Err(ReadError::BadOffset(0x1000)));
    assert_eq!(lookup(&f, b"b"), Ok(vec![]));
}

#[test]
fn hostile_self_reference() {
    // Root whose only child is itself.
    let f = file(0x2000_000C, &[b'a', b'a', 0x20, 0, 0, 12]);
    assert_eq!(read_all(&f), Err(ReadError::Cycle(12)));
    assert_eq!(lookup(&f, &[b'a'; 10_000]), Ok(vec![]));
    // Two children pointing to the same leaf.
    let mut body = vec![b'a', b'b', 0x40, 0, 0, 22, 0x40, 0, 0, 22];
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, b'v', 0]);
    assert_eq!(
        read_all(&file(0x2000_000C, &body)),
        Err(ReadError::Cycle(22))
    );
    // A long chain of prefixes exceeding the key limit is refused, not followed forever.
    let mut body = Vec::new();
    let mut next = 0u32;
    for _ in 0..40 {
        let off = 12 + body.len() as u32;
        body.extend_from_slice(&[b'p'; 200]);
        body.push(0);
        if next != 0 {
            body.extend_from_slice(b"aa");
            body.extend_from_slice(&next.to_be_bytes());
            next = off | FLAG_PREFIX | FLAG_CHILDREN;
        } else {
            body.extend_from_slice(&[0, 0, 0, 0]);
            next = off | FLAG_PREFIX | FLAG_VALUES;
        }
    }
    assert_eq!(read_all(&file(next, &body)), Err(ReadError::KeyTooLong));
}

#[test]
fn hostile_truncation_and_corruption() {
    let mut b = IndexBuilder::new();
    let mut rng = Rng(12345);
    for i in 0..200u32 {
        let key = format!("alias:{}x{}", rng.below(50), rng.below(7));
        b.insert(key.as_bytes(), format!("mod{i}").as_bytes(), i % 5)
            .unwrap();
    }
    for f in both(&b) {
        let all = read_all(&f).unwrap();
        for len in 0..f.len() {
            assert!(read_all(&f[..len]).is_err(), "truncated to {len}");
            for (k, _) in all.iter().take(3) {
                let _ = lookup(&f[..len], k);
            }
        }
        let mut rng = Rng(777);
        for _ in 0..3000 {
            let mut g = f.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(g.len() as u64) as usize;
                g[at] = rng.next() as u8;
            }
            let _ = read_all(&g);
            for (k, _) in all.iter().take(4) {
                let _ = lookup(&g, k);
            }
        }
    }
}
