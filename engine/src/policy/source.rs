//! Policy source files and locations inside them.
//!
//! Every rule remembers the file, byte span and line it came from, so that decisions and
//! diagnostics can point back into the policy ("the rule at distro.kdl:12 decided").

use std::path::PathBuf;
use std::sync::Arc;

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(pub usize);

/// One loaded policy file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given (or as resolved from an `include`).
    pub path: PathBuf,
    /// The text.
    pub text: Arc<String>,
    /// Whether the text came from memory (the built-in policy), not from a file at
    /// `path`.
    pub in_memory: bool,
}

/// Every policy file loaded, in load order.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The files.
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile {
            path,
            text: Arc::new(text),
            in_memory: false,
        });
        FileId(self.files.len() - 1)
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    /// A `miette` source for the file, for rendering labels.
    pub fn named(&self, id: FileId) -> miette::NamedSource<Arc<String>> {
        let f = self.get(id);
        miette::NamedSource::new(f.path.display().to_string(), f.text.clone())
    }
}

/// A place in a policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The file.
    pub file: FileId,
    /// Byte offset.
    pub offset: usize,
    /// Byte length.
    pub len: usize,
    /// 1-based line of `offset`.
    pub line: usize,
}

impl Loc {
    /// Builds a location from a span in `text`, counting lines from the start (linear in
    /// the offset: for one location; many locations in one text use a [`LineIndex`]).
    pub fn new(file: FileId, text: &str, span: miette::SourceSpan) -> Loc {
        LineIndex::of_bytes(&text.as_bytes()[..span.offset().min(text.len())]).loc(file, span)
    }

    /// The span for `miette` labels.
    pub fn span(&self) -> miette::SourceSpan {
        (self.offset, self.len).into()
    }
}

/// The start of every line of a text, so that the line of an offset is a binary search:
/// a policy of `n` rules makes `O(n)` locations, and counting newlines from the start for
/// each was quadratic (20,000 rules took 29 s to load).
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Offset of the byte after each `\n`, in order.
    starts: Vec<usize>,
    /// The text's length.
    len: usize,
}

impl LineIndex {
    /// Indexes `text` (one pass).
    pub fn new(text: &str) -> LineIndex {
        Self::of_bytes(text.as_bytes())
    }

    fn of_bytes(text: &[u8]) -> LineIndex {
        let starts = text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// The 1-based line of `offset` (clamped to the text).
    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        self.starts.partition_point(|&s| s <= offset) + 1
    }

    /// A location from a span in the indexed text.
    pub fn loc(&self, file: FileId, span: miette::SourceSpan) -> Loc {
        let offset = span.offset().min(self.len);
        Loc {
            file,
            offset,
            len: span.len(),
            line: self.line(offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_agrees_with_counting() {
        let text = "a\nbc\n\nd";
        let ix = LineIndex::new(text);
        for off in 0..=text.len() + 2 {
            let counted = text.as_bytes()[..off.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            assert_eq!(ix.line(off), counted, "offset {off}");
        }
        assert_eq!(Loc::new(FileId(0), text, (5, 1).into()).line, 3);
    }
}
