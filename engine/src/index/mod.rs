//! kmod's binary index format (`modules.*.bin`), the radix trie that `modprobe` reads.
//!
//! [`IndexBuilder`] collects `(key, value, priority)` triples into a path-compressed trie
//! whose shape is canonical (it does not depend on insertion order) and whose per-key value
//! order follows kmod exactly (ascending priority, newest first among equal priorities).
//! [`IndexBuilder::write`] serialises it byte for byte as kmod does, in either node
//! placement ([`Layout::PostOrder`] for kmod <= 33, [`Layout::PreOrder`] for kmod >= 34).
//!
//! [`read_all`] and [`lookup`] parse an index file back. They are meant for tests, fuzzing
//! and diagnostics; they validate every offset and never panic on hostile input.
//!
//! What this module does **not** do: it does not decide keys, values or priorities (alias
//! normalisation, `symbol:` prefixes, module indices are the caller's job), it does not
//! print kmod's `-w` duplicate warnings (it only reports duplicates), it does not write
//! files, and its reader does not implement modprobe's wildcard alias matching.

mod read;
#[cfg(test)]
mod tests;

pub use read::{lookup, read_all, ReadEntry, ReadError, MAX_KEY_LEN};

/// File magic, big-endian `B0 07 F4 57`.
pub const MAGIC: u32 = 0xB007_F457;
/// Format version: major 2, minor 1 (`major << 16 | minor`).
pub const VERSION: u32 = 0x0002_0001;
/// Size of the header (magic, version, root reference).
pub const HEADER_LEN: usize = 12;

/// Node reference flag: the node has a non-empty prefix.
pub const FLAG_PREFIX: u32 = 0x8000_0000;
/// Node reference flag: the node has values.
pub const FLAG_VALUES: u32 = 0x4000_0000;
/// Node reference flag: the node has children.
pub const FLAG_CHILDREN: u32 = 0x2000_0000;
/// Mask of the file-offset bits of a node reference.
pub const OFFSET_MASK: u32 = 0x0FFF_FFFF;

/// Node placement when writing. The node bodies are identical; only their order differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// kmod <= 33 (Debian bookworm's kmod 30): children before parents, root last.
    PostOrder,
    /// kmod >= 34: root at offset 12, each node followed by its children in character order.
    PreOrder,
}

/// Why a key or value cannot go into an index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// A key holds a byte outside `1..=127` (trie edges are 7-bit characters: kmod 34
    /// refuses such a key, kmod 30 crashes on it), or a value holds a NUL (values are C
    /// strings in the file).
    #[error(
        "{} \"{}\" has the byte 0x{byte:02x} at offset {at}, which a .bin index cannot hold ({})",
        if *.in_key { "key" } else { "value" },
        escape(string),
        if *.in_key { "keys are 7-bit ASCII without NUL" } else { "values cannot contain NUL" }
    )]
    BadByte {
        /// The first offending byte.
        byte: u8,
        /// Its offset in `string`.
        at: usize,
        /// The whole key or value.
        string: Vec<u8>,
        /// Whether `string` is the key (else the value).
        in_key: bool,
    },
    /// The file would outgrow the 28-bit node offsets of the format.
    #[error(
        "the index would be larger than {limit} bytes, the most the .bin format's node offsets can address"
    )]
    TooLarge {
        /// The largest file size the format allows.
        limit: u64,
    },
}

/// `s` with bytes outside printable ASCII written as `\xNN`.
pub fn escape(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The largest index file the format can describe: every node offset must fit in
/// [`OFFSET_MASK`].
pub const MAX_INDEX_SIZE: u64 = OFFSET_MASK as u64 + 1;

/// What one insertion can add to the file at most, besides the key and value bytes: a
/// split (6), a node's child table growing to all 127 characters (510), a new leaf's
/// prefix terminator, value count, priority and terminator (10).
const INSERT_SLACK: u64 = 600;

/// "No node" / "no value" in the links below.
const NONE: u32 = u32::MAX;

/// One value stored under a key: a link in its node's list.
#[derive(Debug, Clone, Copy)]
struct Value {
    priority: u32,
    /// The value string in [`IndexBuilder::bytes`].
    bytes: Span,
    /// The next value of the same key, or [`NONE`].
    next: u32,
}

/// One trie node. Node 0 is the root, whose prefix is always empty.
///
/// Children and values are linked lists through [`IndexBuilder::nodes`] and
/// [`IndexBuilder::values`], so that building a trie of 100,000 keys makes a handful of
/// allocations instead of two per node. A node with many children also gets a direct
/// table (see [`TABLE_AT`]), so that finding a child there costs one read instead of a
/// walk along the list (each step a likely cache miss: that walk was half of the
/// building time for `modules.symbols.bin`, whose top nodes have dozens of children).
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Label bytes after the edge character that leads here, as a range of
    /// [`IndexBuilder::bytes`] (splitting a node only splits the range).
    prefix: Span,
    /// The edge character that leads here from the parent (unused at the root).
    ch: u8,
    /// The first child (smallest edge character), or [`NONE`].
    first_child: u32,
    /// The next sibling (next larger edge character), or [`NONE`].
    next_sibling: u32,
    /// The first value, in kmod order (ascending priority, newest first among equals),
    /// or [`NONE`].
    first_value: u32,
    /// This node's child table in [`IndexBuilder::tables`], or [`NONE`].
    table: u32,
    /// How many children (at most 127: edge characters are 7-bit and not NUL).
    n_children: u8,
}

