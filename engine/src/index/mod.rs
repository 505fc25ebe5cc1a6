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

/// A key or value holds a byte outside `1..=127`: kmod >= 34 refuses it (kmod 30 crashes).
///
/// `Display` gives kmod's FATAL text (without the `depmod: FATAL: ` prefix); since it must
/// be UTF-8 it shows the byte as a Latin-1 character and the string lossily. The fields
/// hold the raw bytes for callers that need kmod's exact output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Module index: bad character '{}'=0x{byte:x} - only 7-bit ASCII is supported:\n{}",
    char::from(*byte),
    String::from_utf8_lossy(string)
)]
pub struct IndexError {
    /// The first offending byte.
    pub byte: u8,
    /// The whole key or value that contains it.
    pub string: Vec<u8>,
}

/// One value stored under a key.
#[derive(Debug, Clone, Copy)]
struct Value {
    priority: u32,
    /// The value string in [`IndexBuilder::bytes`].
    bytes: Span,
}

/// One trie node. Node 0 is the root, whose prefix is always empty.
#[derive(Debug, Clone, Default)]
struct Node {
    /// Label bytes after the edge character that leads here, as a range of
    /// [`IndexBuilder::bytes`] (splitting a node only splits the range).
    prefix: Span,
    /// `(edge character, node index)`, sorted by character.
    children: Vec<(u8, u32)>,
    /// Values in kmod order (ascending priority, newest first among equals).
    values: Vec<Value>,
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

impl Node {
    fn flags(&self) -> u32 {
        let mut flags = 0;
        if !self.prefix.is_empty() {
            flags |= FLAG_PREFIX;
        }
        if !self.children.is_empty() {
            flags |= FLAG_CHILDREN;
        }
        if !self.values.is_empty() {
            flags |= FLAG_VALUES;
        }
        flags
    }

    /// Bytes taken by this node's body in the file.
    fn body_size(&self) -> usize {
        let mut size = 0;
        if !self.prefix.is_empty() {
            size += self.prefix.len() + 1;
        }
        if let (Some(first), Some(last)) = (self.children.first(), self.children.last()) {
            size += 2 + 4 * (usize::from(last.0 - first.0) + 1);
        }
        if !self.values.is_empty() {
            size += 4 + self
                .values
                .iter()
                .map(|v| 4 + v.bytes.len() + 1)
                .sum::<usize>();
        }
        size
    }
}

/// In-memory index under construction, as depmod builds it before writing a `.bin` file.
#[derive(Debug, Clone)]
pub struct IndexBuilder {
    nodes: Vec<Node>,
    /// Storage of every node prefix and every value string.
    bytes: Vec<u8>,
}

impl Default for IndexBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks that every byte is in `1..=127`.
fn check(string: &[u8]) -> Result<(), IndexError> {
    match string.iter().find(|&&b| b == 0 || b >= 0x80) {
        Some(&byte) => Err(IndexError {
            byte,
            string: string.to_vec(),
        }),
        None => Ok(()),
    }
}

impl IndexBuilder {
    /// Creates an empty index (a root node with no prefix, children or values).
    pub fn new() -> Self {
        Self {
            nodes: vec![Node::default()],
            bytes: Vec::new(),
        }
    }

    /// Inserts `value` with `priority` under `key`.
    ///
    /// The value goes before the first existing value of that key whose priority is
    /// `>=` its own, so equal priorities end up in reverse insertion order. Duplicates are
    /// kept. Returns `Ok(true)` when an identical value string was already present under
    /// `key` (the caller prints kmod's `-w` duplicate warning). Nothing is inserted on error.
    pub fn insert(&mut self, key: &[u8], value: &[u8], priority: u32) -> Result<bool, IndexError> {
        check(key)?;
        check(value)?;
        let stored = Value {
            priority,
            bytes: self.store(value),
        };
        let mut n = 0usize;
        let mut i = 0usize;
        loop {
            let rest = &key[i..];
            let prefix = self.prefix(&self.nodes[n]);
            let common = prefix.iter().zip(rest).take_while(|(a, b)| a == b).count();
            if common < prefix.len() {
                self.split(n, common);
            }
            i += common;
            let Some(&ch) = key.get(i) else {
                let bytes = &self.bytes;
                let values = &mut self.nodes[n].values;
                let duplicate = values.iter().any(|v| span(bytes, v.bytes) == value);
                // Before the first value with priority >= ours: newest first among equals.
                let pos = values
                    .iter()
                    .position(|v| v.priority >= priority)
                    .unwrap_or(values.len());
                values.insert(pos, stored);
                return Ok(duplicate);
            };
            match self.nodes[n].children.binary_search_by_key(&ch, |c| c.0) {
                Ok(pos) => {
                    n = self.nodes[n].children[pos].1 as usize;
                    i += 1;
                }
                Err(pos) => {
                    let prefix = self.store(&key[i + 1..]);
                    let leaf = self.push(Node {
                        prefix,
                        children: Vec::new(),
                        values: vec![stored],
                    });
                    self.nodes[n].children.insert(pos, (ch, leaf));
                    return Ok(false);
                }
            }
        }
    }

