//! Policy loading against `policies/README.md` ("Validation", "Layering", "`depmod`"):
//! every malformed policy gives its diagnostic code, message, hint, 1-based line and a
//! span covering exactly the offending text; the shipped policies load; layers merge in
//! the documented order; `search_config()` states what the equivalent depmod.d states.

use super::model::{Date, Strategy, Winner};
use super::*;
use crate::diag::{Code, Level};
use crate::load::config::{parse_config, SearchConfig, SearchEntry};

const KVER: &str = "6.1.0-test";

/// The diagnostics of a policy that must fail to load.
fn diags(text: &str) -> Vec<PolicyDiagnostic> {
    match load_str("t.kdl", text, KVER) {
        Ok(_) => panic!("policy loaded, expected errors:\n{text}"),
        Err(e) => e.diagnostics,
    }
}

/// The text a diagnostic's span covers.
fn spanned<'a>(text: &'a str, d: &PolicyDiagnostic) -> &'a str {
    assert!(
        d.loc.offset + d.loc.len <= text.len(),
        "span {}+{} beyond the text",
        d.loc.offset,
        d.loc.len
    );
    &text[d.loc.offset..d.loc.offset + d.loc.len]
}

/// One expected diagnostic.
struct Want<'a> {
    code: &'a str,
    message: &'a str,
    help: Option<&'a str>,
    line: usize,
    span: &'a str,
}

#[track_caller]
fn check(text: &str, d: &PolicyDiagnostic, w: &Want<'_>) {
    let ctx = format!("policy:\n{text}\ndiagnostic: {d:?}");
    assert_eq!(d.code, w.code, "code; {ctx}");
    assert_eq!(d.message, w.message, "message; {ctx}");
    assert_eq!(d.help.as_deref(), w.help, "help; {ctx}");
    assert_eq!(d.loc.line, w.line, "line; {ctx}");
    assert_eq!(spanned(text, d), w.span, "span; {ctx}");
    assert_eq!(d.loc.file, source::FileId(0), "file; {ctx}");
}

/// Asserts that `text` gives exactly the diagnostics `want`, in order.
#[track_caller]
fn expect(text: &str, want: &[Want<'_>]) {
    let ds = diags(text);
    assert_eq!(ds.len(), want.len(), "diagnostics of:\n{text}\n{ds:#?}");
    for (d, w) in ds.iter().zip(want) {
        check(text, d, w);
    }
}

#[track_caller]
fn expect_one(text: &str, w: Want<'_>) {
    expect(text, &[w]);
}

fn w<'a>(
    code: &'a str,
    message: &'a str,
    help: Option<&'a str>,
    line: usize,
    span: &'a str,
) -> Want<'a> {
    Want {
        code,
        message,
        help,
        line,
        span,
    }
}

// ---- syntax and version ----------------------------------------------------------------

#[test]
fn syntax_error() {
    let text = "version 1\nprovider \"a\" {\n    prefer \"x\"\n";
    let ds = diags(text);
    assert!(!ds.is_empty());
    for d in &ds {
        assert_eq!(d.code, "policy::syntax", "{d:?}");
        assert!(!d.message.is_empty());
    }
    // The first one points at the unclosed block (found by `guard`, before `kdl`).
    check(
        text,
        &ds[0],
        &w(
            "policy::syntax",
            "no closing `}` for this children block",
            None,
            2,
            "{",
        ),
    );

    let text = "version 1\nprovider \"a\" strategy=\"first-in-order\n";
    let ds = diags(text);
    assert!(ds.iter().all(|d| d.code == "policy::syntax"), "{ds:?}");
    assert!(ds.iter().all(|d| d.loc.line == 2), "{ds:?}");
}

/// A syntax error found by `guard` is one diagnostic, with the guard's span and hint, and
/// `kdl` never sees the text.
#[test]
fn guard_errors_are_one_syntax_diagnostic() {
    expect_one(
        "version 1\nprovider \"a\" strategy=\n",
        w(
            "policy::syntax",
            "expected a value after `=`",
            Some("write the value right after `=`, on the same line"),
            2,
            "=",
        ),
    );
    expect_one(
        "version 1\n}\n",
        w("policy::syntax", "unbalanced `}`", None, 2, "}"),
    );
    expect_one(
        "version 1\nprovider \"a\" {\n  prefer \"x\"\n}}",
        w("policy::syntax", "unbalanced `}`", None, 4, "}"),
    );
    expect_one(
        "version 1\n{ prefer \"x\" }\n",
        w(
            "policy::syntax",
            "`{` without a node name",
            Some("a children block follows its node's name and entries, on the same line: `name { ... }`"),
            2,
            "{",
        ),
    );
    expect_one(
        "version 1\nprovider \"a\n",
        w(
            "policy::syntax",
            "newline in a single-line string",
            Some("close the string on this line, escape the newline with `\\`, or use a multi-line string: `\"\"\"`, a newline, the text, `\"\"\"` on a line of its own"),
            2,
            "\n",
        ),
    );
    expect_one(
        "version 1\nallow-duplicate \"x\" reason=true\n",
        w(
            "policy::syntax",
            "bare `true` is not allowed",
            Some("write #true for the keyword, or \"true\" for the string"),
            2,
            "true",
        ),
    );
}

/// The inputs that crashed (stack overflow) or hung `kdl` 6.7.1, at sizes far past those
/// that did: each is one `policy::syntax` diagnostic, at once (`kdl` never sees them).
#[test]
fn hostile_kdl_is_rejected_before_the_parser() {
    let nested_slashdash = "x\n/-a {\n".repeat(30) + &"}\n".repeat(30);
    for (what, text) in [
        ("`{` x 100000", "{".repeat(100_000)),
        ("`/*` x 100000", "/*".repeat(100_000)),
        ("`a=` x 100000", "a=".repeat(100_000)),
        ("`{}` x 100000", "{}".repeat(100_000)),
        ("`a {` newline x 10000", "a {\n".repeat(10_000)),
        // kdl-rs#177: exponential in kdl's error recovery.
        ("`a /-{` newline x 10000", "a /-{\n".repeat(10_000)),
        ("`a /-{` newline x 22", "a /-{\n".repeat(22)),
        // Quadratic in kdl's error recovery.
        ("`\"` x 100000", "\"".repeat(100_000)),
        // kdl's recovery recurses once per mistake it resumes after.
        (
            "a 50-digit number x 100000",
            format!("a {}\n", "9".repeat(50)).repeat(100_000),
        ),
        (
            "a badly indented multi-line string x 100000",
            "a \"\"\"\n  x\n y }\n  \"\"\"\n".repeat(100_000),
        ),
        // Valid, but kdl reads each level twice: exponential.
        ("`x` newline `/-a {` newline x 30", nested_slashdash),
        // Valid, but kdl recurses once per piece of the comment.
        (
            "a comment of 100000 `*`",
            format!("/*{}*/", "*".repeat(100_000)),
        ),
    ] {
        let ds = diags(&text);
        assert_eq!(ds.len(), 1, "{what}: {ds:?}");
        assert_eq!(ds[0].code, "policy::syntax", "{what}: {ds:?}");
        assert!(spanned(&text, &ds[0]).len() <= 64, "{what}: {ds:?}");
    }
}