/// A node gets a child table when it reaches this many children.
const TABLE_AT: u8 = 8;

/// Child by edge character ([`NONE`] where there is none).
type ChildTable = [u32; 128];

impl Node {
    fn leaf(prefix: Span, ch: u8, first_value: u32) -> Node {
        Node {
            prefix,
            ch,
            first_child: NONE,
            next_sibling: NONE,
            first_value,
            table: NONE,
            n_children: 0,
        }
    }
}

/// `start..start + len` in [`IndexBuilder::bytes`].
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn is_empty(self) -> bool {
        self.len == 0
    }

    fn len(self) -> usize {
        self.len as usize
    }
}

/// In-memory index under construction, as depmod builds it before writing a `.bin` file.
#[derive(Debug, Clone)]
pub struct IndexBuilder {
    /// An upper bound of the file size (see [`IndexBuilder::insert`]).
    bound: u64,
    /// The largest file allowed: [`MAX_INDEX_SIZE`] (smaller in tests).
    max_size: u64,
    nodes: Vec<Node>,
    values: Vec<Value>,
    /// Child tables of the nodes with many children.
    tables: Vec<ChildTable>,
    /// Storage of every node prefix and every value string.
    bytes: Vec<u8>,
}

impl Default for IndexBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks that every byte of a key is in `1..=127`, or that a value has no NUL.
fn check(string: &[u8], in_key: bool) -> Result<(), IndexError> {
    let bad = |b: u8| b == 0 || (in_key && b >= 0x80);
    match string.iter().position(|&b| bad(b)) {
        Some(at) => Err(IndexError::BadByte {
            byte: string[at],
            at,
            string: string.to_vec(),
            in_key,
        }),
        None => Ok(()),
    }
}

impl IndexBuilder {
    /// Creates an empty index (a root node with no prefix, children or values).
    pub fn new() -> Self {
        Self {
            bound: HEADER_LEN as u64,
            max_size: MAX_INDEX_SIZE,
            nodes: vec![Node::leaf(Span::default(), 0, NONE)],
            values: Vec::new(),
            tables: Vec::new(),
            bytes: Vec::new(),
        }
    }

    /// An empty index that may grow to at most `max_size` bytes (for tests of the limit).
    #[cfg(test)]
    fn with_max_size(max_size: u64) -> Self {
        Self {
            max_size,
            ..Self::new()
        }
    }