    /// Serialises the whole index (header included) in the given layout.
    ///
    /// # Panics
    /// If the file would exceed the format's 256 MiB offset range.
    pub fn write(&self, layout: Layout) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.total_size_estimate());
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        let root = match layout {
            Layout::PostOrder => self.write_post(0, &mut out),
            Layout::PreOrder => {
                let mut totals = vec![0usize; self.nodes.len()];
                self.compute_totals(0, &mut totals);
                let root = node_ref(HEADER_LEN, self.nodes[0].flags());
                self.write_pre(0, &totals, &mut out);
                root
            }
        };
        out[8..12].copy_from_slice(&root.to_be_bytes());
        out
    }

    fn total_size_estimate(&self) -> usize {
        self.nodes.iter().map(Node::body_size).sum()
    }

    fn push(&mut self, node: Node) -> u32 {
        let idx = to_u32(self.nodes.len());
        self.nodes.push(node);
        idx
    }

    fn prefix(&self, node: &Node) -> &[u8] {
        span(&self.bytes, node.prefix)
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
        let node = &mut self.nodes[n];
        let Span { start, len } = node.prefix;
        let at = to_u32(at);
        node.prefix.len = at;
        let ch = self.bytes[(start + at) as usize];
        let child = Node {
            prefix: Span {
                start: start + at + 1,
                len: len - at - 1,
            },
            children: std::mem::take(&mut node.children),
            values: std::mem::take(&mut node.values),
        };
        let idx = self.push(child);
        self.nodes[n].children = vec![(ch, idx)];
    }

    /// kmod <= 33: children first (in character order), then the node itself.
    fn write_post(&self, n: usize, out: &mut Vec<u8>) -> u32 {
        let node = &self.nodes[n];
        let mut refs = Vec::new();
        if let Some(&(first, _)) = node.children.first() {
            let last = node.children[node.children.len() - 1].0;
            refs = vec![0u32; usize::from(last - first) + 1];
            for &(ch, child) in &node.children {
                refs[usize::from(ch - first)] = self.write_post(child as usize, out);
            }
        }
        let offset = out.len();
        self.write_body(node, &refs, out);
        node_ref(offset, node.flags())
    }

    /// Size of the subtree rooted at `n` (its body plus all descendants).
    fn compute_totals(&self, n: usize, totals: &mut [usize]) -> usize {
        let node = &self.nodes[n];
        let mut total = node.body_size();
        for &(_, child) in &node.children {
            total += self.compute_totals(child as usize, totals);
        }
        totals[n] = total;
        total
    }

    /// kmod >= 34: the node itself, then its children contiguously in character order.
    fn write_pre(&self, n: usize, totals: &[usize], out: &mut Vec<u8>) {
        let node = &self.nodes[n];
        let offset = out.len();
        let mut refs = Vec::new();
        if let Some(&(first, _)) = node.children.first() {
            let last = node.children[node.children.len() - 1].0;
            refs = vec![0u32; usize::from(last - first) + 1];
            let mut child_off = offset + node.body_size();
            for &(ch, child) in &node.children {
                let child = child as usize;
                refs[usize::from(ch - first)] = node_ref(child_off, self.nodes[child].flags());
                child_off += totals[child];
            }
        }
        self.write_body(node, &refs, out);
        debug_assert_eq!(out.len(), offset + node.body_size());
        for &(_, child) in &node.children {
            self.write_pre(child as usize, totals, out);
        }
    }

    /// Emits a node body: prefix, child range and references, values.
    fn write_body(&self, node: &Node, refs: &[u32], out: &mut Vec<u8>) {
        if !node.prefix.is_empty() {
            out.extend_from_slice(self.prefix(node));
            out.push(0);
        }
        if let (Some(first), Some(last)) = (node.children.first(), node.children.last()) {
            out.push(first.0);
            out.push(last.0);
            for r in refs {
                out.extend_from_slice(&r.to_be_bytes());
            }
        }
        if !node.values.is_empty() {
            let count = u32::try_from(node.values.len()).expect("fewer than 2^32 values");
            out.extend_from_slice(&count.to_be_bytes());
            for v in &node.values {
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

/// Converts a size to `u32`; an index is far smaller than 4 GiB.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("index smaller than 4 GiB")
}

/// Builds `offset | flags`, checking the offset fits the 28-bit field.
fn node_ref(offset: usize, flags: u32) -> u32 {
    let offset = u32::try_from(offset)
        .ok()
        .filter(|&o| o <= OFFSET_MASK)
        .expect("index file exceeds the 256 MiB offset range");
    offset | flags
}