/// The deepest document the guard lets through (children blocks, a chain of slashdashed
/// arguments and a block comment, each at its limit) parses within 4 MiB of stack in a
/// release build; the CLI's main thread has 8.
#[test]
fn the_deepest_accepted_policy_fits_in_the_stack() {
    use guard::{MAX_COMMENT_PIECES, MAX_NESTING};
    let mut text = String::from("version 1\n");
    text.push_str(&"depmod {".repeat(MAX_NESTING));
    text.push_str("n ");
    text.push_str(&"/- ".repeat(MAX_NESTING));
    text.push_str(&"/*".repeat(MAX_NESTING - 1));
    text.push_str(&"* ".repeat((MAX_COMMENT_PIECES - MAX_NESTING) / 2));
    text.push_str(&"*/".repeat(MAX_NESTING - 1));
    text.push_str(&" x".repeat(MAX_NESTING + 1));
    text.push_str(&"}".repeat(MAX_NESTING));
    assert_eq!(guard::check(&text), Ok(()));
    let stack = if cfg!(debug_assertions) {
        64 << 20
    } else {
        4 << 20
    };
    let ds = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || load_str("t.kdl", &text, KVER).map(|_| ()))
        .expect("thread")
        .join()
        .expect("no panic")
        .expect_err("not a valid policy")
        .diagnostics;
    // `kdl` parsed it: what is wrong is the policy, not the syntax.
    assert!(ds.iter().all(|d| d.code != "policy::syntax"), "{ds:?}");
}

#[test]
fn missing_version() {
    let text = "provider \"a\" strategy=\"first-in-order\"\n";
    expect_one(
        text,
        w(
            "policy::missing-version",
            "policy file has no `version` node",
            Some("start the file with `version 1`"),
            1,
            "",
        ),
    );
    let d = &diags(text)[0];
    assert_eq!((d.loc.offset, d.loc.len), (0, 0));
    // An empty file too.
    expect_one(
        "",
        w(
            "policy::missing-version",
            "policy file has no `version` node",
            Some("start the file with `version 1`"),
            1,
            "",
        ),
    );
}

#[test]
fn wrong_version() {
    expect_one(
        "version 2\n",
        w(
            "policy::unsupported-version",
            "policy language version 2 is not supported (this modpolicy reads version 1)",
            None,
            1,
            "2",
        ),
    );
    expect_one(
        "version \"1\"\n",
        w(
            "policy::wrong-type",
            "`version` takes an integer, found a string",
            None,
            1,
            "\"1\"",
        ),
    );
    expect_one(
        "version\n",
        w(
            "policy::wrong-arity",
            "`version` takes exactly one integer",
            Some("write `version 1`"),
            1,
            "version",
        ),
    );
    expect_one(
        "version 1 1\n",
        w(
            "policy::wrong-arity",
            "`version` takes exactly one integer",
            Some("write `version 1`"),
            1,
            "version 1 1",
        ),
    );
}

#[test]
fn version_not_first() {
    let text =
        "// a comment is fine before it\nprovider \"a\" strategy=\"first-in-order\"\nversion 1\n";
    expect_one(
        text,
        w(
            "policy::version-not-first",
            "`version` must be the first node",
            None,
            3,
            "version 1",
        ),
    );
    // Comments and blank lines before `version` are fine.
    assert!(load_str("t.kdl", "// c\n\n/* c */\nversion 1\n", KVER).is_ok());
}

// ---- unknown nodes and settings --------------------------------------------------------

#[test]
fn unknown_node_with_did_you_mean() {
    // The README's example.
    let text = "version 1\n// site\n\nprovider-rule \"foo_*\" { prefer \"a\" }\n";
    expect_one(
        text,
        w(
            "policy::unknown-node",
            "unknown policy node `provider-rule`",
            Some("did you mean `provider`?"),
            4,
            "provider-rule",
        ),
    );
    expect_one(
        "version 1\nalow-duplicate \"x\" reason=\"r\"\n",
        w(
            "policy::unknown-node",
            "unknown policy node `alow-duplicate`",
            Some("did you mean `allow-duplicate`?"),
            2,
            "alow-duplicate",
        ),
    );
    expect_one(
        "version 1\nincludes \"x.kdl\"\n",
        w(
            "policy::unknown-node",
            "unknown policy node `includes`",
            Some("did you mean `include`?"),
            2,
            "includes",
        ),
    );
    // Nothing close: the hint lists the nodes.
    expect_one(
        "version 1\nfoo\n",
        w(
            "policy::unknown-node",
            "unknown policy node `foo`",
            Some("policy nodes are: version, include, defaults, severity, allow-duplicate, provider, vmlinux-conflict, depmod, plugin, allow-finding, abi-tolerate, abi-deny"),
            2,
            "foo",
        ),
    );
}

/// An unknown setting (child node) is labelled at its name, as an unknown node is.
#[test]
fn unknown_setting_child_node() {
    expect(
        "version 1\nprovider \"a\" {\n    strategy \"first-in-order\"\n    reasn \"x\"\n}\n",
        &[w(
            "policy::unknown-node",
            "unknown setting `reasn` in `provider`",
            Some("did you mean `reason`?"),
            4,
            "reasn",
        )],
    );
    expect_one(
        "version 1\nseverity {\n    duplicate-exprt \"deny\"\n}\n",
        w(
            "policy::unknown-node",
            "unknown setting `duplicate-exprt` in `severity`",
            Some("did you mean `duplicate-export`?"),
            3,
            "duplicate-exprt",
        ),
    );
    expect_one(
        "version 1\ndefaults {\n    vmlinux_winner \"module\"\n}\n",
        w(
            "policy::unknown-node",
            "unknown setting `vmlinux_winner` in `defaults`",
            Some("did you mean `vmlinux-winner`?"),
            3,
            "vmlinux_winner",
        ),
    );
    expect_one(
        "version 1\ndepmod {\n    serch \"updates\"\n}\n",
        w(
            "policy::unknown-node",
            "unknown `depmod` setting `serch`",
            Some("did you mean `search`?"),
            3,
            "serch",
        ),
    );
}

