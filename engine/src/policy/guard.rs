//! A linear-time recognizer of KDL v2 structure, run on every policy file before the `kdl`
//! crate parses it.
//!
//! Why it exists: `kdl` 6.7.1 (a winnow parser with error recovery) is unsafe on hostile
//! text. It recurses once per nested `{`, per nested `/*`, per piece of a block comment
//! and per link of a chain of slashdashed arguments, so a few kilobytes (`{` 1600 times,
//! `/*` 4000 times, `a=` 8000 times) overflow the stack and abort the process; its error
//! recovery also recurses once per place where it resumes after a mistake, takes
//! exponential time on `"a /-{\n"` repeated (kdl-org/kdl-rs#177: 132 bytes, 78 seconds)
//! and quadratic time on `"` repeated; and even on valid text it reads slashdashed blocks
//! twice, which nested is exponential (see [`MAX_WORK_PER_BYTE`]).
//!
//! So this module decides, in one pass with counters and a bounded stack of open blocks
//! (nothing here recurses), whether `kdl` 6.7.1 accepts a document, and rejects it with
//! one [`SyntaxError`] (the first mistake) if not: `kdl` never runs its error recovery.
//! It checks what `kdl` checks, quirks included: where every token begins and ends
//! (nodes, terminators, type annotations, arguments, properties, children blocks,
//! slashdashes, line continuations, comments, every kind of string, keywords, numbers,
//! newlines, spaces, disallowed code points), the indentation of multi-line strings and
//! the range of numbers (whose mistakes `kdl` also recovers from by resuming elsewhere). It
//! was compared with `kdl` on `kdl`'s compliance suite and by differential fuzzing
//! (`fuzz/fuzz_targets/policy_guard.rs`).
//!
//! What it must not do: reject a document `kdl` accepts, except past the limits
//! ([`MAX_NESTING`], [`MAX_COMMENT_PIECES`], [`MAX_WORK_PER_BYTE`]), which keep `kdl`
//! within about 2 MiB of stack and a small multiple of a plain parse's time. It does not
//! build a tree: `kdl` does that, once the guard has let the text through.

/// How deep children blocks (`{ }`), block comments (`/* */`) and chains of slashdashed
/// arguments (`/- /- a b c`) may nest. Deeper is an error, whatever `kdl` would say.
pub const MAX_NESTING: usize = 64;

/// How many pieces one block comment may have: `kdl` recurses once per `*` and `/` that
/// does not open or close a comment, per run of other text and per nested comment.
pub const MAX_COMMENT_PIECES: usize = 2048;

/// How much work, per byte of the document, `kdl` may do beyond [`MAX_WORK_EXTRA`].
///
/// `kdl` reads some text more than once: a slashdashed children block not followed by the
/// node's children block (`a /-{ ... }`), and the slashdashed nodes after the last node of
/// a block that ends with a terminator (`a; /-b { ... }`). Nested, that is exponential: 22
/// levels of `x`, newline, `/-a {`, newline take a minute. The guard counts each byte
/// once, times two for each slashdashed node and slashdashed children block around it
/// (wherever they are: an over-estimate), and rejects a document above the budget.
pub const MAX_WORK_PER_BYTE: u64 = 4;

/// The work allowed on top of [`MAX_WORK_PER_BYTE`] per byte (about a second of `kdl`).
pub const MAX_WORK_EXTRA: u64 = 1 << 20;

/// The work to read `bytes` bytes `2^shift` times.
fn weighted(bytes: usize, shift: u32) -> u64 {
    (bytes as u64).saturating_mul(1u64.checked_shl(shift).unwrap_or(u64::MAX))
}

/// The first mistake in a KDL document, or the first limit it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset of the span (on a character boundary, at most the text's length).
    pub offset: usize,
    /// Byte length of the span (it ends on a character boundary, within the text).
    pub len: usize,
    /// What is wrong.
    pub message: String,
    /// The label at the span.
    pub label: String,
    /// A hint.
    pub help: Option<String>,
}

/// Checks that `kdl` 6.7.1 accepts `text` as a KDL v2 document, within the limits of this
/// module. `Err` is the first mistake, or the first limit passed.
pub fn check(text: &str) -> Result<(), SyntaxError> {
    Guard {
        text,
        b: text.as_bytes(),
        pos: 0,
        keyword_start: 0,
    }
    .document()
}

/// Code points that may not appear literally outside comments (a leading BOM aside).
/// U+007F is on the specification's list but `kdl` 6.7.1 accepts it, so it is not here.
fn is_disallowed(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}'
        | '\u{E}'..='\u{1F}'
        | '\u{200E}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

/// KDL's `unicode-space`.
fn is_unicode_space(c: char) -> bool {
    matches!(
        c,
        '\t' | ' ' | '\u{A0}' | '\u{1680}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    ) || ('\u{2000}'..='\u{200A}').contains(&c)
}

/// KDL's `newline` characters (CRLF is one newline).
fn is_newline(c: char) -> bool {
    matches!(
        c,
        '\r' | '\n' | '\u{85}' | '\u{B}' | '\u{C}' | '\u{2028}' | '\u{2029}'
    )
}

/// KDL's `identifier-char`.
fn is_ident_char(c: char) -> bool {
    !(is_unicode_space(c)
        || is_newline(c)
        || is_disallowed(c)
        || matches!(
            c,
            '\\' | '/' | '(' | ')' | '{' | '}' | '[' | ']' | ';' | '"' | '#' | '='
        ))
}

/// What a value token was, for the rules that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Any kind of string: may name a node, a type or a property.
    Str,
    /// A number, or a string with a type annotation.
    Other,
    /// `#true` and the like: `kdl` does not check what follows one.
    Keyword,
}

/// The node whose entries or children are being read.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// It is commented out (`/-` before its name).
    slashdashed: bool,
    /// It has had its (one) children block.
    had_children: bool,
}

/// An open children block.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Offset of its `{`.
    open: usize,
    /// The node it belongs to.
    node: Node,
    /// It is the node's children block (not a slashdashed one).
    real: bool,
    /// `trailing` of the level around it.
    trailing: bool,
    /// How many times `kdl` may read its content, as a power of two.
    shift: u32,
}

/// Where the main loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between nodes (at the start, after a terminator, after `{`).
    Nodes,
    /// After a node's name or one of its entries.
    Entries,
    /// After a node's children block (or a slashdashed one).
    AfterChildren,
}

type Res<T> = Result<T, SyntaxError>;

struct Guard<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Where the last keyword read starts.
    keyword_start: usize,
}

