//! Bounds-checked reader of index files, for tests, fuzzing and diagnostics.
//!
//! Every offset is validated, each node may be visited only once (so backward or
//! self-referencing offsets cannot loop) and keys are capped at [`MAX_KEY_LEN`] bytes.
//! Hostile input yields a [`ReadError`], never a panic.

use std::collections::HashSet;

use super::{FLAG_CHILDREN, FLAG_PREFIX, FLAG_VALUES, HEADER_LEN, MAGIC, OFFSET_MASK};

/// Longest key the reader accepts; real kmod keys are a few hundred bytes at most.
pub const MAX_KEY_LEN: usize = 4096;

/// One key of an index with its values as `(priority, value)` in stored order.
pub type ReadEntry = (Vec<u8>, Vec<(u32, Vec<u8>)>);

/// Why an index file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file is shorter than the 12-byte header.
    #[error("index file too short: {0} bytes, the header needs 12")]
    TooShort(usize),
    /// The first word is not `0xB007F457`.
    #[error("bad index magic 0x{0:08x}")]
    BadMagic(u32),
    /// The major version is not 2.
    #[error("unsupported index version 0x{0:08x}")]
    BadVersion(u32),
    /// A node offset points into the header or past the end of the file.
    #[error("node offset {0} is outside the file")]
    BadOffset(usize),
    /// A node field runs past the end of the file.
    #[error("node at offset {0} is truncated")]
    Truncated(usize),
    /// A node's child range has `first > last`.
    #[error("node at offset {offset} has child range {first}..={last}")]
    BadChildRange {
        /// Offset of the node.
        offset: usize,
        /// First child character.
        first: u8,
        /// Last child character.
        last: u8,
    },
    /// Two references lead to the same node (a cycle or a shared subtree).
    #[error("node at offset {0} is reached twice")]
    Cycle(usize),
    /// A key grows beyond [`MAX_KEY_LEN`] bytes.
    #[error("key longer than {MAX_KEY_LEN} bytes")]
    KeyTooLong,
}

/// A parsed node body, borrowing from the file.
struct NodeView<'a> {
    prefix: &'a [u8],
    /// First child character and the raw child references area (4 bytes each).
    children: Option<(u8, &'a [u8])>,
    values: Option<Vec<(u32, Vec<u8>)>>,
}

