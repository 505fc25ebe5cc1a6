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
    /// Builds a location from a span in `text`.
    pub fn new(file: FileId, text: &str, span: miette::SourceSpan) -> Loc {
        let offset = span.offset().min(text.len());
        let line = text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Loc {
            file,
            offset,
            len: span.len(),
            line,
        }
    }

    /// The span for `miette` labels.
    pub fn span(&self) -> miette::SourceSpan {
        (self.offset, self.len).into()
    }
}