#[test]
fn unknown_property() {
    let text = "version 1\nprovider \"a\" strategy=\"first-in-order\" reasn=\"x\"\n";
    expect_one(
        text,
        w(
            "policy::unknown-property",
            "unknown property `reasn` on `provider`",
            Some("did you mean `reason`?"),
            2,
            "reasn=\"x\"",
        ),
    );
    // Missing its only way of choosing: both mistakes are reported.
    let text = "version 1\nprovider \"a\" strategi=\"first-in-order\"\n";
    expect(
        text,
        &[
            w(
                "policy::unknown-property",
                "unknown property `strategi` on `provider`",
                Some("did you mean `strategy`?"),
                2,
                "strategi=\"first-in-order\"",
            ),
            w(
                "policy::missing-setting",
                "a `provider` rule needs `prefer` or `strategy`",
                Some("e.g. `prefer \"updates/*\" \"*\"` or `strategy \"first-in-order\"`"),
                2,
                "provider",
            ),
        ],
    );
    expect_one(
        "version 1\ndepmod {\n    override \"m\" \"d\" kernl=\"*\"\n}\n",
        w(
            "policy::unknown-property",
            "unknown property on `override`",
            Some("the only property here is `kernel`"),
            3,
            "kernl=\"*\"",
        ),
    );
}

// ---- value types -----------------------------------------------------------------------

#[test]
fn wrong_value_types() {
    expect_one(
        "version 1\ndefaults {\n    provider 1\n}\n",
        w(
            "policy::wrong-type",
            "`provider` must be a string, found an integer",
            None,
            3,
            "1",
        ),
    );
    expect_one(
        "version 1\nprovider \"a\" {\n    prefer 12\n}\n",
        w(
            "policy::wrong-type",
            "a pattern must be a string, found an integer",
            None,
            3,
            "12",
        ),
    );
    expect_one(
        "version 1\nprovider 3 strategy=\"first-in-order\"\n",
        w(
            "policy::wrong-type",
            "a pattern must be a string, found an integer",
            None,
            2,
            "3",
        ),
    );
    expect_one(
        "version 1\ninclude 5\n",
        w(
            "policy::wrong-type",
            "`include` takes paths as strings, found an integer",
            None,
            2,
            "5",
        ),
    );
    expect_one(
        "version 1\nseverity {\n    duplicate-export #false\n}\n",
        w(
            "policy::wrong-type",
            "`duplicate-export` must be a string, found a boolean",
            None,
            3,
            "#false",
        ),
    );
    expect(
        "version 1\nallow-duplicate \"a\" {\n    reason #true\n}\n",
        &[
            w(
                "policy::wrong-type",
                "`reason` must be a string, found a boolean",
                None,
                3,
                "#true",
            ),
            w(
                "policy::missing-reason",
                "`allow-duplicate` needs a `reason`",
                Some("say why the exception exists: `reason \"...\"`"),
                2,
                "allow-duplicate",
            ),
        ],
    );
    expect_one(
        "version 1\ndepmod {\n    search \"updates\" 1.5\n}\n",
        w(
            "policy::wrong-type",
            "`search` takes directories as strings, found a number",
            None,
            3,
            "1.5",
        ),
    );
    expect_one(
        "version 1\ndepmod {\n    external \"/opt/x\" kernel=#null\n}\n",
        w(
            "policy::wrong-type",
            "`kernel` must be a string pattern, found #null",
            None,
            3,
            "kernel=#null",
        ),
    );
}

/// "both mean the same": a mistake in a setting written as a property is labelled at
/// the same text (the value) as when it is written as a child node.
#[test]
fn property_and_child_forms_label_the_same_value() {
    let child = "version 1\nvmlinux-conflict \"a\" {\n    action \"fatal\"\n}\n";
    let prop = "version 1\nvmlinux-conflict \"a\" action=\"fatal\"\n";
    let (dc, dp) = (diags(child), diags(prop));
    assert_eq!(dc.len(), 1, "{dc:?}");
    assert_eq!(dp.len(), 1, "{dp:?}");
    assert_eq!(spanned(child, &dc[0]), "\"fatal\"");
    assert_eq!((dp[0].code, &dp[0].message), (dc[0].code, &dc[0].message));
    assert_eq!(
        spanned(prop, &dp[0]),
        "\"fatal\"",
        "property form: {:?}",
        dp[0]
    );
}

// ---- patterns, dates, levels, strategies, winners -----------------------------------------

#[test]
fn bad_pattern() {
    expect_one(
        "version 1\nprovider \"a[\" strategy=\"first-in-order\"\n",
        w(
            "policy::bad-pattern",
            "invalid pattern `a[`: unclosed character class; missing ']'",
            None,
            2,
            "\"a[\"",
        ),
    );
    expect_one(
        "version 1\nprovider \"a\" {\n    prefer \"ok\" \"updates/[\"\n}\n",
        w(
            "policy::bad-pattern",
            "invalid pattern `updates/[`: unclosed character class; missing ']'",
            None,
            3,
            "\"updates/[\"",
        ),
    );
    expect_one(
        "version 1\nallow-duplicate \"[z-a]\" reason=\"r\"\n",
        w(
            "policy::bad-pattern",
            "invalid pattern `[z-a]`: invalid range; 'z' > 'a'",
            None,
            2,
            "\"[z-a]\"",
        ),
    );
    expect_one(
        "version 1\nallow-duplicate \"x\" {\n    modules \"dup[\"\n    reason \"r\"\n}\n",
        w(
            "policy::bad-pattern",
            "invalid pattern `dup[`: unclosed character class; missing ']'",
            None,
            3,
            "\"dup[\"",
        ),
    );
}

/// `[a-z]` is a set in module patterns too: the `-`/`_` folding of module names must not
/// turn a range into a set of three characters, so a reversed range is as invalid in a
/// module pattern as in a symbol pattern, and `dup[a-c]` matches `dupb`.
#[test]
fn module_pattern_ranges_are_not_folded() {
    let p = load_str(
        "t.kdl",
        "version 1\nprovider \"x\" {\n    prefer \"dup[a-c]\"\n}\n",
        KVER,
    )
    .unwrap();
    let Strategy::Prefer(pats) = &p.providers[0].strategy else {
        panic!()
    };
    assert!(pats[0].matches_module("dupa", "kernel/dupa.ko"));
    assert!(
        pats[0].matches_module("dupb", "kernel/dupb.ko"),
        "`dup[a-c]` does not match dupb"
    );
    expect_one(
        "version 1\nallow-duplicate \"x\" {\n    modules \"[z-a]\"\n    reason \"r\"\n}\n",
        w(
            "policy::bad-pattern",
            "invalid pattern `[z-a]`: invalid range; 'z' > 'a'",
            None,
            3,
            "\"[z-a]\"",
        ),
    );
}

#[test]
fn bad_date() {
    for (date, what) in [
        ("2027-02-30", "no such day"),
        ("2027-13-01", "no such month"),
        ("27-01-01", "short year"),
        ("2027-1-1", "short fields"),
        ("tomorrow", "not a date"),
    ] {
        let text = format!(
            "version 1\nallow-duplicate \"a\" {{\n    reason \"r\"\n    expires \"{date}\"\n}}\n"
        );
        let msg = format!("`expires` must be a date YYYY-MM-DD, found `{date}`");
        let span = format!("\"{date}\"");
        expect_one(&text, w("policy::bad-date", &msg, None, 4, &span));
        let _ = what;
    }
    // 29 February of a leap year is a date.
    assert!(load_str(
        "t.kdl",
        "version 1\nallow-duplicate \"a\" reason=\"r\" expires=\"2028-02-29\"\n",
        KVER
    )
    .is_ok());
}