    /// Inserts `value` with `priority` under `key`.
    ///
    /// The value goes before the first existing value of that key whose priority is
    /// `>=` its own, so equal priorities end up in reverse insertion order. Duplicates are
    /// kept. Returns `Ok(true)` when an identical value string was already present under
    /// `key` (the caller prints kmod's `-w` duplicate warning). Nothing is inserted on error:
    /// a key with a byte outside 7-bit ASCII (or NUL), a value with a NUL, or an insertion
    /// that could make the file larger than [`MAX_INDEX_SIZE`] (so [`IndexBuilder::write`]
    /// always succeeds).
    pub fn insert(&mut self, key: &[u8], value: &[u8], priority: u32) -> Result<bool, IndexError> {
        check(key, true)?;
        check(value, false)?;
        // The size is tracked as an upper bound, raised by what this insertion can add at
        // most; only when the bound passes the limit is the exact size computed.
        let most = (key.len() as u64)
            .saturating_add(value.len() as u64)
            .saturating_add(INSERT_SLACK);
        if self.bound.saturating_add(most) > self.max_size {
            self.bound = self.encoded_len();
            if self.bound.saturating_add(most) > self.max_size {
                return Err(IndexError::TooLarge {
                    limit: self.max_size,
                });
            }
        }
        self.bound += most;
        let bytes = self.store(value);
        let mut n = 0usize;
        let mut i = 0usize;
        loop {
            let prefix = span(&self.bytes, self.nodes[n].prefix);
            let common = prefix
                .iter()
                .zip(&key[i..])
                .take_while(|(a, b)| a == b)
                .count();
            if common < prefix.len() {
                self.split(n, common);
            }
            i += common;
            let Some(&ch) = key.get(i) else {
                return Ok(self.add_value(n, value, priority, bytes));
            };
            let (prev, c) = self.find_child(n, ch);
            if c != NONE && self.nodes[c as usize].ch == ch {
                n = c as usize;
                i += 1;
                continue;
            }
            let prefix = self.store(&key[i + 1..]);
            let v = self.push_value(Value {
                priority,
                bytes,
                next: NONE,
            });
            let leaf = self.push(Node {
                next_sibling: c,
                ..Node::leaf(prefix, ch, v)
            });
            match prev {
                NONE => self.nodes[n].first_child = leaf,
                p => self.nodes[p as usize].next_sibling = leaf,
            }
            self.child_added(n, ch, leaf);
            return Ok(false);
        }
    }

    /// Where edge character `ch` is or belongs among node `n`'s children (kept sorted by
    /// edge character): `(previous child, first child whose character is >= ch)`, each
    /// [`NONE`] when there is none. When the second has character `ch` the first is not
    /// needed and may be [`NONE`].
    fn find_child(&self, n: usize, ch: u8) -> (u32, u32) {
        let node = &self.nodes[n];
        if let Some(t) = self.tables.get(node.table as usize) {
            // `check` lets only 7-bit characters into keys, so `ch` indexes the table.
            let hit = t[usize::from(ch)];
            if hit != NONE {
                return (NONE, hit);
            }
            let prev = t[..usize::from(ch)]
                .iter()
                .rev()
                .find(|&&c| c != NONE)
                .copied()
                .unwrap_or(NONE);
            let next = match prev {
                NONE => node.first_child,
                p => self.nodes[p as usize].next_sibling,
            };
            return (prev, next);
        }
        let mut prev = NONE;
        let mut c = node.first_child;
        while c != NONE && self.nodes[c as usize].ch < ch {
            prev = c;
            c = self.nodes[c as usize].next_sibling;
        }
        (prev, c)
    }

    /// Records that node `n` got child `child` under `ch`, giving `n` a child table when it
    /// reaches [`TABLE_AT`] children.
    fn child_added(&mut self, n: usize, ch: u8, child: u32) {
        let node = &mut self.nodes[n];
        node.n_children += 1;
        if let Some(t) = self.tables.get_mut(node.table as usize) {
            t[usize::from(ch)] = child;
        } else if node.n_children >= TABLE_AT {
            node.table = to_u32(self.tables.len());
            let mut t = [NONE; 128];
            let mut c = node.first_child;
            while c != NONE {
                let child = &self.nodes[c as usize];
                t[usize::from(child.ch)] = c;
                c = child.next_sibling;
            }
            self.tables.push(t);
        }
    }

    /// Adds a value to node `n`'s list, before the first value whose priority is `>=`
    /// `priority`; returns whether the same string was already there.
    fn add_value(&mut self, n: usize, value: &[u8], priority: u32, bytes: Span) -> bool {
        let mut duplicate = false;
        let mut at = None; // (previous, first value with priority >= ours)
        let mut prev = NONE;
        let mut cur = self.nodes[n].first_value;
        while cur != NONE {
            let v = self.values[cur as usize];
            duplicate |= span(&self.bytes, v.bytes) == value;
            if at.is_none() && v.priority >= priority {
                at = Some((prev, cur));
            }
            prev = cur;
            cur = v.next;
        }
        let (before, next) = at.unwrap_or((prev, NONE));
        let new = self.push_value(Value {
            priority,
            bytes,
            next,
        });
        match before {
            NONE => self.nodes[n].first_value = new,
            b => self.values[b as usize].next = new,
        }
        duplicate
    }