impl Guard<'_> {
    // ---- characters ---------------------------------------------------------------------

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn char_at(&self, at: usize) -> Option<char> {
        self.text.get(at..).and_then(|s| s.chars().next())
    }

    fn peek(&self) -> Option<char> {
        self.char_at(self.pos)
    }

    fn starts_with(&self, s: &str) -> bool {
        self.b[self.pos.min(self.b.len())..].starts_with(s.as_bytes())
    }

    /// The length of the newline at `at`, or 0.
    fn newline_len(&self, at: usize) -> usize {
        match self.b.get(at) {
            Some(b'\r') if self.b.get(at + 1) == Some(&b'\n') => 2,
            Some(b'\r' | b'\n' | 0x0B | 0x0C) => 1,
            Some(&c) if c >= 0x80 => match self.char_at(at) {
                Some(c) if is_newline(c) => c.len_utf8(),
                _ => 0,
            },
            _ => 0,
        }
    }

    /// The length of the unicode space at `at`, or 0.
    fn space_len(&self, at: usize) -> usize {
        match self.b.get(at) {
            Some(b' ' | b'\t') => 1,
            Some(&c) if c >= 0x80 => match self.char_at(at) {
                Some(c) if is_unicode_space(c) => c.len_utf8(),
                _ => 0,
            },
            _ => 0,
        }
    }

    fn ident_char_at(&self, at: usize) -> Option<char> {
        self.char_at(at).filter(|&c| is_ident_char(c))
    }

    // ---- errors -------------------------------------------------------------------------

    fn err(
        &self,
        offset: usize,
        len: usize,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<&str>,
    ) -> SyntaxError {
        let offset = offset.min(self.b.len());
        SyntaxError {
            offset,
            len: len.min(self.b.len() - offset),
            message: message.into(),
            label: label.into(),
            help: help.map(str::to_string),
        }
    }

    /// The length of the character at `at` (0 at the end).
    fn char_len(&self, at: usize) -> usize {
        self.char_at(at).map_or(0, char::len_utf8)
    }

    /// An error for the character at the current position, which `wanted` does not allow.
    fn unexpected(&self, wanted: &str) -> SyntaxError {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return self.err(
                at,
                0,
                format!("unexpected end of file: {wanted}"),
                "here",
                None,
            );
        };
        let len = c.len_utf8();
        if c == '\u{FEFF}' {
            return self.err(
                at,
                len,
                "byte order mark U+FEFF after the start of the file",
                "disallowed character",
                Some("a byte order mark is only allowed as the very first character"),
            );
        }
        if is_disallowed(c) {
            return self.err(
                at,
                len,
                format!("disallowed character U+{:04X}", c as u32),
                "disallowed character",
                Some("control and text-direction characters may only appear in comments, or escaped in a quoted string"),
            );
        }
        let shown = if c.is_control() {
            format!("U+{:04X}", c as u32)
        } else {
            format!("`{c}`")
        };
        self.err(
            at,
            len,
            format!("unexpected {shown}: {wanted}"),
            "unexpected",
            None,
        )
    }

    /// Fails unless the previous token is followed by something that may end a value.
    fn after_token(&self) -> Res<()> {
        let at = self.pos;
        match self.b.get(at) {
            None | Some(b'=' | b')' | b'{' | b'}' | b';' | b'\\') => Ok(()),
            Some(b'/') if matches!(self.b.get(at + 1), Some(b'*' | b'/')) => Ok(()),
            _ if self.newline_len(at) > 0 || self.space_len(at) > 0 => Ok(()),
            _ => Err(self.unexpected("expected a space, `;` or a newline before it")),
        }
    }

    // ---- whitespace and comments ----------------------------------------------------------

    /// `/* ... */`, nested, at the current position.
    fn block_comment(&mut self) -> Res<()> {
        let start = self.pos;
        // Offsets of the open comments, and the pieces of each so far.
        let mut opens: Vec<usize> = vec![start];
        let mut pieces: Vec<usize> = vec![0];
        let mut total = 0usize;
        self.pos += 2;
        loop {
            if self.at_end() {
                let open = *opens.last().unwrap_or(&start);
                return Err(self.err(
                    open,
                    2,
                    "unclosed block comment",
                    "comment starts here",
                    Some("close it with `*/` (block comments nest: each `/*` needs its own `*/`)"),
                ));
            }
            if self.starts_with("*/") {
                self.pos += 2;
                total -= pieces.pop().unwrap_or(0);
                opens.pop();
                match pieces.last_mut() {
                    None => return Ok(()),
                    // The closed comment is one piece of the one around it.
                    Some(p) => *p += 1,
                }
            } else if self.starts_with("/*") {
                if opens.len() >= MAX_NESTING {
                    return Err(self.err(
                        self.pos,
                        2,
                        format!("block comments nest deeper than {MAX_NESTING} levels"),
                        "too deep",
                        None,
                    ));
                }
                opens.push(self.pos);
                pieces.push(0);
                self.pos += 2;
                continue;
            } else if matches!(self.b[self.pos], b'*' | b'/') {
                self.pos += 1;
                if let Some(p) = pieces.last_mut() {
                    *p += 1;
                }
            } else {
                let rest = &self.b[self.pos..];
                self.pos += memchr::memchr2(b'*', b'/', rest).unwrap_or(rest.len());
                if let Some(p) = pieces.last_mut() {
                    *p += 1;
                }
            }
            total += 1;
            if total > MAX_COMMENT_PIECES {
                return Err(self.err(
                    start,
                    2,
                    format!("block comment has more than {MAX_COMMENT_PIECES} pieces (`*`, `/` and runs of other text)"),
                    "this comment",
                    Some("use `//` line comments for long or decorated comments, and `/-` to comment out nodes"),
                ));
            }
        }
    }

    /// `//` to the end of the line (the newline included).
    fn line_comment(&mut self) {
        self.pos += 2;
        while !self.at_end() {
            let n = self.newline_len(self.pos);
            if n > 0 {
                self.pos += n;
                return;
            }
            self.pos += self.char_len(self.pos);
        }
    }

    /// `ws*`: unicode spaces and block comments.
    fn ws(&mut self) -> Res<()> {
        loop {
            let n = self.space_len(self.pos);
            if n > 0 {
                self.pos += n;
            } else if self.starts_with("/*") {
                self.block_comment()?;
            } else {
                return Ok(());
            }
        }
    }

    /// A line continuation at a `\`: `\ ws* (single-line-comment | newline | eof) ws*`.
    fn escline(&mut self) -> Res<()> {
        let start = self.pos;
        self.pos += 1;
        self.ws()?;
        if self.starts_with("//") {
            self.line_comment();
        } else if self.newline_len(self.pos) > 0 {
            self.pos += self.newline_len(self.pos);
        } else if !self.at_end() {
            return Err(self.err(
                start,
                1,
                "`\\` outside a string must end its line",
                "line continuation",
                Some("after `\\` only spaces and a comment may follow on the line"),
            ));
        }
        self.ws()
    }

    /// `node-space*`: spaces, block comments and line continuations. True if any.
    fn node_space(&mut self) -> Res<bool> {
        let start = self.pos;
        loop {
            self.ws()?;
            if self.b.get(self.pos) == Some(&b'\\') {
                self.escline()?;
            } else {
                return Ok(self.pos > start);
            }
        }
    }

    /// `line-space*`: node space, newlines and single-line comments.
    fn line_space(&mut self) -> Res<()> {
        loop {
            self.node_space()?;
            let n = self.newline_len(self.pos);
            if n > 0 {
                self.pos += n;
            } else if self.starts_with("//") {
                self.line_comment();
            } else {
                return Ok(());
            }
        }
    }

    // ---- strings, numbers, keywords -----------------------------------------------------------

    fn unterminated(&self, start: usize, len: usize) -> SyntaxError {
        self.err(
            start,
            len,
            "unterminated string",
            "string starts here",
            Some("close it with the same quotes it opens with"),
        )
    }

    /// An escape in a quoted string, at its `\`. True if it was whitespace (`\` followed by
    /// spaces and newlines), which adds nothing to the string.
    fn escape(&mut self, string_start: usize, quote_len: usize) -> Res<bool> {
        let start = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.unterminated(string_start, quote_len));
        };
        match c {
            '"' | '\\' | 'b' | 'f' | 'n' | 'r' | 't' | 's' => {
                self.pos += 1;
                Ok(false)
            }
            'u' => {
                self.pos += 1;
                let bad = |g: &Self| {
                    g.err(
                        start,
                        g.pos - start,
                        "invalid unicode escape",
                        "not a unicode scalar value",
                        Some("write `\\u{` and 1 to 6 hex digits naming a character (not a surrogate, at most 10FFFF), then `}`"),
                    )
                };
                if self.b.get(self.pos) != Some(&b'{') {
                    return Err(bad(self));
                }
                self.pos += 1;
                let digits = self.pos;
                while self.pos - digits < 6
                    && self.b.get(self.pos).is_some_and(u8::is_ascii_hexdigit)
                {
                    self.pos += 1;
                }
                let hex = &self.text[digits..self.pos];
                let ok = !hex.is_empty()
                    && self.b.get(self.pos) == Some(&b'}')
                    && u32::from_str_radix(hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .is_some();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                }
                if ok {
                    Ok(false)
                } else {
                    Err(bad(self))
                }
            }
            c if is_unicode_space(c) || is_newline(c) => {
                loop {
                    let n = self.space_len(self.pos).max(self.newline_len(self.pos));
                    if n == 0 {
                        return Ok(true);
                    }
                    self.pos += n;
                }
            }
            c => Err(self.err(
                start,
                1 + c.len_utf8(),
                format!("invalid escape `\\{c}` in a string"),
                "invalid escape",
                Some("escapes are \\\" \\\\ \\b \\f \\n \\r \\t \\s and \\u{...}; a `\\` before whitespace skips it"),
            )),
        }
    }

    /// An error for a disallowed character inside a string, if `c` is one.
    fn check_string_char(&self, c: char) -> Res<()> {
        if is_disallowed(c) {
            return Err(self.err(
                self.pos,
                c.len_utf8(),
                format!("disallowed character U+{:04X} in a string", c as u32),
                "disallowed character",
                Some("write it as an escape, `\\u{...}`, in a quoted string"),
            ));
        }
        Ok(())
    }

    /// The closing `"""` of a multi-line string is not alone on its line.
    fn not_own_line(&self, at: usize) -> SyntaxError {
        self.err(
            at,
            3,
            "the closing `\"\"\"` of a multi-line string must be on its own line",
            "text before it on its line",
            Some("put the closing quotes on a line of their own, indented like the text"),
        )
    }

    /// A quoted string (`"..."` or `"""` newline ... `"""`) at its first `"`.
    fn quoted_string(&mut self) -> Res<()> {
        let start = self.pos;
        if self.starts_with("\"\"\"") {
            self.pos += 3;
            let n = self.newline_len(self.pos);
            if n == 0 {
                return Err(self.err(
                    start,
                    3,
                    "`\"\"\"` must be followed by a newline",
                    "multi-line string opens here",
                    Some("a multi-line string starts on the line after its `\"\"\"`; a one-line string is \"...\""),
                ));
            }
            self.pos += n;
            return self.multi_line_body(start, 3, None);
        }
        self.pos += 1;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.unterminated(start, 1));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(());
                }
                '\\' => {
                    self.escape(start, 1)?;
                }
                c if is_newline(c) => {
                    return Err(self.err(
                        self.pos,
                        self.newline_len(self.pos),
                        "newline in a single-line string",
                        "newline",
                        Some("close the string on this line, escape the newline with `\\`, or use a multi-line string: `\"\"\"`, a newline, the text, `\"\"\"` on a line of its own"),
                    ));
                }
                c => {
                    self.check_string_char(c)?;
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// The body of a multi-line string (quoted, or raw with `raw` hashes), from the line
    /// after its opening quotes to its closing quotes (consumed). The string starts at
    /// `start` with `open_len` bytes of quotes.
    ///
    /// Like `kdl`, every line with text (anything but unicode spaces) must start with the
    /// whitespace before the closing quotes, exactly: `kdl`'s recovery from a badly
    /// indented line is one of the paths that overflow its stack.
    fn multi_line_body(&mut self, start: usize, open_len: usize, raw: Option<usize>) -> Res<()> {
        let body = self.pos;
        let closing_line = self.multi_line_lines(start, open_len, raw, None)?;
        let end = self.pos;
        let text = self.text;
        let indent = text[closing_line..]
            .chars()
            .take_while(|&c| is_unicode_space(c))
            .map(char::len_utf8)
            .sum::<usize>();
        let prefix = &text[closing_line..closing_line + indent];
        if indent > 0 {
            self.pos = body;
            self.multi_line_lines(start, open_len, raw, Some(prefix))?;
            debug_assert_eq!(self.pos, end);
        }
        // `kdl` refuses a raw string whose value is `"`, multi-line ones too: one line,
        // the indentation, `"`.
        let lone_quote = text[body..closing_line]
            .strip_prefix(prefix)
            .and_then(|l| l.strip_prefix('"'))
            .is_some_and(|nl| {
                !nl.is_empty() && nl.len() == self.newline_len(closing_line - nl.len())
            });
        if raw.is_some() && lone_quote {
            return Err(self.lone_quote(start, end));
        }
        Ok(())
    }

    /// The raw string from `start` to `end` is just `"`.
    fn lone_quote(&self, start: usize, end: usize) -> SyntaxError {
        self.err(
            start,
            end - start,
            "a raw string cannot be just `\"`",
            "looks like the start of a multi-line string",
            Some("write a lone quote as \"\\\"\""),
        )
    }

    /// One pass over a multi-line string's lines (see [`Guard::multi_line_body`]); with
    /// `prefix`, checks the indentation of every line with text. Returns the offset of the
    /// line of the closing quotes. A line ends at a newline that is not part of a
    /// whitespace escape (`\` followed by spaces and newlines).
    fn multi_line_lines(
        &mut self,
        start: usize,
        open_len: usize,
        raw: Option<usize>,
        prefix: Option<&str>,
    ) -> Res<usize> {
        let mut line_start = self.pos;
        // Only unicode spaces so far on this line.
        let mut blank = true;
        // Text other than spaces and whitespace escapes on this line.
        let mut text_on_line = false;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.unterminated(start, open_len));
            };
            let closing = self.starts_with("\"\"\"")
                && raw.is_none_or(|h| self.raw_close_at(self.pos + 2, h));
            if closing {
                if text_on_line {
                    return Err(self.not_own_line(self.pos));
                }
                self.pos += 3 + raw.unwrap_or(0);
                return Ok(line_start);
            }
            let n = self.newline_len(self.pos);
            if n > 0 {
                if let Some(p) = prefix {
                    if !blank && !self.text[line_start..].starts_with(p) {
                        return Err(self.bad_indent(line_start));
                    }
                }
                self.pos += n;
                (line_start, blank, text_on_line) = (self.pos, true, false);
            } else if is_unicode_space(c) {
                self.pos += c.len_utf8();
            } else if c == '\\' && raw.is_none() {
                let ws = self.escape(start, open_len)?;
                text_on_line |= !ws;
                blank = false;
            } else {
                self.check_string_char(c)?;
                self.pos += c.len_utf8();
                (blank, text_on_line) = (false, true);
            }
        }
    }

    /// The line at `line_start` does not start with the closing line's indentation.
    fn bad_indent(&self, line_start: usize) -> SyntaxError {
        let ws = self.text[line_start..]
            .chars()
            .take_while(|&c| is_unicode_space(c))
            .map(char::len_utf8)
            .sum::<usize>();
        let len = if ws > 0 {
            ws
        } else {
            self.char_len(line_start)
        };
        self.err(
            line_start,
            len,
            "this line of a multi-line string is not indented like its closing quotes",
            "indentation differs",
            Some("every line with text starts with exactly the whitespace (same spaces and tabs) that precedes the closing `\"\"\"`"),
        )
    }

    /// The number of `#` at the current position.
    fn hashes(&self) -> usize {
        self.b[self.pos..]
            .iter()
            .take_while(|&&b| b == b'#')
            .count()
    }

    /// True if `"` followed by `hashes` `#` is at `at`.
    fn raw_close_at(&self, at: usize, hashes: usize) -> bool {
        self.b.get(at) == Some(&b'"')
            && self.b.len() >= at + 1 + hashes
            && self.b[at + 1..at + 1 + hashes].iter().all(|&b| b == b'#')
    }

    /// A raw string (`#"..."#`, `##"..."##`, `#"""` newline ... `"""#`) at its first `#`,
    /// which is known to be followed by `#`s and a `"`.
    fn raw_string(&mut self) -> Res<()> {
        let start = self.pos;
        let hashes = self.hashes();
        self.pos += hashes;
        let open_len = hashes + 1;
        if self.starts_with("\"\"\"") && self.newline_len(self.pos + 3) > 0 {
            self.pos += 3;
            self.pos += self.newline_len(self.pos);
            return self.multi_line_body(start, open_len + 2, Some(hashes));
        }
        self.pos += 1;
        let body = self.pos;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.unterminated(start, open_len));
            };
            if self.raw_close_at(self.pos, hashes) {
                if &self.text[body..self.pos] == "\"" {
                    return Err(self.lone_quote(start, self.pos + 1 + hashes));
                }
                self.pos += 1 + hashes;
                return Ok(());
            }
            if is_newline(c) {
                return Err(self.err(
                    self.pos,
                    self.newline_len(self.pos),
                    "newline in a single-line raw string",
                    "newline",
                    Some("close the string on this line, or use a multi-line raw string: `#\"\"\"`, a newline, the text, `\"\"\"#` on a line of its own"),
                ));
            }
            self.check_string_char(c)?;
            self.pos += c.len_utf8();
        }
    }

    /// `#true`, `#false`, `#null`, `#inf`, `#-inf`, `#nan`, at the `#`.
    /// Like `kdl`, this reads the longest keyword the text starts with and stops there:
    /// in `#truex`, `x` is what follows the keyword.
    fn keyword(&mut self) -> Res<()> {
        let start = self.pos;
        self.keyword_start = start;
        let rest = &self.text[start + 1..];
        match ["true", "false", "null", "nan", "inf", "-inf"]
            .iter()
            .find(|k| rest.starts_with(*k))
        {
            Some(k) => {
                self.pos += 1 + k.len();
                Ok(())
            }
            None => Err(self.unknown_keyword(start)),
        }
    }

    /// `#` at `start` and the identifier characters after it are not a keyword.
    fn unknown_keyword(&self, start: usize) -> SyntaxError {
        let mut end = start + 1;
        while let Some(c) = self.ident_char_at(end) {
            end += c.len_utf8();
        }
        self.err(
            start,
            end - start,
            format!("unknown keyword `{}`", &self.text[start..end]),
            "not a keyword",
            Some("the keywords are #true, #false, #null, #inf, #-inf and #nan; a string starting with `#` needs quotes"),
        )
    }

    /// A bare token (identifier string or number) at an identifier character.
    fn bare(&mut self) -> Res<Token> {
        let start = self.pos;
        while let Some(c) = self.ident_char_at(self.pos) {
            self.pos += c.len_utf8();
        }
        let tok = &self.text[start..self.pos];
        let unsigned = tok.strip_prefix(['+', '-']).unwrap_or(tok);
        let first = unsigned.as_bytes().first().copied();
        if first.is_some_and(|b| b.is_ascii_digit()) {
            match check_number(unsigned) {
                Ok(()) => {}
                Err(BadNumber::Syntax) => {
                    return Err(self.err(
                        start,
                        tok.len(),
                        format!("invalid number `{tok}`"),
                        "not a number",
                        Some("numbers look like 12, -3.5, 1.5e-3, 0x1F, 0o17 or 0b101, with `_` allowed between digits; quote a string that starts with a digit"),
                    ))
                }
                Err(BadNumber::Range) => {
                    return Err(self.err(
                        start,
                        tok.len(),
                        format!("number `{tok}` is too large"),
                        "too large",
                        Some("an integer, and each of the integer part, the fraction and the exponent of a decimal number, must fit in 128 bits (at most 170141183460469231731687303715884105727)"),
                    ))
                }
            }
            return Ok(Token::Other);
        }
        if first == Some(b'.') && unsigned.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
            return Err(self.err(
                start,
                tok.len(),
                format!("`{tok}` is neither a number nor a string"),
                "ambiguous",
                Some("write a digit before the `.` of a number (0.5), or quote the string"),
            ));
        }
        if matches!(tok, "true" | "false" | "null" | "inf" | "nan") {
            return Err(self.err(
                start,
                tok.len(),
                format!("bare `{tok}` is not allowed"),
                "keyword without `#`",
                Some(&format!(
                    "write #{tok} for the keyword, or \"{tok}\" for the string"
                )),
            ));
        }
        Ok(Token::Str)
    }

    /// A string, number or keyword at the current position, and the check of what follows
    /// it. `None` (nothing consumed) if no value starts here.
    fn value_token(&mut self) -> Res<Option<Token>> {
        let tok = match self.peek() {
            Some('"') => {
                self.quoted_string()?;
                Token::Str
            }
            Some('#') => {
                let h = self.hashes();
                if self.b.get(self.pos + h) == Some(&b'"') {
                    self.raw_string()?;
                    Token::Str
                } else if h == 1 {
                    // No check of what follows: the caller sees to it.
                    self.keyword()?;
                    return Ok(Some(Token::Keyword));
                } else {
                    return Err(self.err(
                        self.pos,
                        h,
                        "expected `\"` after the `#`s of a raw string",
                        "raw string without quotes",
                        Some("a raw string looks like #\"...\"# or ##\"...\"##"),
                    ));
                }
            }
            Some(c) if is_ident_char(c) => self.bare()?,
            _ => return Ok(None),
        };
        self.after_token()?;
        Ok(Some(tok))
    }

    /// A string where a node, type or property name is expected.
    fn name(&mut self, what: &str) -> Res<()> {
        let start = self.pos;
        match self.value_token()? {
            Some(Token::Str) => Ok(()),
            Some(Token::Other | Token::Keyword) => Err(self.err(
                start,
                self.pos - start,
                format!(
                    "{what} must be a string, found `{}`",
                    &self.text[start..self.pos]
                ),
                "not a string",
                Some("quote it to make it a string"),
            )),
            None => Err(self.unexpected(&format!("expected {what}"))),
        }
    }

    /// `(type)` at its `(`, and the node space after it.
    fn type_annotation(&mut self) -> Res<()> {
        let open = self.pos;
        self.pos += 1;
        self.node_space()?;
        self.name("a type name")?;
        self.node_space()?;
        if self.b.get(self.pos) != Some(&b')') {
            if self.at_end() || self.newline_len(self.pos) > 0 {
                return Err(self.err(
                    open,
                    1,
                    "unclosed type annotation",
                    "opened here",
                    Some("close it with `)` on the same line"),
                ));
            }
            return Err(self.unexpected("expected `)` to close the type annotation"));
        }
        self.pos += 1;
        self.node_space()?;
        Ok(())
    }

    /// A value (`(type)`? then a string, number or keyword). `None` if none starts here.
    fn value(&mut self) -> Res<Option<Token>> {
        if self.b.get(self.pos) == Some(&b'(') {
            self.type_annotation()?;
            return match self.value_token()? {
                Some(Token::Keyword) => Ok(Some(Token::Keyword)),
                Some(_) => Ok(Some(Token::Other)),
                None => Err(self.unexpected("expected a value after the type annotation")),
            };
        }
        self.value_token()
    }

    // ---- structure ------------------------------------------------------------------------

    fn children_too_deep(&self) -> SyntaxError {
        self.err(
            self.pos,
            1,
            format!("children blocks nest deeper than {MAX_NESTING} levels"),
            "too deep",
            None,
        )
    }

    fn dangling_slashdash(&self, at: usize) -> SyntaxError {
        self.err(
            at,
            2,
            "`/-` comments out nothing",
            "nothing after it to comment out",
            Some("`/-` goes right before a node, an argument, a property or a children block"),
        )
    }

    fn document(mut self) -> Res<()> {
        if self.text.starts_with('\u{FEFF}') {
            self.pos = '\u{FEFF}'.len_utf8();
        }
        let mut blocks: Vec<Block> = Vec::new();
        let mut node = Node {
            slashdashed: false,
            had_children: false,
        };
        let mut mode = Mode::Nodes;
        // In `Entries`: how many values the pending slashdashes still need (a chain
        // `/- /- a b c` reads like Polish notation: each `/-` takes one entry, and an
        // entry may itself start with `/-`), where the last `/-` is, and whether the last
        // entry may still become a property name (a string, untyped, not a value).
        let mut need = 0usize;
        let mut last_dash = 0usize;
        let mut key = false;
        // In `AfterChildren`: it was entered at the `}` of the node's children block.
        let mut after_real_block = false;
        // A node of this level ended without a terminator and a slashdashed node followed
        // (`a {} /-b`): `kdl` takes only more slashdashed nodes after that, up to the
        // level's end.
        let mut trailing = false;
        // The work `kdl` will do (see `MAX_WORK_PER_BYTE`), counted up to `mark`; the bytes
        // after it weigh `2^shift`.
        let budget = (self.b.len() as u64)
            .saturating_mul(MAX_WORK_PER_BYTE)
            .saturating_add(MAX_WORK_EXTRA);
        let (mut work, mut mark, mut shift) = (0u64, self.pos, 0u32);
        // Reported at the end, if there is no mistake: a missing `}` says more.
        let mut over_budget = None;
        loop {
            work = work.saturating_add(weighted(self.pos - mark, shift));
            mark = self.pos;
            if work > budget && over_budget.is_none() {
                over_budget = Some(self.too_much_work(&blocks));
            }
            shift = blocks.last().map_or(0, |b| b.shift)
                + u32::from(mode != Mode::Nodes && node.slashdashed);
            match mode {
                Mode::Nodes => {
                    self.line_space()?;
                    let Some(c) = self.peek() else {
                        work = work.saturating_add(weighted(self.pos - mark, shift));
                        if work > budget && over_budget.is_none() {
                            over_budget = Some(self.too_much_work(&blocks));
                        }
                        return match blocks.last() {
                            None => over_budget.map_or(Ok(()), Err),
                            Some(b) => Err(self.err(
                                b.open,
                                1,
                                "no closing `}` for this children block",
                                "opened here",
                                None,
                            )),
                        };
                    };
                    match c {
                        '}' => {
                            let Some(b) = blocks.pop() else {
                                return Err(self.err(
                                    self.pos,
                                    1,
                                    "unbalanced `}`",
                                    "no `{` to close",
                                    None,
                                ));
                            };
                            self.pos += 1;
                            node = b.node;
                            after_real_block = b.real;
                            trailing = b.trailing;
                            mode = Mode::AfterChildren;
                            continue;
                        }
                        ';' => {
                            return Err(self.err(
                                self.pos,
                                1,
                                "`;` without a node",
                                "nothing to end",
                                Some("`;` ends a node; remove it"),
                            ))
                        }
                        '{' => return Err(self.open_without_name()),
                        _ => {}
                    }
                    let mut slashdashed = false;
                    if self.starts_with("/-") {
                        let dash = self.pos;
                        self.pos += 2;
                        self.line_space()?;
                        if self.peek() == Some('{') {
                            return Err(self.open_without_name());
                        }
                        if !self.item_starts_here() {
                            return Err(self.err(
                                dash,
                                2,
                                "`/-` must be followed by a node",
                                "comments out nothing",
                                None,
                            ));
                        }
                        slashdashed = true;
                    } else if trailing {
                        return Err(self.unterminated_before(self.pos));
                    }
                    self.node_start()?;
                    node = Node {
                        slashdashed,
                        had_children: false,
                    };
                    (need, key) = (0, false);
                    mode = Mode::Entries;
                }
                Mode::Entries => {
                    self.node_space()?;
                    let at = self.pos;
                    if self.at_end() || self.peek() == Some('}') {
                        if need > 1 {
                            return Err(self.dangling_slashdash(last_dash));
                        }
                        mode = Mode::Nodes;
                        continue;
                    }
                    if self.terminator_here() {
                        if need > 1 {
                            return Err(self.dangling_slashdash(last_dash));
                        }
                        self.terminator(node)?;
                        mode = Mode::Nodes;
                        continue;
                    }
                    if self.b[at] == b'{' {
                        if need > 1 {
                            return Err(self.dangling_slashdash(last_dash));
                        }
                        node.had_children = true;
                        self.open_children(&mut blocks, node, true, &mut trailing)?;
                        mode = Mode::Nodes;
                        continue;
                    }
                    let tok = if self.b[at] == b'=' {
                        if !key {
                            return Err(self.err(
                                at,
                                1,
                                "`=` without a property name",
                                "unexpected `=`",
                                Some("a property is `name=value` after the node name, its name a string"),
                            ));
                        }
                        self.pos += 1;
                        self.node_space()?;
                        let Some(tok) = self.value()? else {
                            return Err(self.err(
                                at,
                                1,
                                "expected a value after `=`",
                                "no value",
                                Some("write the value right after `=`, on the same line"),
                            ));
                        };
                        key = false;
                        tok
                    } else if self.starts_with("/-") {
                        last_dash = at;
                        self.pos += 2;
                        self.line_space()?;
                        if self.peek() == Some('{') {
                            // Slashdashed children: the entries are over.
                            if need > 1 {
                                return Err(self.dangling_slashdash(last_dash));
                            }
                            self.open_children(&mut blocks, node, false, &mut trailing)?;
                            mode = Mode::Nodes;
                            continue;
                        }
                        if !self.starts_with("/-") && !self.item_starts_here() {
                            return Err(self.err(
                                at,
                                2,
                                "`/-` must be followed by an argument, a property or a children block",
                                "comments out nothing",
                                None,
                            ));
                        }
                        need = need.max(1) + 1;
                        if need > MAX_NESTING + 1 {
                            return Err(self.err(
                                at,
                                2,
                                format!("slashdashes (`/-`) nest deeper than {MAX_NESTING} levels"),
                                "too deep",
                                None,
                            ));
                        }
                        key = false;
                        // What it comments out follows right away (another `/-`, or an
                        // entry): no space needed.
                        continue;
                    } else if self.item_starts_here() {
                        let Some(tok) = self.value()? else {
                            return Err(self.unexpected("expected an argument or a property"));
                        };
                        // A typed string is `Other`: never a property name.
                        key = tok == Token::Str;
                        need = need.saturating_sub(1);
                        tok
                    } else {
                        return Err(self.unexpected(
                            "expected an argument, a property, `{`, `;` or a newline",
                        ));
                    };
                    if tok == Token::Keyword && !self.separator_here() {
                        // `kdl` ends the node right after a keyword that is not followed
                        // by a space: what comes next is read as after a children block
                        // (`#true/-x` slashdashes a node `x`).
                        if !node.slashdashed && self.ident_char_at(self.pos).is_some() {
                            return Err(self.unknown_keyword(self.keyword_start));
                        }
                        if need > 1 {
                            return Err(self.dangling_slashdash(last_dash));
                        }
                        after_real_block = false;
                        mode = Mode::AfterChildren;
                    }
                }
                Mode::AfterChildren => {
                    let spaced = self.node_space()?;
                    // `kdl` reads a slashdashed children block right after the `}` of the
                    // node's children, otherwise only after a space.
                    let dash_children_ok = spaced || after_real_block;
                    after_real_block = false;
                    let at = self.pos;
                    if self.at_end() || self.peek() == Some('}') {
                        mode = Mode::Nodes;
                    } else if self.terminator_here() {
                        self.terminator(node)?;
                        mode = Mode::Nodes;
                    } else if self.b[at] == b'{' {
                        if node.had_children {
                            return Err(self.err(
                                at,
                                1,
                                "a node has at most one children block",
                                "second children block",
                                Some("merge the blocks, or comment one out with `/-`"),
                            ));
                        }
                        node.had_children = true;
                        self.open_children(&mut blocks, node, true, &mut trailing)?;
                        mode = Mode::Nodes;
                    } else if self.starts_with("/-") {
                        self.pos += 2;
                        self.line_space()?;
                        if self.peek() == Some('{') {
                            if !dash_children_ok {
                                return Err(self.err(
                                    at,
                                    2,
                                    "expected a space before this `/-`",
                                    "slashdashed children block",
                                    Some("separate a slashdashed children block from what comes before it with a space"),
                                ));
                            }
                            self.open_children(&mut blocks, node, false, &mut trailing)?;
                            mode = Mode::Nodes;
                        } else if self.item_starts_here() {
                            // A slashdashed node right after the children (`kdl` takes it
                            // without a terminator).
                            if !node.slashdashed {
                                trailing = true;
                            }
                            self.node_start()?;
                            node = Node {
                                slashdashed: true,
                                had_children: false,
                            };
                            (need, key) = (0, false);
                            mode = Mode::Entries;
                        } else {
                            return Err(self.err(
                                at,
                                2,
                                "`/-` must be followed by a node or a children block",
                                "comments out nothing",
                                None,
                            ));
                        }
                    } else if node.slashdashed && self.item_starts_here() {
                        // `kdl` reads a node right after a slashdashed node's children.
                        if trailing {
                            return Err(self.unterminated_before(at));
                        }
                        self.node_start()?;
                        node = Node {
                            slashdashed: false,
                            had_children: false,
                        };
                        (need, key) = (0, false);
                        mode = Mode::Entries;
                    } else if self.item_starts_here() {
                        return Err(self.err(
                            at,
                            self.char_len(at),
                            "arguments and properties must come before the children block",
                            "after the children block",
                            Some("or end the node with `;` or a newline first"),
                        ));
                    } else {
                        return Err(
                            self.unexpected("expected `;` or a newline after the children block")
                        );
                    }
                }
            }
        }
    }

    /// A node's type annotation and name.
    fn node_start(&mut self) -> Res<()> {
        if self.b.get(self.pos) == Some(&b'(') {
            self.type_annotation()?;
        }
        self.name("a node name")
    }

    /// Whether a node or a value starts here (they start alike: a type annotation, a
    /// quote, `#` or an identifier character).
    fn item_starts_here(&self) -> bool {
        match self.peek() {
            Some('(' | '"' | '#') => true,
            Some(c) => is_ident_char(c),
            None => false,
        }
    }

    /// Whether what follows a keyword lets the node go on (a space, `{`, a terminator;
    /// `=` and `)`, which are mistakes there, are reported as such).
    fn separator_here(&self) -> bool {
        self.at_end()
            || matches!(self.b[self.pos], b'{' | b'}' | b';' | b'\\' | b'=' | b')')
            || self.starts_with("/*")
            || self.starts_with("//")
            || self.newline_len(self.pos) > 0
            || self.space_len(self.pos) > 0
    }

    fn terminator_here(&self) -> bool {
        self.b.get(self.pos) == Some(&b';')
            || self.newline_len(self.pos) > 0
            || self.starts_with("//")
    }

    /// `;`, a newline or a single-line comment ending `node`.
    fn terminator(&mut self, node: Node) -> Res<()> {
        if self.b[self.pos] == b';' {
            if node.slashdashed {
                return Err(self.err(
                    self.pos,
                    1,
                    "`;` cannot end a node commented out with `/-`",
                    "after a slashdashed node",
                    Some("end it with a newline instead"),
                ));
            }
            self.pos += 1;
        } else if self.starts_with("//") {
            self.line_comment();
        } else {
            self.pos += self.newline_len(self.pos);
        }
        Ok(())
    }

    fn too_much_work(&self, blocks: &[Block]) -> SyntaxError {
        let at = blocks.last().map_or(self.pos, |b| b.open);
        self.err(
            at,
            self.char_len(at),
            "commented-out blocks nest too deeply: the KDL parser would take too long",
            "deep inside commented-out blocks",
            Some("the KDL parser reads some commented-out (`/-`) nodes and children blocks twice, so each one nested in another doubles its work; delete deeply nested commented-out code"),
        )
    }

    /// A node at `at` follows a node that was not ended, and a slashdashed node after it.
    fn unterminated_before(&self, at: usize) -> SyntaxError {
        self.err(
            at,
            self.char_len(at),
            "expected `;` or a newline before this node",
            "node",
            Some("end the node before the `/-` on the same line with `;` or a newline"),
        )
    }

    fn open_without_name(&self) -> SyntaxError {
        self.err(
            self.pos,
            1,
            "`{` without a node name",
            "children block without a node",
            Some("a children block follows its node's name and entries, on the same line: `name { ... }`"),
        )
    }

    /// A `{` of `node` (real or slashdashed): the block is entered, and `node` is what the
    /// matching `}` returns to.
    fn open_children(
        &mut self,
        blocks: &mut Vec<Block>,
        node: Node,
        real: bool,
        trailing: &mut bool,
    ) -> Res<()> {
        if blocks.len() >= MAX_NESTING {
            return Err(self.children_too_deep());
        }
        let shift =
            blocks.last().map_or(0, |b| b.shift) + u32::from(node.slashdashed) + u32::from(!real);
        blocks.push(Block {
            open: self.pos,
            node,
            real,
            trailing: *trailing,
            shift,
        });
        *trailing = false;
        self.pos += 1;
        Ok(())
    }
}