#[test]
fn bad_level() {
    expect_one(
        "version 1\nseverity {\n    duplicate-export \"fatal\"\n}\n",
        w(
            "policy::bad-level",
            "unknown level `fatal` (allow, warn or deny)",
            None,
            3,
            "\"fatal\"",
        ),
    );
    expect_one(
        "version 1\nseverity {\n    vmlinux-conflict \"dney\"\n}\n",
        w(
            "policy::bad-level",
            "unknown level `dney` (allow, warn or deny)",
            Some("did you mean `deny`?"),
            3,
            "\"dney\"",
        ),
    );
    // In a vmlinux-conflict rule: only the level is reported (not also a missing action).
    expect_one(
        "version 1\nvmlinux-conflict \"a\" {\n    action \"warning\"\n}\n",
        w(
            "policy::bad-level",
            "unknown level `warning` (allow, warn or deny)",
            Some("did you mean `warn`?"),
            3,
            "\"warning\"",
        ),
    );
}

#[test]
fn bad_strategy() {
    expect_one(
        "version 1\ndefaults {\n    provider \"first-in-ordr\"\n}\n",
        w(
            "policy::bad-strategy",
            "unknown provider strategy `first-in-ordr`",
            Some("did you mean `first-in-order`?"),
            3,
            "\"first-in-ordr\"",
        ),
    );
    let text = "version 1\nprovider \"a\" {\n    strategy \"random\"\n}\n";
    check(
        text,
        &diags(text)[0],
        &w(
            "policy::bad-strategy",
            "unknown provider strategy `random`",
            Some("one of first-in-order, last-in-order, search-order, or a `prefer` list"),
            3,
            "\"random\"",
        ),
    );
}

/// A `provider` rule with a misspelt strategy has a strategy: it is not also reported as
/// having "neither" `prefer` nor `strategy` (as a `vmlinux-conflict` rule with a bad
/// action is not also reported as missing one).
#[test]
fn bad_strategy_in_a_provider_rule_is_one_mistake() {
    expect_one(
        "version 1\nprovider \"a\" {\n    strategy \"random\"\n}\n",
        w(
            "policy::bad-strategy",
            "unknown provider strategy `random`",
            Some("one of first-in-order, last-in-order, search-order, or a `prefer` list"),
            3,
            "\"random\"",
        ),
    );
}

#[test]
fn bad_winner() {
    expect_one(
        "version 1\ndefaults {\n    vmlinux-winner \"vmlinx\"\n}\n",
        w(
            "policy::bad-winner",
            "unknown winner `vmlinx` (module or vmlinux)",
            Some("did you mean `vmlinux`?"),
            3,
            "\"vmlinx\"",
        ),
    );
    expect_one(
        "version 1\nvmlinux-conflict \"a\" {\n    action \"deny\"\n    winner \"kernel\"\n}\n",
        w(
            "policy::bad-winner",
            "unknown winner `kernel` (module or vmlinux)",
            None,
            4,
            "\"kernel\"",
        ),
    );
}

// ---- rules -------------------------------------------------------------------------------

#[test]
fn missing_reason() {
    let help = Some("say why the exception exists: `reason \"...\"`");
    expect_one(
        "version 1\nallow-duplicate \"a\" {\n    modules \"x\" \"y\"\n    owner \"me\"\n}\n",
        w(
            "policy::missing-reason",
            "`allow-duplicate` needs a `reason`",
            help,
            2,
            "allow-duplicate",
        ),
    );
    expect_one(
        "version 1\n\nallow-duplicate \"a\"\n",
        w(
            "policy::missing-reason",
            "`allow-duplicate` needs a `reason`",
            help,
            3,
            "allow-duplicate",
        ),
    );
    // provider and vmlinux-conflict rules need none.
    assert!(load_str("t.kdl", "version 1\nprovider \"a\" strategy=\"first-in-order\"\nvmlinux-conflict \"b\" action=\"warn\"\n", KVER).is_ok());
}

#[test]
fn missing_symbol_pattern() {
    expect_one(
        "version 1\nallow-duplicate reason=\"r\"\n",
        w(
            "policy::missing-argument",
            "`allow-duplicate` needs at least one symbol pattern",
            Some("e.g. `allow-duplicate \"my_symbol\" { ... }`"),
            2,
            "allow-duplicate",
        ),
    );
}

#[test]
fn provider_with_both_or_neither() {
    expect_one(
        "version 1\nprovider \"a\" {\n    prefer \"x\"\n    strategy \"first-in-order\"\n}\n",
        w(
            "policy::contradictory",
            "a `provider` rule takes either `prefer` or `strategy`, not both",
            Some("split it into two rules with different symbol patterns"),
            4,
            "strategy \"first-in-order\"",
        ),
    );
    expect_one(
        "version 1\nprovider \"a\" {\n    reason \"nothing chosen\"\n}\n",
        w(
            "policy::missing-setting",
            "a `provider` rule needs `prefer` or `strategy`",
            Some("e.g. `prefer \"updates/*\" \"*\"` or `strategy \"first-in-order\"`"),
            2,
            "provider",
        ),
    );
    expect_one(
        "version 1\nprovider \"a\" {\n    prefer\n}\n",
        w(
            "policy::missing-argument",
            "`prefer` needs at least one module pattern",
            None,
            3,
            "prefer",
        ),
    );
}

#[test]
fn vmlinux_conflict_without_action() {
    expect_one(
        "version 1\nvmlinux-conflict \"a\" {\n    winner \"module\"\n}\n",
        w(
            "policy::missing-setting",
            "a `vmlinux-conflict` rule needs an `action` (allow, warn or deny)",
            None,
            2,
            "vmlinux-conflict",
        ),
    );
}

#[test]
fn duplicate_setting() {
    expect_one(
        "version 1\nprovider \"a\" {\n    strategy \"first-in-order\"\n    reason \"x\"\n    reason \"y\"\n}\n",
        w("policy::duplicate-setting", "`reason` is set twice", None, 5, "reason \"y\""),
    );
}