    /// Serialises the whole index (header included) in the given layout.
    ///
    /// The trie is walked with explicit stacks, not recursion: a key of a million bytes
    /// that shares prefixes with many others makes a trie that deep.
    pub fn write(&self, layout: Layout) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.total_size_estimate());
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        let root = match layout {
            Layout::PostOrder => self.write_post(&mut out),
            Layout::PreOrder => {
                let totals = self.compute_totals();
                self.write_pre(&totals, &mut out);
                node_ref(HEADER_LEN, self.flags(0))
            }
        };
        out[8..12].copy_from_slice(&root.to_be_bytes());
        out
    }

    /// The exact size of the file [`IndexBuilder::write`] would produce.
    pub fn encoded_len(&self) -> u64 {
        HEADER_LEN as u64 + self.total_size_estimate() as u64
    }

    fn total_size_estimate(&self) -> usize {
        (0..self.nodes.len()).map(|n| self.body_size(n)).sum()
    }

    fn push(&mut self, node: Node) -> u32 {
        let idx = to_u32(self.nodes.len());
        self.nodes.push(node);
        idx
    }

    fn push_value(&mut self, value: Value) -> u32 {
        let idx = to_u32(self.values.len());
        self.values.push(value);
        idx
    }

    /// Node `n`'s children, in edge-character order.
    fn children(&self, n: usize) -> impl Iterator<Item = (u8, usize)> + '_ {
        let mut c = self.nodes[n].first_child;
        std::iter::from_fn(move || {
            let node = self.nodes.get(c as usize)?;
            let out = (node.ch, c as usize);
            c = node.next_sibling;
            Some(out)
        })
    }

    /// Node `n`'s values, in kmod order.
    fn node_values(&self, n: usize) -> impl Iterator<Item = &Value> + '_ {
        let mut v = self.nodes[n].first_value;
        std::iter::from_fn(move || {
            let value = self.values.get(v as usize)?;
            v = value.next;
            Some(value)
        })
    }

    /// The first and last edge characters of node `n`'s children, if it has any.
    fn child_range(&self, n: usize) -> Option<(u8, u8)> {
        let first = self.nodes.get(self.nodes[n].first_child as usize)?.ch;
        let last = self.children(n).last().map_or(first, |(ch, _)| ch);
        Some((first, last))
    }

    fn flags(&self, n: usize) -> u32 {
        let node = &self.nodes[n];
        let mut flags = 0;
        if !node.prefix.is_empty() {
            flags |= FLAG_PREFIX;
        }
        if node.first_child != NONE {
            flags |= FLAG_CHILDREN;
        }
        if node.first_value != NONE {
            flags |= FLAG_VALUES;
        }
        flags
    }

    /// Bytes taken by node `n`'s body in the file.
    fn body_size(&self, n: usize) -> usize {
        let node = &self.nodes[n];
        let mut size = 0;
        if !node.prefix.is_empty() {
            size += node.prefix.len() + 1;
        }
        if let Some((first, last)) = self.child_range(n) {
            size += 2 + 4 * (usize::from(last - first) + 1);
        }
        if node.first_value != NONE {
            size += 4 + self
                .node_values(n)
                .map(|v| 4 + v.bytes.len() + 1)
                .sum::<usize>();
        }
        size
    }

    /// Appends `s` to the byte store.
    fn store(&mut self, s: &[u8]) -> Span {
        let span = Span {
            start: to_u32(self.bytes.len()),
            len: to_u32(s.len()),
        };
        self.bytes.extend_from_slice(s);
        span
    }

    /// Splits node `n` so that it keeps `prefix[..at]`; a new child under `prefix[at]`
    /// takes the rest of the prefix plus the old children and values.
    fn split(&mut self, n: usize, at: usize) {
        let node = self.nodes[n];
        let Span { start, len } = node.prefix;
        let at = to_u32(at);
        let ch = self.bytes[(start + at) as usize];
        let child = self.push(Node {
            first_child: node.first_child,
            table: node.table,
            n_children: node.n_children,
            ..Node::leaf(
                Span {
                    start: start + at + 1,
                    len: len - at - 1,
                },
                ch,
                node.first_value,
            )
        });
        let node = &mut self.nodes[n];
        node.prefix.len = at;
        node.first_child = child;
        node.first_value = NONE;
        node.table = NONE;
        node.n_children = 1;
    }

    /// kmod <= 33: children first (in character order), then the node itself. Returns
    /// the root's reference.
    fn write_post(&self, out: &mut Vec<u8>) -> u32 {
        /// A node whose children are being written: the next child to write, where its
        /// child table starts in `refs`, and its first child character.
        struct Frame {
            node: usize,
            next: u32,
            base: usize,
            first: u8,
        }
        let mut refs: Vec<u32> = Vec::new();
        let enter = |n: usize, refs: &mut Vec<u32>| -> Frame {
            let base = refs.len();
            let first = match self.child_range(n) {
                Some((first, last)) => {
                    refs.resize(base + usize::from(last - first) + 1, 0);
                    first
                }
                None => 0,
            };
            Frame {
                node: n,
                next: self.nodes[n].first_child,
                base,
                first,
            }
        };
        let mut stack = vec![enter(0, &mut refs)];
        loop {
            let Some(top) = stack.last_mut() else {
                // Unreachable: the root's frame returns below.
                return 0;
            };
            if top.next != NONE {
                let c = top.next as usize;
                top.next = self.nodes[c].next_sibling;
                let f = enter(c, &mut refs);
                stack.push(f);
                continue;
            }
            let Some(f) = stack.pop() else { return 0 };
            let offset = out.len();
            self.write_body(f.node, &refs[f.base..], out);
            refs.truncate(f.base);
            let r = node_ref(offset, self.flags(f.node));
            match stack.last() {
                Some(parent) => {
                    let slot = usize::from(self.nodes[f.node].ch - parent.first);
                    refs[parent.base + slot] = r;
                }
                None => return r,
            }
        }
    }

    /// Every node in pre-order (a node, then its children's subtrees in character order).
    fn preorder(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut stack = vec![0usize];
        let mut kids = Vec::new();
        while let Some(n) = stack.pop() {
            order.push(n);
            kids.clear();
            kids.extend(self.children(n).map(|(_, c)| c));
            stack.extend(kids.iter().rev());
        }
        order
    }

    /// Size of the subtree rooted at each node (its body plus all descendants).
    fn compute_totals(&self) -> Vec<usize> {
        let mut totals = vec![0usize; self.nodes.len()];
        // Reverse pre-order visits every child before its parent.
        for n in self.preorder().into_iter().rev() {
            totals[n] = self.body_size(n) + self.children(n).map(|(_, c)| totals[c]).sum::<usize>();
        }
        totals
    }

    /// kmod >= 34: each node, then its children contiguously in character order.
    fn write_pre(&self, totals: &[usize], out: &mut Vec<u8>) {
        let mut refs = Vec::new();
        for n in self.preorder() {
            let offset = out.len();
            let mut child_off = offset + self.body_size(n);
            refs.clear();
            if let Some((first, last)) = self.child_range(n) {
                refs.resize(usize::from(last - first) + 1, 0);
                for (ch, c) in self.children(n) {
                    refs[usize::from(ch - first)] = node_ref(child_off, self.flags(c));
                    child_off += totals[c];
                }
            }
            self.write_body(n, &refs, out);
        }
    }

    /// Emits node `n`'s body: prefix, child range and references, values.
    fn write_body(&self, n: usize, refs: &[u32], out: &mut Vec<u8>) {
        let node = &self.nodes[n];
        if !node.prefix.is_empty() {
            out.extend_from_slice(span(&self.bytes, node.prefix));
            out.push(0);
        }
        if let Some((first, last)) = self.child_range(n) {
            out.push(first);
            out.push(last);
            for r in refs {
                out.extend_from_slice(&r.to_be_bytes());
            }
        }
        if node.first_value != NONE {
            // Fewer than 2^32: `insert` keeps the whole file under 256 MiB.
            let count = self.node_values(n).count() as u32;
            out.extend_from_slice(&count.to_be_bytes());
            for v in self.node_values(n) {
                out.extend_from_slice(&v.priority.to_be_bytes());
                out.extend_from_slice(span(&self.bytes, v.bytes));
                out.push(0);
            }
        }
    }
}

/// The bytes of `s` in `store`.
fn span(store: &[u8], s: Span) -> &[u8] {
    &store[s.start as usize..s.start as usize + s.len()]
}

/// Converts a size to `u32`. Every size here is below [`MAX_INDEX_SIZE`] (`insert`
/// refuses to grow the index past it: the byte store and the node count are bounded by
/// the file size), so nothing is cut.
fn to_u32(n: usize) -> u32 {
    debug_assert!(n as u64 <= MAX_INDEX_SIZE * 2);
    n as u32
}

/// Builds `offset | flags`. Offsets are below [`MAX_INDEX_SIZE`] (see `insert`), so they
/// fit the 28-bit field.
fn node_ref(offset: usize, flags: u32) -> u32 {
    debug_assert!(offset as u64 <= u64::from(OFFSET_MASK));
    (offset as u32 & OFFSET_MASK) | flags
}