/// What is wrong with a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadNumber {
    /// It is not KDL number syntax.
    Syntax,
    /// A run of its digits does not fit an `i128`.
    Range,
}

/// Checks KDL v2 number syntax, without a leading sign: decimal `1_000.5e-3`, `0x1F`,
/// `0o17`, `0b101` (a digit, then digits or `_`). Like `kdl`, each run of digits (the
/// integer, the fraction and the exponent of a decimal) must fit an `i128`: `kdl` reads
/// each as one.
fn check_number(s: &str) -> Result<(), BadNumber> {
    /// A digit of `radix`, then digits or `_`, whose value fits an `i128`; the rest.
    fn digits(s: &[u8], radix: u32) -> Result<&[u8], BadNumber> {
        let digit = |b: u8| char::from(b).to_digit(radix);
        if s.first().and_then(|&b| digit(b)).is_none() {
            return Err(BadNumber::Syntax);
        }
        let mut value: i128 = 0;
        let mut n = 0;
        for &b in s {
            match digit(b) {
                Some(d) => {
                    value = value
                        .checked_mul(radix.into())
                        .and_then(|v| v.checked_add(d.into()))
                        .ok_or(BadNumber::Range)?;
                }
                None if b == b'_' => {}
                None => break,
            }
            n += 1;
        }
        Ok(&s[n..])
    }
    let b = s.as_bytes();
    let radix = match b {
        [b'0', b'x' | b'X', ..] => 16,
        [b'0', b'o' | b'O', ..] => 8,
        [b'0', b'b' | b'B', ..] => 2,
        _ => 10,
    };
    let mut rest = if radix == 10 {
        digits(b, 10)?
    } else {
        digits(&b[2..], radix)?
    };
    if radix == 10 {
        if let Some(r) = rest.strip_prefix(b".") {
            rest = digits(r, 10)?;
        }
        if let Some(r) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
            let r = r
                .strip_prefix(b"+")
                .or_else(|| r.strip_prefix(b"-"))
                .unwrap_or(r);
            rest = digits(r, 10)?;
        }
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(BadNumber::Syntax)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kdl` 6.7.1's verdict, the oracle.
    fn kdl_accepts(text: &str) -> bool {
        kdl::KdlDocument::parse_v2(text).is_ok()
    }

    /// Runs `f` on a thread with room for `kdl`'s recursion at the limits (debug builds
    /// use several times the stack of release builds).
    fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(f)
            .expect("thread")
            .join()
            .expect("no panic")
    }

    /// The guard and `kdl` both accept `text`.
    #[track_caller]
    fn ok(text: &str) {
        if let Err(e) = check(text) {
            panic!("the guard rejects {text:?}: {e:?}");
        }
        assert!(kdl_accepts(text), "kdl rejects {text:?}");
    }

    /// The guard rejects `text` with `message` on `span`, and so does `kdl`.
    #[track_caller]
    fn bad(text: &str, message: &str, span: &str) {
        let e = check(text).expect_err(text);
        assert_eq!(e.message, message, "{text:?}: {e:?}");
        assert!(text.is_char_boundary(e.offset) && text.is_char_boundary(e.offset + e.len));
        assert_eq!(
            &text[e.offset..e.offset + e.len],
            span,
            "span; {text:?}: {e:?}"
        );
        assert!(!kdl_accepts(text), "kdl accepts {text:?}");
    }

    /// The guard rejects `text` (past a limit) with `message`; `kdl` is not asked.
    #[track_caller]
    fn limit(text: &str, message: &str) {
        let e = check(text).expect_err("over the limit");
        assert_eq!(e.message, message, "{e:?}");
        assert!(e.offset + e.len <= text.len());
    }

    // ---- accepted -------------------------------------------------------------------

    #[test]
    fn empty_documents_comments_and_newlines() {
        for t in [
            "",
            "\u{FEFF}",
            "\u{FEFF}a",
            "// only a comment",
            "/* block */",
            "/* outer /* inner */ still */ a",
            "/**/a/**/b/**/",
            "\n\r\n\r\u{85}\u{B}\u{C}\u{2028}\u{2029}",
            " \t\u{A0}\u{1680}\u{2000}\u{200A}\u{202F}\u{205F}\u{3000}",
            "// \u{0}\u{202E} anything goes in comments\n/* \u{1}\u{FEFF} */",
            "/- kdl-version 2\nversion 1",
        ] {
            ok(t);
        }
    }

    #[test]
    fn nodes_and_terminators() {
        for t in [
            "a",
            "a;",
            "a; b",
            "a;b;",
            "a\nb",
            "a // comment\nb",
            "a//comment",
            "a\r\nb\rc\u{85}d\u{B}e\u{C}f\u{2028}g\u{2029}h",
            "a {b}",
            "a { b; c }",
            "a {\n    b\n}\n",
            "a {b;}",
            "a{}",
            "a 1{}",
            "a \"s\"{}",
        ] {
            ok(t);
        }
    }

    #[test]
    fn names_of_every_kind() {
        for t in [
            "\"quoted name\" 1",
            "#\"raw\"# 1",
            "##\"raw \"# still\"## 1",
            "\"\"\"\n    multi\n    \"\"\" 1",
            "- + -. +. .a -a +a -.a --1 a-b",
            "-inf",
            "a\u{7F} \u{80}b é",
            "(t)a",
            "( t )a",
            "(\"t\") a",
            "(#\"t\"#)a",
            "(\\\n t)a",
            "a (t)1 (t) 2 (t)\"s\" k=(t)#true",
        ] {
            ok(t);
        }
    }

    #[test]
    fn arguments_properties_and_values() {
        for t in [
            "a 1 -2 +3 01 1_000 1_ 1.5 -1.5e10 1.5E+3 1e-3 0x1F -0X1f_ff +0o17 0O7 0b101 -0B1_0",
            "a 170141183460469231731687303715884105727 -0x7fffffffffffffffffffffffffffffff",
            "a #true #false #null #inf #-inf #nan",
            "a k=v",
            "a k = v",
            "a k\t=\tv",
            "a \"k\"=1 #\"k\"#=2 \"\"\"\n  k\n  \"\"\"=3",
            "a k=\\\n v",
            "a b \\\n = c",
            "a k=v k=w",
        ] {
            ok(t);
        }
    }

    #[test]
    fn strings_of_every_kind() {
        for t in [
            "a \"\\\" \\\\ \\b \\f \\n \\r \\t \\s \\u{0} \\u{1F600} \\u{10FFFF}\"",
            "a \"whitespace \\   \n   escape\"",
            "a \"\" \"#\" \"\\u{7F}\u{7F}\"",
            "a \"\"\"\n  one\n\n    two \"quoted\" \"\"not closed\n  \"\"\"",
            "a \"\"\"\r\n\tx\r\n\t\"\"\"",
            "a \"\"\"\n\"\"\"",
            "a \"\"\"\n  \\\n  \"\"\"",
            "a #\"raw \\n \"quotes\"\"#",
            "a ##\"has \"# inside\"##",
            "a #\"\"\"x\"#",
            "a #\"\"#",
            "a #\"\"\"\n  raw\n  multi \"\"\" line\n  \"\"\"#",
            "a #\"\"\"\nx\"\n\"\"\"# #\"\"\"\n\"\"\n\"\"\"# #\"\"\"\n\" \n\"\"\"# #\"\"\"\n\n\"\n\"\"\"#",
            "a \"\"\"\n\"\n\"\"\"",
        ] {
            ok(t);
        }
    }

    #[test]
    fn slashdash_on_nodes_entries_and_children() {
        for t in [
            "/-a\nb",
            "/-\na",
            "/- // comment\n a",
            "/-(t)a 1 {b}\nc",
            "a /-b c",
            "a /-k=v c",
            "a /-\n b",
            "a /-b",
            "a /-{} {}",
            "a /-{}{}",
            "a {} /-{} /-{}",
            "a {}/-{}",
            "a /-{}",
            "a /-\n{}",
            "a /-x /-{} {} /-{}",
            "a {/-b}",
            "a { b /-c }",
        ] {
            ok(t);
        }
    }

    #[test]
    fn line_continuations() {
        for t in [
            "a \\\n b",
            "a\\\nb",
            "a \\ // comment\n b",
            "a \\ /* c */\n b",
            "a \\",
            "\\\na",
            "a;\\\nb",
            "a \\\n{}",
            "a /-\\\n b",
        ] {
            ok(t);
        }
    }

    /// Disagreements the differential fuzzing found: `kdl` 6.7.1 accepts these, so the
    /// guard must.
    #[test]
    fn kdl_quirks_found_by_fuzzing() {
        for t in [
            // `/-` takes an entry that may itself start with `/-`.
            "node /- /- arg1 arg2 arg3",
            "node /-/- prop=val arg\n",
            "node 1 /-\n/-\n2 3\n",
            "node /-\\\n/-\\\n(ty)arg1 arg2\n",
            "n /- /- a b",
            "n /- a /- b",
            // After a keyword (no check of what follows) a node may end without a space.
            "node #true/-\\\n(ty)arg arg-.2\n",
            "node (type)#true/-a{}\n",
            "/-\"\\ \n \"/* /* */ */#nan(t)a {}",
            " /- arg1\\ //c\n #infarg2\n",
            "/-a #truex",
            // A node right after a slashdashed node's children.
            "/-a{}b",
            "/-a {} b",
            "/-a /-{} b",
            "/-a{}/-b",
            // A slashdashed node after a node's children.
            "a{}/-b",
            "a{} /-b c",
            "a /-{} /-b",
        ] {
            ok(t);
        }
    }

    // ---- rejected -------------------------------------------------------------------

    #[test]
    fn braces() {
        bad("{", "`{` without a node name", "{");
        bad("a\n{}", "`{` without a node name", "{");
        bad("/-{}", "`{` without a node name", "{");
        bad("a }", "unbalanced `}`", "}");
        bad("a {", "no closing `}` for this children block", "{");
        bad("a { b {}", "no closing `}` for this children block", "{");
        bad("a {} {}", "a node has at most one children block", "{");
        bad(
            "node { one } /- { two } { three }",
            "a node has at most one children block",
            "{",
        );
        bad(
            "a {} b",
            "arguments and properties must come before the children block",
            "b",
        );
        bad(
            "a {} /-b\nc",
            "expected `;` or a newline before this node",
            "c",
        );
        bad(
            "a {} /-b {}c",
            "expected `;` or a newline before this node",
            "c",
        );
        bad("a #true/-{}", "expected a space before this `/-`", "/-");
        bad("a /-{}/-{}", "expected a space before this `/-`", "/-");
    }

    #[test]
    fn terminators() {
        bad(";", "`;` without a node", ";");
        bad("a;;", "`;` without a node", ";");
        bad("a\n;", "`;` without a node", ";");
        bad("/-a;", "`;` cannot end a node commented out with `/-`", ";");
        bad(
            "a {} /-b;",
            "`;` cannot end a node commented out with `/-`",
            ";",
        );
        bad(
            "a\"b\"",
            "unexpected `\"`: expected a space, `;` or a newline before it",
            "\"",
        );
        bad(
            "a b/-c",
            "unexpected `/`: expected a space, `;` or a newline before it",
            "/",
        );
        bad(
            "a [1]",
            "unexpected `[`: expected an argument, a property, `{`, `;` or a newline",
            "[",
        );
        bad("a \\ b", "`\\` outside a string must end its line", "\\");
    }

    #[test]
    fn properties() {
        bad("a k=", "expected a value after `=`", "=");
        bad("a k=\n1", "expected a value after `=`", "=");
        bad("a k= {}", "expected a value after `=`", "=");
        bad("a=1", "`=` without a property name", "=");
        bad("a 1=2", "`=` without a property name", "=");
        bad("a #true=2", "`=` without a property name", "=");
        bad("a (t)k=2", "`=` without a property name", "=");
        bad("a k=v=w", "`=` without a property name", "=");
    }

    #[test]
    fn names_and_types() {
        bad("1 a", "a node name must be a string, found `1`", "1");
        bad(
            "#true",
            "a node name must be a string, found `#true`",
            "#true",
        );
        bad("(t)", "unexpected end of file: expected a node name", "");
        bad("(t)\na", "unexpected U+000A: expected a node name", "\n");
        bad("(1)a", "a type name must be a string, found `1`", "1");
        bad("()a", "unexpected `)`: expected a type name", ")");
        bad("(t\na", "unclosed type annotation", "(");
        bad(
            "(t u)a",
            "unexpected `u`: expected `)` to close the type annotation",
            "u",
        );
        bad(
            "a (t)",
            "unexpected end of file: expected a value after the type annotation",
            "",
        );
        bad(
            "a (t)(u)1",
            "unexpected `(`: expected a value after the type annotation",
            "(",
        );
        bad(
            "a b(t)",
            "unexpected `(`: expected a space, `;` or a newline before it",
            "(",
        );
    }

    #[test]
    fn identifiers_numbers_and_keywords() {
        bad("a true", "bare `true` is not allowed", "true");
        bad("a null", "bare `null` is not allowed", "null");
        bad("a inf", "bare `inf` is not allowed", "inf");
        bad("a .5", "`.5` is neither a number nor a string", ".5");
        bad("a -.5", "`-.5` is neither a number nor a string", "-.5");
        for n in [
            "1x", "0x", "0xg", "0b2", "0o8", "1.", "1.e5", "1._5", "1e", "1e_5", "1.5.3", "-0x",
            "1ee5", "0x1.5",
        ] {
            let t = format!("a {n}");
            bad(&t, &format!("invalid number `{n}`"), n);
        }
        // One past i128::MAX: `kdl` reads every run of digits as an i128.
        for n in [
            "170141183460469231731687303715884105728",
            "-170141183460469231731687303715884105728",
            "1e170141183460469231731687303715884105728",
            "0.170141183460469231731687303715884105728",
            "0x80000000000000000000000000000000",
        ] {
            bad(&format!("a {n}"), &format!("number `{n}` is too large"), n);
        }
        bad("a #maybe", "unknown keyword `#maybe`", "#maybe");
        bad("a #True", "unknown keyword `#True`", "#True");
        bad("a #truex", "unknown keyword `#truex`", "#truex");
        bad("a #", "unknown keyword `#`", "#");
        bad(
            "a ##x",
            "expected `\"` after the `#`s of a raw string",
            "##",
        );
    }

    #[test]
    fn strings() {
        bad("a \"x", "unterminated string", "\"");
        bad("a \"x\\", "unterminated string", "\"");
        bad("a \"x\ny\"", "newline in a single-line string", "\n");
        bad("a \"x\r\ny\"", "newline in a single-line string", "\r\n");
        bad("a \"\\x\"", "invalid escape `\\x` in a string", "\\x");
        bad("a \"\\u{D800}\"", "invalid unicode escape", "\\u{D800}");
        bad("a \"\\u{110000}\"", "invalid unicode escape", "\\u{110000}");
        bad("a \"\\u{}\"", "invalid unicode escape", "\\u{}");
        bad("a \"\\u{1234567}\"", "invalid unicode escape", "\\u{123456");
        bad("a \"\\u41\"", "invalid unicode escape", "\\u");
        bad(
            "a \"\u{202E}\"",
            "disallowed character U+202E in a string",
            "\u{202E}",
        );
        bad(
            "a \"\"\"x\n\"\"\"",
            "`\"\"\"` must be followed by a newline",
            "\"\"\"",
        );
        bad(
            "a \"\"\" \n\"\"\"",
            "`\"\"\"` must be followed by a newline",
            "\"\"\"",
        );
        bad("a \"\"\"\nx", "unterminated string", "\"\"\"");
        bad(
            "a \"\"\"\nx \"\"\"",
            "the closing `\"\"\"` of a multi-line string must be on its own line",
            "\"\"\"",
        );
        bad(
            "a \"\"\"\nx \\\n  \"\"\"",
            "the closing `\"\"\"` of a multi-line string must be on its own line",
            "\"\"\"",
        );
        let indent = "this line of a multi-line string is not indented like its closing quotes";
        bad("a \"\"\"\n  x\n y\n  \"\"\"", indent, " ");
        bad("a \"\"\"\n  x\ny\n  \"\"\"", indent, "y");
        bad("a \"\"\"\n\tx\n  \"\"\"", indent, "\t");
        bad("a \"\"\"\n\\s x\n  \"\"\"", indent, "\\");
        bad("a \"\"\"\na\n   \\\n\"\"\"", indent, "a");
        bad("a #\"\"\"\n  x\n y\n  \"\"\"#", indent, " ");
        bad("a #\"x", "unterminated string", "#\"");
        bad("a #\"x\ny\"#", "newline in a single-line raw string", "\n");
        bad("a ##\"x\"#", "unterminated string", "##\"");
        bad("a #\"\"\"#", "a raw string cannot be just `\"`", "#\"\"\"#");
        // Found by fuzzing: multi-line too.
        let lone = "a raw string cannot be just `\"`";
        bad("a #\"\"\"\n\"\n\"\"\"#", lone, "#\"\"\"\n\"\n\"\"\"#");
        bad(
            "a #\"\"\"\n  \"\r\n  \"\"\"#",
            lone,
            "#\"\"\"\n  \"\r\n  \"\"\"#",
        );
        bad("a ##\"\"\"\n\"\n\"\"\"##", lone, "##\"\"\"\n\"\n\"\"\"##");
        bad(
            "a #\"\"\"\nx \"\"\"#",
            "the closing `\"\"\"` of a multi-line string must be on its own line",
            "\"\"\"",
        );
        bad("a #\"\"\"\nx", "unterminated string", "#\"\"\"");
        bad(
            "a \"x\"\"y\"",
            "unexpected `\"`: expected a space, `;` or a newline before it",
            "\"",
        );
    }

    #[test]
    fn slashdashes() {
        bad("/-", "`/-` must be followed by a node", "/-");
        bad("/- /- a", "`/-` must be followed by a node", "/-");
        bad("a { /- }", "`/-` must be followed by a node", "/-");
        bad(
            "a /-",
            "`/-` must be followed by an argument, a property or a children block",
            "/-",
        );
        bad(
            "a /- ;",
            "`/-` must be followed by an argument, a property or a children block",
            "/-",
        );
        bad("a /- /- b", "`/-` comments out nothing", "/-");
        bad("a /- /- {}", "`/-` comments out nothing", "/-");
        bad("a { b /- /- c }", "`/-` comments out nothing", "/-");
        bad(
            "a {} /- =",
            "`/-` must be followed by a node or a children block",
            "/-",
        );
    }

    #[test]
    fn disallowed_characters() {
        bad("a\u{1}", "disallowed character U+0001", "\u{1}");
        bad("\u{200E}a", "disallowed character U+200E", "\u{200E}");
        bad(
            "a\u{FEFF}",
            "byte order mark U+FEFF after the start of the file",
            "\u{FEFF}",
        );
        bad(
            "\u{FEFF}\u{FEFF}a",
            "byte order mark U+FEFF after the start of the file",
            "\u{FEFF}",
        );
        bad("/* x", "unclosed block comment", "/*");
        bad("/* /* x */", "unclosed block comment", "/*");
    }

    // ---- limits ---------------------------------------------------------------------

    #[test]
    fn children_nest_at_most_64_levels() {
        let deep = |n: usize| "a{".repeat(n) + &"}".repeat(n);
        let at_limit = deep(MAX_NESTING);
        assert_eq!(check(&at_limit), Ok(()));
        assert!(big_stack(move || kdl_accepts(&at_limit)));
        limit(
            &deep(MAX_NESTING + 1),
            "children blocks nest deeper than 64 levels",
        );
        // Slashdashed blocks count too.
        limit(
            &"a /-{".repeat(MAX_NESTING + 1),
            "children blocks nest deeper than 64 levels",
        );
    }

    #[test]
    fn block_comments_nest_at_most_64_levels() {
        let deep = |n: usize| "/*".repeat(n) + &"*/".repeat(n) + " a";
        let at_limit = deep(MAX_NESTING);
        assert_eq!(check(&at_limit), Ok(()));
        assert!(big_stack(move || kdl_accepts(&at_limit)));
        limit(
            &deep(MAX_NESTING + 1),
            "block comments nest deeper than 64 levels",
        );
    }

    #[test]
    fn block_comments_have_at_most_2048_pieces() {
        // " " then `* ` k times: 2k + 1 pieces.
        let comment = |k: usize| format!("/* {}*/ a", "* ".repeat(k));
        let at_limit = comment((MAX_COMMENT_PIECES - 1) / 2);
        assert_eq!(check(&at_limit), Ok(()));
        assert!(big_stack(move || kdl_accepts(&at_limit)));
        limit(
            &comment(MAX_COMMENT_PIECES / 2),
            "block comment has more than 2048 pieces (`*`, `/` and runs of other text)",
        );
        // A closed inner comment is one piece of the outer one.
        let nested = format!("/* /* {} */ */ a", "/".repeat(MAX_COMMENT_PIECES - 10));
        assert_eq!(check(&nested), Ok(()));
    }

    #[test]
    fn slashdash_chains_nest_at_most_64_levels() {
        let chain = |n: usize| format!("n {}{}", "/- ".repeat(n), "a ".repeat(n + 1));
        let at_limit = chain(MAX_NESTING);
        assert_eq!(check(&at_limit), Ok(()));
        assert!(big_stack(move || kdl_accepts(&at_limit)));
        limit(
            &chain(MAX_NESTING + 1),
            "slashdashes (`/-`) nest deeper than 64 levels",
        );
        // A flat sequence is no chain.
        assert_eq!(check(&format!("n {}", "/- a ".repeat(10_000))), Ok(()));
    }

    #[test]
    fn nested_slashdashed_blocks_are_bounded_by_the_work_budget() {
        // `kdl` reads each level twice: 22 levels take a minute.
        let nested = |open: &str, n: usize| open.repeat(n) + &"}\n".repeat(n);
        let message = "commented-out blocks nest too deeply: the KDL parser would take too long";
        for (open, ok_depth) in [("x\n/-a {\n", 10), ("a /-{\n", 10), ("x\n/-a /-{\n", 5)] {
            let t = nested(open, ok_depth);
            assert_eq!(check(&t), Ok(()), "{t:?}");
            assert!(kdl_accepts(&t));
            limit(&nested(open, 40), message);
        }
        // Real blocks and slashdashed ones that `kdl` reads once are not limited by it.
        assert_eq!(check(&nested("x\na {\n", 64)), Ok(()));
        // The budget grows with the document: a big commented-out block is fine.
        let big = format!("/-a {{\n{}}}\n", "b 1 2 3\n".repeat(1 << 18));
        assert_eq!(check(&big), Ok(()));
    }

    /// The pathological inputs fuzzing found, at sizes far beyond those that crashed or
    /// hung `kdl`: rejected at once (the whole test runs in milliseconds).
    #[test]
    fn pathological_inputs_are_rejected_quickly() {
        for (text, message) in [
            ("{".repeat(100_000), "`{` without a node name"),
            (
                "/*".repeat(100_000),
                "block comments nest deeper than 64 levels",
            ),
            ("a=".repeat(100_000), "`=` without a property name"),
            ("{}".repeat(100_000), "`{` without a node name"),
            (
                "a /-{\n".repeat(10_000),
                "children blocks nest deeper than 64 levels",
            ),
            (
                "x\n/-a {\n".repeat(30) + &"}\n".repeat(30),
                "commented-out blocks nest too deeply: the KDL parser would take too long",
            ),
            // kdl-rs#177's size: 78 seconds.
            (
                "a /-{\n".repeat(22),
                "no closing `}` for this children block",
            ),
            (
                "\"".repeat(100_000),
                "`\"\"\"` must be followed by a newline",
            ),
            (
                "\"".repeat(99_999),
                "`\"\"\"` must be followed by a newline",
            ),
            (
                "a {\n".repeat(10_000),
                "children blocks nest deeper than 64 levels",
            ),
            (
                format!("a {}\n", "9".repeat(50)).repeat(100_000),
                "number `99999999999999999999999999999999999999999999999999` is too large",
            ),
            (
                "a \"\"\"\n  x\n y }\n  \"\"\"\n".repeat(100_000),
                "this line of a multi-line string is not indented like its closing quotes",
            ),
            (
                "a {} /-b\nc\n".repeat(100_000),
                "expected `;` or a newline before this node",
            ),
        ] {
            let e = check(&text).expect_err(&text[..text.len().min(40)]);
            assert_eq!(e.message, message, "{e:?}");
        }
    }

    #[test]
    fn spans_are_in_bounds_and_on_character_boundaries() {
        for t in [
            "é\u{1}",
            "a \"é",
            "a é\u{FEFF}",
            "a \"\"\"\né\n",
            "é {",
            "a #é",
            "(é",
            "a /-",
        ] {
            let e = check(t).expect_err(t);
            assert!(e.offset + e.len <= t.len(), "{t:?}: {e:?}");
            assert!(t.is_char_boundary(e.offset) && t.is_char_boundary(e.offset + e.len));
        }
    }

    #[test]
    fn number_syntax_and_range() {
        for n in [
            "0",
            "1_",
            "1_000.000_1e-1_0",
            "0xF_f",
            "0o7_7",
            "0b1_0",
            "1e+5",
        ] {
            assert_eq!(check_number(n), Ok(()), "{n}");
        }
        for n in ["0x_", "0x", "1.", "1e", "1e+", "1.5.3", "0b12", "1x"] {
            assert_eq!(check_number(n), Err(BadNumber::Syntax), "{n}");
        }
        for n in [
            "170141183460469231731687303715884105728",
            "1.170141183460469231731687303715884105728",
            "1e170141183460469231731687303715884105728",
            "0x80000000000000000000000000000000",
        ] {
            assert_eq!(check_number(n), Err(BadNumber::Range), "{n}");
        }
    }

    /// Every policy in the repository passes (`policies/`, the plugin examples; `tests/`
    /// and `examples/` too, should they hold any).
    #[test]
    fn repository_policies_pass() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![
            root.join("policies"),
            root.join("tests"),
            root.join("examples"),
            root.join("plugins"),
        ];
        let mut seen = 0;
        while let Some(d) = dirs.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "kdl") {
                    let text = std::fs::read_to_string(&p).expect("utf-8");
                    assert_eq!(check(&text), Ok(()), "{}", p.display());
                    seen += 1;
                }
            }
        }
        assert!(seen >= 7, "found {seen} policies");
    }

    /// `kdl`'s own compliance suite (`tests/test_cases/input/*.kdl` of the `kdl` 6.7.1
    /// package, which cargo fetches from crates.io with the crate: not copied here): the
    /// guard accepts every file `kdl` accepts and rejects every file `kdl` rejects. It runs
    /// in well under a second; `cargo test --release -p modpolicy --lib
    /// guard::tests::kdl_compliance_suite -- --nocapture` prints the counts.
    #[test]
    fn kdl_compliance_suite() {
        let home = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
            .expect("CARGO_HOME or HOME");
        let registry = home.join("registry/src");
        let input = std::fs::read_dir(&registry)
            .into_iter()
            .flatten()
            .flatten()
            .map(|d| d.path().join("kdl-6.7.1/tests/test_cases/input"))
            .find(|p| p.is_dir())
            .unwrap_or_else(|| {
                panic!(
                    "kdl 6.7.1's test suite is not in {}: `cargo fetch --locked` unpacks it \
                     (the kdl package on crates.io includes tests/test_cases)",
                    registry.display()
                )
            });
        let mut files: Vec<_> = std::fs::read_dir(&input)
            .expect("test cases")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "kdl"))
            .collect();
        files.sort();
        let (mut accepted, mut rejected) = (0, 0);
        let (mut false_rejects, mut false_accepts, mut not_utf8) = (vec![], vec![], 0);
        for f in &files {
            // Policies are read as UTF-8 before the guard sees them.
            let Ok(text) = std::fs::read_to_string(f) else {
                not_utf8 += 1;
                continue;
            };
            let guard = check(&text);
            if kdl_accepts(&text) {
                accepted += 1;
                if let Err(e) = guard {
                    false_rejects.push(format!("{}: {e:?}", f.display()));
                }
            } else {
                rejected += 1;
                if guard.is_ok() {
                    false_accepts.push(f.display().to_string());
                }
            }
        }
        println!(
            "{} files: kdl accepts {accepted}, the guard rejects {} of them; kdl rejects \
             {rejected}, the guard rejects {} of them; {not_utf8} not UTF-8",
            files.len(),
            false_rejects.len(),
            rejected - false_accepts.len()
        );
        assert!(files.len() >= 300, "only {} test cases", files.len());
        assert!(false_rejects.is_empty(), "{false_rejects:#?}");
        assert!(false_accepts.is_empty(), "{false_accepts:#?}");
    }
}