#[test]
fn contradictory_rules_in_one_file() {
    let text = "version 1\nprovider \"a\" \"b\" strategy=\"first-in-order\"\n\nprovider \"a\" \"b\" {\n    prefer \"x\"\n}\n";
    expect_one(
        text,
        w(
            "policy::contradictory",
            "this `provider` rule contradicts the one on line 2: same symbols, another choice",
            Some("keep one of the two"),
            4,
            "provider \"a\" \"b\" {\n    prefer \"x\"\n}",
        ),
    );
    let text = "version 1\nvmlinux-conflict \"a\" action=\"warn\"\nvmlinux-conflict \"a\" action=\"deny\"\n";
    expect_one(
        text,
        w(
            "policy::contradictory",
            "this `vmlinux-conflict` rule contradicts the one on line 2: same symbols and modules, another verdict",
            Some("keep one of the two"),
            3,
            "vmlinux-conflict \"a\" action=\"deny\"",
        ),
    );
    // Same verdict twice is not a contradiction; different patterns neither; nor the
    // same patterns in two files (layers).
    assert!(load_str("t.kdl", "version 1\nprovider \"a\" strategy=\"first-in-order\"\nprovider \"a\" strategy=\"first-in-order\"\n", KVER).is_ok());
    assert!(load_str("t.kdl", "version 1\nprovider \"a\" strategy=\"first-in-order\"\nprovider \"b\" strategy=\"last-in-order\"\n", KVER).is_ok());
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.kdl");
    let b = dir.path().join("b.kdl");
    std::fs::write(
        &a,
        "version 1\nprovider \"a\" strategy=\"first-in-order\"\n",
    )
    .unwrap();
    std::fs::write(&b, "version 1\nprovider \"a\" strategy=\"last-in-order\"\n").unwrap();
    assert!(load(&[a, b], KVER).is_ok());
}

#[test]
fn relative_external_dir() {
    expect_one(
        "version 1\ndepmod {\n    external \"opt/vendor\" kernel=\"*\"\n}\n",
        w(
            "policy::relative-external",
            "external directory `opt/vendor` must be absolute",
            None,
            3,
            "\"opt/vendor\"",
        ),
    );
}

// ---- includes ------------------------------------------------------------------------------

#[test]
fn include_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let a_text = "version 1\ninclude \"b.kdl\"\n";
    let b_text = "version 1\n// b\ninclude \"a.kdl\"\n";
    std::fs::write(root.join("a.kdl"), a_text).unwrap();
    std::fs::write(root.join("b.kdl"), b_text).unwrap();
    let e = load(&[root.join("a.kdl")], KVER).expect_err("a cycle");
    assert_eq!(e.diagnostics.len(), 1, "{:?}", e.diagnostics);
    let d = &e.diagnostics[0];
    assert_eq!(d.code, "policy::include-cycle");
    let (a, b) = (root.join("a.kdl"), root.join("b.kdl"));
    assert_eq!(
        d.message,
        format!(
            "policy includes itself: {} -> {} -> {}",
            a.display(),
            b.display(),
            a.display()
        )
    );
    assert_eq!(d.loc.line, 3);
    // The span is in b.kdl, on the include that closes the cycle.
    let file = e.sources.get(d.loc.file);
    assert_eq!(file.path, b);
    assert_eq!(
        &file.text[d.loc.offset..d.loc.offset + d.loc.len],
        "\"a.kdl\""
    );

    // A file including itself.
    std::fs::write(root.join("self.kdl"), "version 1\ninclude \"self.kdl\"\n").unwrap();
    let e = load(&[root.join("self.kdl")], KVER).expect_err("a cycle");
    assert_eq!(e.diagnostics.len(), 1, "{:?}", e.diagnostics);
    let d = &e.diagnostics[0];
    let s = root.join("self.kdl");
    assert_eq!((d.code, d.loc.line), ("policy::include-cycle", 2));
    assert_eq!(
        d.message,
        format!("policy includes itself: {} -> {}", s.display(), s.display())
    );
    assert_eq!(
        &e.sources.get(d.loc.file).text[d.loc.offset..d.loc.offset + d.loc.len],
        "\"self.kdl\""
    );

    // The same file included twice without a cycle (a diamond) is fine.
    std::fs::write(root.join("base.kdl"), "version 1\n").unwrap();
    std::fs::write(root.join("l.kdl"), "version 1\ninclude \"base.kdl\"\n").unwrap();
    std::fs::write(root.join("r.kdl"), "version 1\ninclude \"base.kdl\"\n").unwrap();
    std::fs::write(
        root.join("top.kdl"),
        "version 1\ninclude \"l.kdl\" \"r.kdl\"\n",
    )
    .unwrap();
    assert!(load(&[root.join("top.kdl")], KVER).is_ok());
}

#[test]
fn include_depth() {
    let dir = tempfile::tempdir().unwrap();
    // f0 includes f1 ... includes f19: deeper than 16 files.
    for i in 0..20 {
        std::fs::write(
            dir.path().join(format!("f{i}.kdl")),
            format!("version 1\ninclude \"f{}.kdl\"\n", i + 1),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("f20.kdl"), "version 1\n").unwrap();
    let e = load(&[dir.path().join("f0.kdl")], KVER).expect_err("too deep");
    assert_eq!(e.diagnostics.len(), 1, "{:?}", e.diagnostics);
    let d = &e.diagnostics[0];
    assert_eq!(d.code, "policy::include-depth");
    assert_eq!(d.message, "includes nest deeper than 16 files");
    assert_eq!(e.sources.get(d.loc.file).path, dir.path().join("f15.kdl"));
    assert_eq!(
        &e.sources.get(d.loc.file).text[d.loc.offset..d.loc.offset + d.loc.len],
        "\"f16.kdl\""
    );
    // 16 files nest fine.
    let ok = load(&[dir.path().join("f5.kdl")], KVER).expect("16 files");
    assert_eq!(ok.sources.files.len(), 16);
}

#[test]
fn include_of_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "version 1\n\ninclude \"ok.kdl\" \"missing.kdl\"\n";
    std::fs::write(dir.path().join("ok.kdl"), "version 1\n").unwrap();
    std::fs::write(dir.path().join("top.kdl"), text).unwrap();
    let e = load(&[dir.path().join("top.kdl")], KVER).expect_err("missing include");
    assert_eq!(e.diagnostics.len(), 1, "{:?}", e.diagnostics);
    let d = &e.diagnostics[0];
    assert_eq!(d.code, "policy::unreadable");
    assert_eq!(
        d.message,
        format!(
            "cannot read policy file {}: No such file or directory",
            dir.path().join("missing.kdl").display()
        )
    );
    assert_eq!(d.loc.line, 3);
    assert_eq!(e.sources.get(d.loc.file).path, dir.path().join("top.kdl"));
    assert_eq!(
        &text[d.loc.offset..d.loc.offset + d.loc.len],
        "\"missing.kdl\""
    );
    // Errors inside an included file point into that file.
    std::fs::write(dir.path().join("bad.kdl"), "version 1\nprovidr \"a\"\n").unwrap();
    std::fs::write(
        dir.path().join("top2.kdl"),
        "version 1\ninclude \"bad.kdl\"\n",
    )
    .unwrap();
    let e = load(&[dir.path().join("top2.kdl")], KVER).expect_err("bad include");
    let d = &e.diagnostics[0];
    assert_eq!((d.code, d.loc.line), ("policy::unknown-node", 2));
    assert_eq!(e.sources.get(d.loc.file).path, dir.path().join("bad.kdl"));
}

