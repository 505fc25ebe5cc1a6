//! Symbol and module patterns.
//!
//! Patterns are shell wildcards (`*`, `?`, `[...]`), matched against the whole name. A
//! module pattern containing `/` matches the module's path relative to the module
//! directory (e.g. `updates/*`); otherwise it matches the module name, with `-` and `_`
//! treated alike (kernel module names fold `-` to `_`).

use globset::{Glob, GlobBuilder, GlobMatcher};
use std::sync::OnceLock;

/// A checked pattern, keeping its text for messages and lints.
///
/// Most patterns are a literal name, `prefix*`, `*suffix` or `*`: those are matched
/// directly. Others are compiled to a matcher on first use (a regular expression costs
/// tens of microseconds and kilobytes; a policy of 100,000 rules mostly never needs one).
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    glob: Glob,
    simple: Option<Simple>,
    matcher: OnceLock<GlobMatcher>,
    by_path: bool,
}

/// A pattern matched without a regular expression.
#[derive(Debug, Clone)]
enum Simple {
    /// The whole name.
    Literal(String),
    /// `lit*`.
    Prefix(String),
    /// `*lit`.
    Suffix(String),
    /// `*`.
    Any,
}

impl Simple {
    /// Recognises the simple forms of `text`; `None` for anything else.
    fn of(text: &str) -> Option<Simple> {
        let special = |s: &str| s.contains(['*', '?', '[', ']', '{', '}', '\\']);
        if text == "*" {
            Some(Simple::Any)
        } else if !special(text) {
            Some(Simple::Literal(text.to_string()))
        } else if let Some(p) = text.strip_suffix('*').filter(|p| !special(p)) {
            Some(Simple::Prefix(p.to_string()))
        } else {
            text.strip_prefix('*')
                .filter(|p| !special(p))
                .map(|p| Simple::Suffix(p.to_string()))
        }
    }

    /// Matches `name`; with `by_path`, a `*` does not match `/`.
    fn matches(&self, name: &str, by_path: bool) -> bool {
        let star_ok = |s: &str| !by_path || !s.contains('/');
        match self {
            Simple::Literal(l) => name == l,
            Simple::Prefix(p) => name.strip_prefix(p.as_str()).is_some_and(star_ok),
            Simple::Suffix(x) => name.strip_suffix(x.as_str()).is_some_and(star_ok),
            Simple::Any => star_ok(name),
        }
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Module names fold `-` to `_`; so must a name pattern, except inside `[...]`, where
/// `-` forms a range (`[a-c]`).
fn fold_dashes_outside_brackets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_set = false;
    let mut prev_open = false;
    for c in text.chars() {
        match c {
            '[' if !in_set => {
                in_set = true;
                prev_open = true;
                out.push(c);
                continue;
            }
            ']' if in_set && !prev_open => in_set = false,
            '-' if !in_set => {
                out.push('_');
                prev_open = false;
                continue;
            }
            _ => {}
        }
        prev_open = false;
        out.push(c);
    }
    out
}

impl Pattern {
    /// Compiles a symbol pattern.
    pub fn symbol(text: &str) -> Result<Pattern, String> {
        Self::build(text, false)
    }

    /// Compiles a module pattern.
    pub fn module(text: &str) -> Result<Pattern, String> {
        let by_path = text.contains('/');
        let norm = if by_path {
            text.to_string()
        } else {
            fold_dashes_outside_brackets(text)
        };
        let mut p = Self::build(&norm, by_path)?;
        p.text = text.to_string();
        Ok(p)
    }

    fn build(text: &str, by_path: bool) -> Result<Pattern, String> {
        let g = GlobBuilder::new(text)
            .literal_separator(by_path)
            .backslash_escape(true)
            .build()
            .map_err(|e| e.kind().to_string())?;
        Ok(Pattern {
            text: text.to_string(),
            simple: Simple::of(text),
            glob: g,
            matcher: OnceLock::new(),
            by_path,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this pattern matches every name (`*`).
    pub fn is_catch_all(&self) -> bool {
        self.text == "*"
    }

    fn is_match(&self, name: &str) -> bool {
        match &self.simple {
            Some(s) => s.matches(name, self.by_path),
            None => self
                .matcher
                .get_or_init(|| self.glob.compile_matcher())
                .is_match(name),
        }
    }

    /// Matches a symbol name.
    pub fn matches_symbol(&self, name: &str) -> bool {
        self.is_match(name)
    }

    /// Matches a module, given its normalised name and its path relative to the module
    /// directory (or its absolute path for external modules).
    pub fn matches_module(&self, name: &str, path: &str) -> bool {
        if self.by_path {
            self.is_match(path)
        } else {
            self.is_match(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct matching of simple patterns agrees with the compiled matcher.
    #[test]
    fn simple_forms_match_as_globs() {
        let names = [
            "",
            "a",
            "ab",
            "abc",
            "xabc",
            "a/b",
            "updates/x.ko",
            "updates/a/x.ko",
            "dup_fn",
            "kernel/drivers/dup/dupa.ko",
        ];
        for text in [
            "*",
            "a",
            "ab",
            "a*",
            "*c",
            "*abc",
            "updates/*",
            "*.ko",
            "dup_fn",
            "kernel/*",
        ] {
            for by_path in [false, true] {
                let p = Pattern::build(text, by_path).unwrap();
                assert!(p.simple.is_some(), "{text}");
                let m = p.glob.compile_matcher();
                for n in names {
                    assert_eq!(p.is_match(n), m.is_match(n), "{text} {by_path} {n}");
                }
            }
        }
        assert!(Pattern::build("a?c", false).unwrap().simple.is_none());
    }

    #[test]
    fn symbols() {
        let p = Pattern::symbol("dup_*").unwrap();
        assert!(p.matches_symbol("dup_shared_fn") && !p.matches_symbol("xdup_"));
        assert!(Pattern::symbol("a[").is_err());
    }

    #[test]
    fn ranges_in_module_patterns_are_kept() {
        let p = Pattern::module("dup[a-c]").unwrap();
        assert!(p.matches_module("dupb", "x/dupb.ko") && !p.matches_module("dupd", "x/dupd.ko"));
        assert!(Pattern::module("[z-a]").is_err());
        assert!(Pattern::module("snd-[a-z]*")
            .unwrap()
            .matches_module("snd_hda", "x"));
    }

    #[test]
    fn modules_fold_dashes_and_match_paths() {
        let p = Pattern::module("intel-uncore*").unwrap();
        assert!(p.matches_module(
            "intel_uncore_frequency",
            "kernel/x/intel-uncore-frequency.ko"
        ));
        let p = Pattern::module("updates/*").unwrap();
        assert!(p.matches_module("x", "updates/x.ko") && !p.matches_module("x", "updates/a/x.ko"));
        let p = Pattern::module("updates/**").unwrap();
        assert!(p.matches_module("x", "updates/a/x.ko"));
    }
}