impl NodeView<'_> {
    /// Raw reference of child `i` (0-based from `first`).
    fn child_ref(&self, i: usize) -> Option<u32> {
        let (_, refs) = self.children?;
        let b = refs.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn child_count(&self) -> usize {
        self.children.map_or(0, |(_, refs)| refs.len() / 4)
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads the NUL-terminated string at `at`, returning it and the position after the NUL.
fn cstr(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(at..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    Some((&rest[..len], at + len + 1))
}

/// Validates the header and returns the root reference.
fn header(bytes: &[u8]) -> Result<u32, ReadError> {
    if bytes.len() < HEADER_LEN {
        return Err(ReadError::TooShort(bytes.len()));
    }
    let magic = be32(bytes, 0).ok_or(ReadError::TooShort(bytes.len()))?;
    if magic != MAGIC {
        return Err(ReadError::BadMagic(magic));
    }
    let version = be32(bytes, 4).ok_or(ReadError::TooShort(bytes.len()))?;
    if version >> 16 != 2 {
        return Err(ReadError::BadVersion(version));
    }
    be32(bytes, 8).ok_or(ReadError::TooShort(bytes.len()))
}

/// Parses the node that `reference` (non-zero) points to.
fn parse_node(bytes: &[u8], reference: u32) -> Result<(usize, NodeView<'_>), ReadError> {
    let offset = (reference & OFFSET_MASK) as usize;
    // A node with no flags has an empty body, so it may sit exactly at the end.
    if offset < HEADER_LEN || offset > bytes.len() {
        return Err(ReadError::BadOffset(offset));
    }
    let truncated = ReadError::Truncated(offset);
    let mut pos = offset;
    let mut prefix: &[u8] = &[];
    if reference & FLAG_PREFIX != 0 {
        let (p, next) = cstr(bytes, pos).ok_or(truncated.clone())?;
        prefix = p;
        pos = next;
    }
    let mut children = None;
    if reference & FLAG_CHILDREN != 0 {
        let range = bytes.get(pos..pos + 2).ok_or(truncated.clone())?;
        let (first, last) = (range[0], range[1]);
        if first > last {
            return Err(ReadError::BadChildRange {
                offset,
                first,
                last,
            });
        }
        pos += 2;
        let len = 4 * (usize::from(last - first) + 1);
        let refs = bytes.get(pos..pos + len).ok_or(truncated.clone())?;
        children = Some((first, refs));
        pos += len;
    }
    let mut values = None;
    if reference & FLAG_VALUES != 0 {
        let count = be32(bytes, pos).ok_or(truncated.clone())?;
        pos += 4;
        let mut list = Vec::new();
        for _ in 0..count {
            let priority = be32(bytes, pos).ok_or(truncated.clone())?;
            let (value, next) = cstr(bytes, pos + 4).ok_or(truncated.clone())?;
            list.push((priority, value.to_vec()));
            pos = next;
        }
        values = Some(list);
    }
    Ok((
        offset,
        NodeView {
            prefix,
            children,
            values,
        },
    ))
}

/// Parses an index file and lists every key that has values, in ascending byte order,
/// each with its `(priority, value)` pairs in stored order.
///
/// The whole trie is validated, including nodes that hold no values.
pub fn read_all(bytes: &[u8]) -> Result<Vec<ReadEntry>, ReadError> {
    let root = header(bytes)?;
    let mut entries = Vec::new();
    let mut visited = HashSet::new();
    // Depth-first, children pushed in reverse so the smallest character comes out first:
    // a key is always emitted before its extensions, which is byte order.
    let mut stack: Vec<(u32, Vec<u8>)> = vec![(root, Vec::new())];
    while let Some((reference, mut key)) = stack.pop() {
        let (offset, node) = parse_node(bytes, reference)?;
        if !visited.insert(offset) {
            return Err(ReadError::Cycle(offset));
        }
        key.extend_from_slice(node.prefix);
        if key.len() > MAX_KEY_LEN {
            return Err(ReadError::KeyTooLong);
        }
        if let Some((first, _)) = node.children {
            for i in (0..node.child_count()).rev() {
                let child = node.child_ref(i).unwrap_or(0);
                if child != 0 {
                    let mut child_key = key.clone();
                    // `first + i` fits: the range came from two u8s.
                    child_key.push(first.wrapping_add(i as u8));
                    stack.push((child, child_key));
                }
            }
        }
        if let Some(values) = node.values {
            entries.push((key, values));
        }
    }
    Ok(entries)
}

/// Looks up one key (exact match, no wildcards) and returns its `(priority, value)` pairs
/// in stored order; an absent key gives an empty list.
pub fn lookup(bytes: &[u8], key: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, ReadError> {
    let mut reference = header(bytes)?;
    let mut i = 0usize;
    // Every step down consumes at least one key byte, so this loop is bounded.
    loop {
        let (_, node) = parse_node(bytes, reference)?;
        let Some(rest) = key.get(i..) else {
            return Ok(Vec::new());
        };
        if !rest.starts_with(node.prefix) {
            return Ok(Vec::new());
        }
        i += node.prefix.len();
        let Some(&ch) = key.get(i) else {
            return Ok(node.values.unwrap_or_default());
        };
        let child = match node.children {
            Some((first, _)) if ch >= first => node.child_ref(usize::from(ch - first)).unwrap_or(0),
            _ => 0,
        };
        if child == 0 {
            return Ok(Vec::new());
        }
        reference = child;
        i += 1;
    }
}