/// "every mistake is reported at once", in file order.
#[test]
fn every_mistake_at_once() {
    let text = "version 1\ndefaults {\n    provider \"x\"\n}\nfoo\nseverity {\n    duplicate-export \"no\"\n}\n";
    let ds = diags(text);
    let codes: Vec<(&str, usize)> = ds.iter().map(|d| (d.code, d.loc.line)).collect();
    assert_eq!(
        codes,
        vec![
            ("policy::bad-strategy", 3),
            ("policy::unknown-node", 5),
            ("policy::bad-level", 7)
        ]
    );
}

// ---- positive tests ------------------------------------------------------------------------

fn shipped(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies")
        .join(name)
}

#[test]
fn shipped_policies_load() {
    let kmod = load(&[shipped("kmod.kdl")], KVER).expect("kmod.kdl");
    assert_eq!(kmod.default_provider.value, Strategy::LastInOrder);
    assert_eq!(kmod.default_vmlinux_winner.value, Winner::Module);
    assert_eq!(kmod.level(Code::DuplicateExport), Level::Allow);
    assert_eq!(kmod.level(Code::VmlinuxConflict), Level::Allow);
    assert!(
        kmod.providers.is_empty() && kmod.allow_duplicates.is_empty() && kmod.vmlinux.is_empty()
    );
    assert!(
        kmod.search_config().is_none(),
        "kmod.kdl leaves depmod.d in charge"
    );

    let modpost = load(&[shipped("modpost.kdl")], KVER).expect("modpost.kdl");
    assert_eq!(modpost.default_provider.value, Strategy::LastInOrder);
    assert_eq!(modpost.default_vmlinux_winner.value, Winner::Vmlinux);
    assert_eq!(modpost.level(Code::DuplicateExport), Level::Deny);
    assert_eq!(modpost.level(Code::VmlinuxConflict), Level::Deny);

    let fio = load(&[shipped("first-in-order.kdl")], KVER).expect("first-in-order.kdl");
    assert_eq!(fio.default_provider.value, Strategy::FirstInOrder);
    assert_eq!(fio.default_vmlinux_winner.value, Winner::Vmlinux);
    assert_eq!(fio.level(Code::DuplicateExport), Level::Warn);
    assert_eq!(fio.level(Code::VmlinuxConflict), Level::Deny);

    let distro = load(&[shipped("distro-example.kdl")], KVER).expect("distro-example.kdl");
    let files: Vec<_> = distro
        .sources
        .files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["distro-example.kdl", "kmod.kdl"], "load order");
    // kmod.kdl's defaults, set in kmod.kdl (the lower layer).
    assert_eq!(distro.default_provider.value, Strategy::LastInOrder);
    let at = distro.default_provider.loc.expect("set by kmod.kdl");
    assert!(distro.sources.get(at.file).path.ends_with("kmod.kdl"));
    // distro-example's severity overrides kmod.kdl's.
    assert_eq!(distro.level(Code::DuplicateExport), Level::Deny);
    assert_eq!(distro.level(Code::VmlinuxConflict), Level::Deny);
    assert_eq!(distro.providers.len(), 1);
    let p = &distro.providers[0];
    let Strategy::Prefer(pats) = &p.strategy else {
        panic!("prefer rule: {:?}", p.strategy)
    };
    assert_eq!(
        pats.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        ["updates/**", "kernel/**"]
    );
    assert_eq!(
        p.symbols.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        ["ovr_*", "dup_*"]
    );
    assert_eq!(p.meta.owner.as_deref(), Some("kernel-team@example.org"));
    assert_eq!(p.meta.layer, 1);
    let text = std::fs::read_to_string(shipped("distro-example.kdl")).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(p.meta.loc.line, line_of("provider \"ovr_*\""));
    assert_eq!(distro.allow_duplicates.len(), 1);
    let a = &distro.allow_duplicates[0];
    assert_eq!(
        a.modules.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        ["dupa", "dupb"]
    );
    assert_eq!(a.meta.expires.map(|(d, _)| d), Date::parse("2027-06-30"));
    assert_eq!(
        a.meta.reason.as_deref(),
        Some("dupa and dupb are alternative backends; only one is ever loaded")
    );
    assert_eq!(
        a.meta.loc.line,
        line_of("allow-duplicate \"dup_shared_fn\"")
    );

    // The built-in policy is kmod.kdl.
    let builtin = kmod_policy(KVER);
    assert_eq!(builtin.default_provider.value, kmod.default_provider.value);
    assert_eq!(
        builtin
            .severities
            .iter()
            .map(|(c, s)| (*c, s.value))
            .collect::<Vec<_>>(),
        kmod.severities
            .iter()
            .map(|(c, s)| (*c, s.value))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        KMOD_POLICY,
        std::fs::read_to_string(shipped("kmod.kdl")).unwrap()
    );
}

#[test]
fn properties_and_child_nodes_mean_the_same() {
    let a = load_str("t.kdl", "version 1\nprovider \"x_*\" strategy=\"first-in-order\" reason=\"r\" owner=\"o\" expires=\"2030-01-01\"\n", KVER).unwrap();
    let b = load_str(
        "t.kdl",
        "version 1\nprovider \"x_*\" {\n    strategy \"first-in-order\"\n    reason \"r\"\n    owner \"o\"\n    expires \"2030-01-01\"\n}\n",
        KVER,
    )
    .unwrap();
    let (ra, rb) = (&a.providers[0], &b.providers[0]);
    assert_eq!(ra.strategy, rb.strategy);
    assert_eq!(
        (&ra.meta.reason, &ra.meta.owner),
        (&rb.meta.reason, &rb.meta.owner)
    );
    assert_eq!(ra.meta.expires.map(|x| x.0), rb.meta.expires.map(|x| x.0));
}

/// Rules: top layer first, file order within a layer. Settings: the top-most layer that
/// sets each one.
#[test]
fn layering_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.kdl");
    let site = dir.path().join("site.kdl");
    std::fs::write(
        &base,
        "version 1\ndefaults {\n    provider \"first-in-order\"\n    vmlinux-winner \"vmlinux\"\n}\nseverity {\n    duplicate-export \"deny\"\n    vmlinux-conflict \"warn\"\n}\nprovider \"a\" strategy=\"first-in-order\"\nprovider \"b\" strategy=\"first-in-order\"\n",
    )
    .unwrap();
    std::fs::write(&site, "version 1\ndefaults {\n    vmlinux-winner \"module\"\n}\nseverity {\n    duplicate-export \"allow\"\n}\nprovider \"a\" strategy=\"last-in-order\"\n").unwrap();
    let p = load(&[base.clone(), site.clone()], KVER).unwrap();
    let order: Vec<(String, &str, usize)> = p
        .providers
        .iter()
        .map(|r| {
            (
                r.symbols[0].as_str().to_string(),
                r.strategy.name(),
                r.meta.layer,
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("a".to_string(), "last-in-order", 1),
            ("a".to_string(), "first-in-order", 0),
            ("b".to_string(), "first-in-order", 0)
        ]
    );
    assert_eq!(
        p.default_provider.value,
        Strategy::FirstInOrder,
        "only base sets it"
    );
    assert_eq!(
        p.default_vmlinux_winner.value,
        Winner::Module,
        "site is above base"
    );
    assert_eq!(
        p.sources
            .get(p.default_vmlinux_winner.loc.unwrap().file)
            .path,
        site
    );
    assert_eq!(p.level(Code::DuplicateExport), Level::Allow);
    assert_eq!(p.level(Code::VmlinuxConflict), Level::Warn);
    assert_eq!(
        p.level(Code::ShadowedRule),
        Code::ShadowedRule.default_level(),
        "not named: default level"
    );

    // The other way round.
    let p = load(&[site.clone(), base.clone()], KVER).unwrap();
    assert_eq!(p.providers[0].strategy, Strategy::FirstInOrder);
    assert_eq!(p.default_vmlinux_winner.value, Winner::Vmlinux);
    assert_eq!(p.level(Code::DuplicateExport), Level::Deny);

    // include: the included file is below the including one.
    let inc = dir.path().join("inc.kdl");
    std::fs::write(&inc, "version 1\ninclude \"base.kdl\"\nprovider \"a\" strategy=\"last-in-order\"\nseverity {\n    duplicate-export \"warn\"\n}\n").unwrap();
    let p = load(std::slice::from_ref(&inc), KVER).unwrap();
    assert_eq!(p.providers[0].strategy, Strategy::LastInOrder);
    assert_eq!(p.sources.get(p.providers[0].meta.loc.file).path, inc);
    assert_eq!(p.level(Code::DuplicateExport), Level::Warn);
    assert_eq!(p.default_provider.value, Strategy::FirstInOrder);
    // `--policy site --policy inc`: inc's include (base) is above site.
    let p = load(&[site, inc], KVER).unwrap();
    let layers: Vec<(&str, usize)> = p
        .providers
        .iter()
        .map(|r| (r.strategy.name(), r.meta.layer))
        .collect();
    assert_eq!(
        layers,
        [
            ("last-in-order", 2),
            ("first-in-order", 1),
            ("first-in-order", 1),
            ("last-in-order", 0)
        ]
    );
    assert_eq!(
        p.default_vmlinux_winner.value,
        Winner::Vmlinux,
        "base (via inc) is above site"
    );
}

/// The entries of a search configuration, without their origins.
type Entries = (
    Vec<SearchEntry>,
    Vec<(String, String)>,
    Vec<String>,
    Vec<std::path::PathBuf>,
);

fn entries(c: &SearchConfig) -> Entries {
    (
        c.search.iter().map(|x| x.0.clone()).collect(),
        c.overrides
            .iter()
            .map(|(o, _)| (o.modname.clone(), o.subdir.clone()))
            .collect(),
        c.excludes.iter().map(|x| x.0.clone()).collect(),
        c.externals.iter().map(|x| x.0.clone()).collect(),
    )
}

fn depmod_d(text: &str) -> SearchConfig {
    let mut c = SearchConfig::default();
    let mut msgs = Vec::new();
    parse_config(
        std::path::Path::new("x.conf"),
        text,
        KVER,
        &mut c,
        &mut msgs,
    );
    assert!(msgs.is_empty(), "{msgs:?}");
    c
}

/// `search_config()` is what the equivalent depmod.d gives, in kmod's stored order.
#[test]
fn search_config_order() {
    let p = load_str(
        "t.kdl",
        r#"version 1
depmod {
    search "updates" "extra" "built-in" "external"
    override "m1" "extra" kernel="*"
    override "m2" "vendor" kernel="6\\.1\\..*"
    override "m3" "extra" kernel="5\\.10\\..*"
    exclude "a" "b.ko"
    external "/opt/one" kernel="*"
    external "/opt/two" kernel="^5"
    external "/opt/three" kernel="6"
}
"#,
        KVER,
    )
    .unwrap();
    let c = p.search_config().expect("a depmod block");
    let want = depmod_d(
        "search updates extra built-in external\noverride m1 * extra\noverride m2 6\\.1\\..* vendor\noverride m3 5\\.10\\..* extra\nexclude a b.ko\nexternal * /opt/one\nexternal ^5 /opt/two\nexternal 6 /opt/three\n",
    );
    assert_eq!(entries(&c), entries(&want));
    // Stored order is the reverse of declaration; the effective list, reversed, is the
    // declaration order (highest priority first).
    let mut eff = c.effective_search();
    eff.reverse();
    assert_eq!(
        eff,
        [
            SearchEntry::Dir("updates".into()),
            SearchEntry::Dir("extra".into()),
            SearchEntry::BuiltIn,
            SearchEntry::External
        ]
    );
    // Each setting remembers where it was written.
    let o = c
        .search
        .iter()
        .find(|(e, _)| *e == SearchEntry::BuiltIn)
        .and_then(|x| x.1.clone())
        .unwrap();
    assert_eq!((o.file.to_str(), o.line), (Some("t.kdl"), 3));
    assert_eq!(
        c.overrides
            .iter()
            .map(|(_, o)| o.as_ref().unwrap().line)
            .collect::<Vec<_>>(),
        [5, 4]
    );

    // Layers: search from the top-most layer that has one; the rest accumulates, lowest
    // layer first, as if the files were read one after the other.
    let dir = tempfile::tempdir().unwrap();
    let low = dir.path().join("low.kdl");
    let high = dir.path().join("high.kdl");
    std::fs::write(&low, "version 1\ndepmod {\n    search \"extra\"\n    override \"m\" \"extra\" kernel=\"*\"\n    exclude \"x\"\n    external \"/opt/low\" kernel=\"*\"\n}\n").unwrap();
    std::fs::write(&high, "version 1\ndepmod {\n    search \"updates\" \"built-in\"\n    override \"m\" \"vendor\" kernel=\"*\"\n    exclude \"y\"\n    external \"/opt/high\" kernel=\"*\"\n}\n").unwrap();
    let c = load(&[low.clone(), high.clone()], KVER)
        .unwrap()
        .search_config()
        .unwrap();
    let want = depmod_d("search updates built-in\noverride m * extra\nexclude x\nexternal * /opt/low\noverride m * vendor\nexclude y\nexternal * /opt/high\n");
    assert_eq!(entries(&c), entries(&want));
    // A layer without `search` keeps the lower layer's.
    std::fs::write(&high, "version 1\ndepmod {\n    exclude \"y\"\n}\n").unwrap();
    let c = load(&[low, high], KVER).unwrap().search_config().unwrap();
    assert_eq!(entries(&c).0, [SearchEntry::Dir("extra".into())]);
    // An empty block: depmod.d is not read, and the default list applies.
    let c = load_str("t.kdl", "version 1\ndepmod {\n}\n", KVER)
        .unwrap()
        .search_config()
        .expect("present");
    assert_eq!(c, SearchConfig::default());
    assert_eq!(c.effective_search(), [SearchEntry::Dir("updates".into())]);
    // No block at all: None.
    assert!(load_str("t.kdl", "version 1\n", KVER)
        .unwrap()
        .search_config()
        .is_none());
}

#[test]
fn plugin_nodes_decode_with_limits_config_and_files() {
    let sha = "ab".repeat(32);
    let text = format!(
        "version 1\nplugin \"kabi\" {{\n    path \"p/kabi.wasm\"\n    sha256 \"{}\"\n    fuel 123\n    memory \"64MiB\"\n    stack 65536\n    timeout-ms 50\n    max-output \"1KiB\"\n    on-failure \"warn\"\n    config {{ a \"1\"; b \"2\" }}\n    config \"c\" \"3\"\n    files \"base.symvers\" \"other\"\n}}\nseverity {{\n    \"kabi/moved\" \"deny\"\n}}\nallow-finding \"kabi/*\" {{\n    modules \"m\"\n    reason \"r\"\n}}\n",
        sha.to_uppercase()
    );
    let p = crate::policy::load_str("dir/site.kdl", &text, "6.1").expect("valid");
    let d = &p.plugins[0];
    assert_eq!(d.name, "kabi");
    assert_eq!(
        d.path,
        std::path::PathBuf::from("dir/p/kabi.wasm"),
        "relative to the policy"
    );
    assert_eq!(d.sha256, sha, "lowercased");
    assert_eq!(d.limits.fuel, Some(123));
    assert_eq!(d.limits.memory, Some(64 << 20));
    assert_eq!(d.limits.stack, Some(65536));
    assert_eq!(d.limits.timeout_ms, Some(50));
    assert_eq!(d.limits.max_output, Some(1024));
    assert_eq!(d.on_failure, Some(crate::diag::Level::Warn));
    let cfg: Vec<(&str, &str)> = d
        .config
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(cfg, [("a", "1"), ("b", "2"), ("c", "3")]);
    assert_eq!(d.files[0].0, "base.symvers");
    assert_eq!(d.files[0].1, std::path::PathBuf::from("dir/base.symvers"));
    assert_eq!(
        p.plugin_severities["kabi/moved"].value,
        crate::diag::Level::Deny
    );
    assert_eq!(p.allow_findings.len(), 1);
}

#[test]
fn plugin_node_mistakes() {
    let z = "0".repeat(64);
    expect_one(
        &format!("version 1\nplugin \"x\" {{\n    path \"a\"\n    sha256 \"{z}\"\n    timeout \"1\"\n}}\n"),
        w("policy::unknown-node", "unknown setting `timeout` in `plugin`", Some("did you mean `timeout-ms`?"), 5, "timeout"),
    );
    expect_one(
        &format!("version 1\nplugin \"x\" {{\n    path \"a\"\n    sha256 \"{z}\"\n    memory \"lots\"\n}}\n"),
        w("policy::bad-size", "`memory` must be a size such as \"64MiB\", found `lots`", Some("a number of bytes, or one followed by KiB, MiB or GiB"), 5, "\"lots\""),
    );
    expect_one(
        "version 1\nallow-finding \"duplicate-export\" { reason \"r\" }\n",
        w(
            "policy::bad-plugin-code",
            "`allow-finding` takes plugin codes (PLUGIN/CODE), found `duplicate-export`",
            Some("built-in findings are governed by `severity` and `allow-duplicate`"),
            2,
            "allow-finding \"duplicate-export\" { reason \"r\" }",
        ),
    );
}

#[test]
fn a_higher_layer_replaces_a_plugin_of_the_same_name() {
    let dir = tempfile::tempdir().unwrap();
    let z = "0".repeat(64);
    let o = "1".repeat(64);
    std::fs::write(dir.path().join("base.kdl"), format!("version 1\nplugin \"p\" {{ path \"a.wasm\"; sha256 \"{z}\" }}\nplugin \"q\" {{ path \"q.wasm\"; sha256 \"{z}\" }}\n")).unwrap();
    std::fs::write(
        dir.path().join("site.kdl"),
        format!(
            "version 1\ninclude \"base.kdl\"\nplugin \"p\" {{ path \"b.wasm\"; sha256 \"{o}\" }}\n"
        ),
    )
    .unwrap();
    let p = crate::policy::load(&[dir.path().join("site.kdl")], "6.1").unwrap();
    let names: Vec<(&str, &str)> = p
        .plugins
        .iter()
        .map(|d| (d.name.as_str(), d.sha256.as_str()))
        .collect();
    assert_eq!(names, [("p", o.as_str()), ("q", z.as_str())]);
    assert!(p.plugins[0].path.ends_with("b.wasm"));
}

/// Loading, linting and looking up rules is linear in the number of rules: counted, not
/// timed. Before, the shadowed-rule lint compared every rule with every earlier one
/// (n²/2 = 50 million comparisons for 10,000 rules) and each provider choice tried
/// every rule.
#[test]
fn rule_work_is_linear_in_the_rules() {
    use std::fmt::Write as _;
    let n = 10_000;
    let mut text = String::from("version 1\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "provider \"sym_{i}_*\" \"common_{}\" {{\n    prefer \"mod_{i}\"\n}}",
            i % 7
        );
    }
    text.push_str("provider \"sym_5_*\" {\n    prefer \"other\"\n}\n");
    let policy = super::load_str("big.kdl", &text, "6.1.0").unwrap();
    assert_eq!(policy.providers[0].meta.loc.line, 2);
    assert_eq!(policy.providers[n].meta.loc.line, 2 + 3 * n);
    let engine = super::engine::PolicyEngine::new(
        &policy,
        super::model::Date::parse("2026-01-01").unwrap(),
        Vec::new(),
    );
    let lints = engine.lints();
    let shadowed: Vec<_> = lints
        .iter()
        .filter(|f| f.code == crate::diag::Code::ShadowedRule)
        .collect();
    assert_eq!(shadowed.len(), 1, "{shadowed:?}");
    assert!(
        shadowed[0].message.contains("the rule on line 17"),
        "{}",
        shadowed[0].message
    );
    for i in (0..n).step_by(10) {
        let (ix, _) = engine.first_provider_rule(&format!("sym_{i}_x")).unwrap();
        assert_eq!(ix, i);
    }
    assert_eq!(engine.first_provider_rule("common_3").unwrap().0, 3);
    assert!(engine.first_provider_rule("nothing").is_none());
    let tried = engine.rules_tried();
    assert!(
        tried < 4 * n,
        "{tried} rules tried or compared for {n} rules"
    );
}
