//! KDL → typed policy rules for one file, with every mistake collected.
//!
//! Decoding never stops at the first error: each problem becomes a [`PolicyDiagnostic`]
//! with a span and, for misspelt names, a "did you mean" hint, so a user sees every
//! mistake in one run. Unknown nodes and properties are errors, not ignored.

use super::glob::Pattern;
use super::model::*;
use super::source::{FileId, LineIndex, Loc};
use crate::diag::{Code, Level};
use crate::load::config::SearchEntry;
use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use std::collections::HashMap;
use std::path::PathBuf;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDiagnostic {
    /// A stable code (`policy::unknown-node`, ...).
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Where.
    pub loc: Loc,
    /// The label at the span.
    pub label: String,
    /// A hint.
    pub help: Option<String>,
}

/// One file's decoded content (not yet merged with other layers).
#[derive(Debug, Clone, Default)]
pub struct FileRules {
    /// `include` paths, as written, with their locations.
    pub includes: Vec<(String, Loc)>,
    /// `defaults provider`.
    pub default_provider: Option<(Strategy, Loc)>,
    /// `defaults vmlinux-winner`.
    pub default_vmlinux_winner: Option<(Winner, Loc)>,
    /// `severity` entries.
    pub severities: Vec<(Code, Level, Loc)>,
    /// Rules in file order.
    pub providers: Vec<ProviderRule>,
    /// Entries in file order.
    pub allow_duplicates: Vec<AllowDuplicate>,
    /// Rules in file order.
    pub vmlinux: Vec<VmlinuxRule>,
    /// depmod settings.
    pub depmod: DepmodSettings,
    /// `plugin` nodes, paths as written (the loader resolves them).
    pub plugins: Vec<PluginDecl>,
    /// `allow-finding` entries in file order.
    pub allow_findings: Vec<AllowFinding>,
    /// `severity` entries for plugin codes (`PLUGIN/CODE`).
    pub plugin_severities: Vec<(String, Level, Loc)>,
    /// `abi-tolerate` and `abi-deny` rules in file order.
    pub abi: Vec<AbiRule>,
}

/// One setting of a rule: its name, its values with their locations, and where it is.
type Setting = (String, Vec<(KdlValue, Loc)>, Loc);

const TOP_NODES: &[&str] = &[
    "version",
    "include",
    "defaults",
    "severity",
    "allow-duplicate",
    "provider",
    "vmlinux-conflict",
    "depmod",
    "plugin",
    "allow-finding",
    "abi-tolerate",
    "abi-deny",
];
const STRATEGIES: &[&str] = &["first-in-order", "last-in-order", "search-order"];

/// The policy language version this build reads.
pub const POLICY_VERSION: i128 = 1;

struct Cx<'a> {
    file: FileId,
    text: &'a str,
    lines: LineIndex,
    layer: usize,
    kver: &'a str,
    diags: Vec<PolicyDiagnostic>,
}

fn did_you_mean(word: &str, candidates: &[&str]) -> Option<String> {
    if let Some(c) = candidates
        .iter()
        .filter(|c| c.len() >= 4 && (word.starts_with(**c) || c.starts_with(word)))
        .max_by_key(|c| c.len())
    {
        return Some(format!("did you mean `{c}`?"));
    }
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

impl Cx<'_> {
    fn loc(&self, span: miette::SourceSpan) -> Loc {
        self.lines.loc(self.file, span)
    }

    fn err(
        &mut self,
        code: &'static str,
        span: miette::SourceSpan,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let loc = self.loc(span);
        self.diags.push(PolicyDiagnostic {
            code,
            message: message.into(),
            loc,
            label: label.into(),
            help,
        });
    }

    /// The span of a property's value alone (`key=value` → `value`), so that a bad value
    /// is labelled the same whether written as a property or as a child node.
    fn value_span(&self, e: &KdlEntry) -> miette::SourceSpan {
        let (off, len) = (e.span().offset(), e.span().len());
        let text = self.text.get(off..off + len).unwrap_or("");
        match text.find('=') {
            Some(eq) => {
                let rest = &text[eq + 1..];
                let skip = rest.len() - rest.trim_start().len();
                let start = off + eq + 1 + skip;
                let end = off + text.trim_end().len();
                (start, end.saturating_sub(start)).into()
            }
            None => e.span(),
        }
    }

    fn args<'n>(&self, node: &'n KdlNode) -> Vec<&'n KdlEntry> {
        node.entries()
            .iter()
            .filter(|e| e.name().is_none())
            .collect()
    }

    fn string_args(&mut self, node: &KdlNode, what: &str) -> Vec<(String, Loc)> {
        let mut out = Vec::new();
        for e in self.args(node) {
            match e.value() {
                KdlValue::String(s) => out.push((s.clone(), self.loc(e.span()))),
                v => self.err(
                    "policy::wrong-type",
                    e.span(),
                    format!(
                        "`{}` takes {what} as strings, found {}",
                        node.name().value(),
                        kind(v)
                    ),
                    "expected a string",
                    None,
                ),
            }
        }
        out
    }

    fn no_args(&mut self, node: &KdlNode) {
        if let Some(e) = self.args(node).first() {
            self.err(
                "policy::unexpected-argument",
                e.span(),
                format!("`{}` takes no arguments", node.name().value()),
                "unexpected argument",
                None,
            );
        }
    }

    /// Reads the settings of a rule node: its properties and child nodes, each named in
    /// `allowed`; reports unknown ones. Returns `(name, values, loc)` per setting.
    fn settings(&mut self, node: &KdlNode, allowed: &[&str]) -> Vec<Setting> {
        let mut out = Vec::new();
        for e in node.entries() {
            if let Some(n) = e.name() {
                let name = n.value().to_string();
                if allowed.contains(&name.as_str()) {
                    let vspan = self.value_span(e);
                    out.push((
                        name,
                        vec![(e.value().clone(), self.loc(vspan))],
                        self.loc(e.span()),
                    ));
                } else {
                    let help = did_you_mean(&name, allowed);
                    self.err(
                        "policy::unknown-property",
                        e.span(),
                        format!("unknown property `{name}` on `{}`", node.name().value()),
                        "unknown property",
                        help,
                    );
                }
            }
        }
        if let Some(children) = node.children() {
            for c in children.nodes() {
                let name = c.name().value().to_string();
                if !allowed.contains(&name.as_str()) {
                    let help = did_you_mean(&name, allowed);
                    self.err(
                        "policy::unknown-node",
                        c.name().span(),
                        format!("unknown setting `{name}` in `{}`", node.name().value()),
                        "unknown setting",
                        help,
                    );
                    continue;
                }
                for e in c.entries().iter().filter(|e| e.name().is_some()) {
                    self.err(
                        "policy::unexpected-property",
                        e.span(),
                        format!("`{name}` takes no properties"),
                        "unexpected property",
                        None,
                    );
                }
                if c.children().is_some() {
                    self.err(
                        "policy::unexpected-children",
                        c.span(),
                        format!("`{name}` takes no children"),
                        "unexpected block",
                        None,
                    );
                }
                let vals = c
                    .entries()
                    .iter()
                    .filter(|e| e.name().is_none())
                    .map(|e| (e.value().clone(), self.loc(e.span())))
                    .collect();
                out.push((name, vals, self.loc(c.span())));
            }
        }
        // A setting given twice is a mistake.
        let mut seen = std::collections::HashSet::new();
        for (name, _, l) in &out {
            if !seen.insert(name.as_str()) && name != "modules" && name != "prefer" {
                let l = *l;
                self.diags.push(PolicyDiagnostic {
                    code: "policy::duplicate-setting",
                    message: format!("`{name}` is set twice"),
                    loc: l,
                    label: "set again here".into(),
                    help: None,
                });
            }
        }
        out
    }

    fn one_string(
        &mut self,
        name: &str,
        vals: &[(KdlValue, Loc)],
        at: Loc,
    ) -> Option<(String, Loc)> {
        match vals {
            [(KdlValue::String(s), l)] => Some((s.clone(), *l)),
            [(v, l)] => {
                self.diags.push(PolicyDiagnostic {
                    code: "policy::wrong-type",
                    message: format!("`{name}` must be a string, found {}", kind(v)),
                    loc: *l,
                    label: "expected a string".into(),
                    help: None,
                });
                None
            }
            _ => {
                self.diags.push(PolicyDiagnostic {
                    code: "policy::wrong-arity",
                    message: format!("`{name}` takes exactly one value"),
                    loc: at,
                    label: "here".into(),
                    help: None,
                });
                None
            }
        }
    }

    fn patterns(&mut self, vals: &[(KdlValue, Loc)], module: bool) -> Vec<Pattern> {
        let mut out = Vec::new();
        for (v, l) in vals {
            let KdlValue::String(s) = v else {
                self.diags.push(PolicyDiagnostic {
                    code: "policy::wrong-type",
                    message: format!("a pattern must be a string, found {}", kind(v)),
                    loc: *l,
                    label: "expected a string".into(),
                    help: None,
                });
                continue;
            };
            let p = if module {
                Pattern::module(s)
            } else {
                Pattern::symbol(s)
            };
            match p {
                Ok(p) => out.push(p),
                Err(e) => self.diags.push(PolicyDiagnostic {
                    code: "policy::bad-pattern",
                    message: format!("invalid pattern `{s}`: {e}"),
                    loc: *l,
                    label: "invalid pattern".into(),
                    help: None,
                }),
            }
        }
        out
    }

    fn symbol_patterns(&mut self, node: &KdlNode) -> Vec<Pattern> {
        let vals: Vec<(KdlValue, Loc)> = self
            .args(node)
            .iter()
            .map(|e| (e.value().clone(), self.loc(e.span())))
            .collect();
        if vals.is_empty() {
            self.err(
                "policy::missing-argument",
                node.name().span(),
                format!(
                    "`{}` needs at least one symbol pattern",
                    node.name().value()
                ),
                "no symbol pattern",
                Some(format!(
                    "e.g. `{} \"my_symbol\" {{ ... }}`",
                    node.name().value()
                )),
            );
        }
        self.patterns(&vals, false)
    }

    fn meta(&mut self, node: &KdlNode, settings: &[Setting], reason_required: bool) -> Meta {
        let mut m = Meta {
            loc: self.loc(node.span()),
            reason: None,
            owner: None,
            expires: None,
            layer: self.layer,
        };
        for (name, vals, at) in settings {
            match name.as_str() {
                "reason" => m.reason = self.one_string(name, vals, *at).map(|x| x.0),
                "owner" => m.owner = self.one_string(name, vals, *at).map(|x| x.0),
                "expires" => {
                    if let Some((s, l)) = self.one_string(name, vals, *at) {
                        match Date::parse(&s) {
                            Some(d) => m.expires = Some((d, l)),
                            None => self.diags.push(PolicyDiagnostic {
                                code: "policy::bad-date",
                                message: format!(
                                    "`expires` must be a date YYYY-MM-DD, found `{s}`"
                                ),
                                loc: l,
                                label: "not a date".into(),
                                help: None,
                            }),
                        }
                    }
                }
                _ => {}
            }
        }
        if reason_required && m.reason.is_none() {
            self.err(
                "policy::missing-reason",
                node.name().span(),
                format!("`{}` needs a `reason`", node.name().value()),
                "no reason given",
                Some("say why the exception exists: `reason \"...\"`".into()),
            );
        }
        m
    }

    fn level(&mut self, s: &str, l: Loc) -> Option<Level> {
        let lv = Level::parse(s);
        if lv.is_none() {
            let help = did_you_mean(s, &["allow", "warn", "deny"]);
            self.diags.push(PolicyDiagnostic {
                code: "policy::bad-level",
                message: format!("unknown level `{s}` (allow, warn or deny)"),
                loc: l,
                label: "unknown level".into(),
                help,
            });
        }
        lv
    }

    fn strategy(&mut self, s: &str, l: Loc) -> Option<Strategy> {
        match s {
            "first-in-order" => Some(Strategy::FirstInOrder),
            "last-in-order" => Some(Strategy::LastInOrder),
            "search-order" => Some(Strategy::SearchOrder),
            _ => {
                let help = did_you_mean(s, STRATEGIES).or_else(|| {
                    Some(format!(
                        "one of {}, or a `prefer` list",
                        STRATEGIES.join(", ")
                    ))
                });
                self.diags.push(PolicyDiagnostic {
                    code: "policy::bad-strategy",
                    message: format!("unknown provider strategy `{s}`"),
                    loc: l,
                    label: "unknown strategy".into(),
                    help,
                });
                None
            }
        }
    }

    fn winner(&mut self, s: &str, l: Loc) -> Option<Winner> {
        match s {
            "module" => Some(Winner::Module),
            "vmlinux" => Some(Winner::Vmlinux),
            _ => {
                let help = did_you_mean(s, &["module", "vmlinux"]);
                self.diags.push(PolicyDiagnostic {
                    code: "policy::bad-winner",
                    message: format!("unknown winner `{s}` (module or vmlinux)"),
                    loc: l,
                    label: "unknown winner".into(),
                    help,
                });
                None
            }
        }
    }
}

fn kind(v: &KdlValue) -> &'static str {
    match v {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

/// Whether `diags` holds a `policy::bad-level` diagnostic, searching only what was added
/// since the last call (`state`: how far it searched, and whether it found one), so that
/// asking once per rule stays linear.
fn bad_level_seen(diags: &[PolicyDiagnostic], state: &mut (usize, bool)) -> bool {
    if !state.1 {
        state.1 = diags[state.0..]
            .iter()
            .any(|d| d.code == "policy::bad-level");
        state.0 = diags.len();
    }
    state.1
}

/// Decodes one parsed policy file. `kver` filters `override`/`external` kernel patterns.
pub fn decode_file(
    doc: &KdlDocument,
    file: FileId,
    text: &str,
    layer: usize,
    kver: &str,
) -> (FileRules, Vec<PolicyDiagnostic>) {
    let mut cx = Cx {
        file,
        text,
        lines: LineIndex::new(text),
        layer,
        kver,
        diags: Vec::new(),
    };
    let mut r = FileRules::default();
    let mut version_seen = false;
    let mut plugin_names = std::collections::HashSet::new();
    // How far `cx.diags` has been searched for a `bad-level` diagnostic (none found).
    let mut bad_level_checked = (0, false);
    for (i, node) in doc.nodes().iter().enumerate() {
        let name = node.name().value();
        match name {
            "version" => {
                version_seen = true;
                if i != 0 {
                    cx.err(
                        "policy::version-not-first",
                        node.span(),
                        "`version` must be the first node",
                        "move this to the top",
                        None,
                    );
                }
                match cx.args(node).as_slice() {
                    [e] => match e.value() {
                        KdlValue::Integer(v) if *v == POLICY_VERSION => {}
                        KdlValue::Integer(v) => cx.err("policy::unsupported-version", e.span(), format!("policy language version {v} is not supported (this modpolicy reads version {POLICY_VERSION})"), "unsupported version", None),
                        v => cx.err("policy::wrong-type", e.span(), format!("`version` takes an integer, found {}", kind(v)), "expected an integer", None),
                    },
                    _ => cx.err("policy::wrong-arity", node.span(), "`version` takes exactly one integer", "here", Some(format!("write `version {POLICY_VERSION}`"))),
                }
            }
            "include" => {
                for (p, l) in cx.string_args(node, "paths") {
                    r.includes.push((p, l));
                }
            }
            "defaults" => {
                cx.no_args(node);
                for (n, vals, at) in cx.settings(node, &["provider", "vmlinux-winner"]) {
                    let Some((s, l)) = cx.one_string(&n, &vals, at) else {
                        continue;
                    };
                    if n == "provider" {
                        if let Some(st) = cx.strategy(&s, l) {
                            r.default_provider = Some((st, at));
                        }
                    } else if let Some(w) = cx.winner(&s, l) {
                        r.default_vmlinux_winner = Some((w, at));
                    }
                }
            }
            "severity" => {
                cx.no_args(node);
                let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
                // Plugin codes (`PLUGIN/CODE`) are not known before plugins run: any
                // well-formed one is accepted.
                let plugin_codes: Vec<String> = node
                    .children()
                    .map(|c| {
                        c.nodes()
                            .iter()
                            .map(|n| n.name().value().to_string())
                            .filter(|n| n.contains('/'))
                            .collect()
                    })
                    .unwrap_or_default();
                names.extend(plugin_codes.iter().map(String::as_str));
                for (n, vals, at) in cx.settings(node, &names) {
                    let Some((s, l)) = cx.one_string(&n, &vals, at) else {
                        continue;
                    };
                    let Some(lv) = cx.level(&s, l) else {
                        continue;
                    };
                    if let Some((p, c)) = n.split_once('/') {
                        if crate::plugin::abi::valid_code(p) && crate::plugin::abi::valid_code(c) {
                            r.plugin_severities.push((n.clone(), lv, at));
                        } else {
                            cx.diags.push(PolicyDiagnostic {
                                code: "policy::bad-plugin-code",
                                message: format!("`{n}` is not a plugin code (PLUGIN/CODE, each part a-z, 0-9 and -)"),
                                loc: at,
                                label: "not a plugin code".into(),
                                help: None,
                            });
                        }
                        continue;
                    }
                    let code = Code::from_name(&n).expect("allowed names are codes");
                    r.severities.push((code, lv, at));
                }
            }
            "allow-duplicate" => {
                let symbols = cx.symbol_patterns(node);
                let settings = cx.settings(node, &["modules", "reason", "owner", "expires"]);
                let mut modules = Vec::new();
                for (n, vals, at) in &settings {
                    if n == "modules" {
                        if vals.is_empty() {
                            cx.diags.push(PolicyDiagnostic {
                                code: "policy::missing-argument",
                                message: "`modules` needs at least one module pattern".into(),
                                loc: *at,
                                label: "empty list".into(),
                                help: Some("leave `modules` out to allow any exporters".into()),
                            });
                        }
                        modules.extend(cx.patterns(vals, true));
                    }
                }
                let meta = cx.meta(node, &settings, true);
                r.allow_duplicates.push(AllowDuplicate {
                    symbols,
                    modules,
                    meta,
                });
            }
            "provider" => {
                let symbols = cx.symbol_patterns(node);
                let settings =
                    cx.settings(node, &["prefer", "strategy", "reason", "owner", "expires"]);
                let mut prefer: Option<Vec<Pattern>> = None;
                let mut strategy: Option<(Strategy, Loc)> = None;
                let mut strategy_given = false;
                for (n, vals, at) in &settings {
                    match n.as_str() {
                        "prefer" => {
                            if vals.is_empty() {
                                cx.diags.push(PolicyDiagnostic {
                                    code: "policy::missing-argument",
                                    message: "`prefer` needs at least one module pattern".into(),
                                    loc: *at,
                                    label: "empty list".into(),
                                    help: None,
                                });
                            }
                            prefer
                                .get_or_insert_with(Vec::new)
                                .extend(cx.patterns(vals, true));
                        }
                        "strategy" => {
                            strategy_given = true;
                            if let Some((s, l)) = cx.one_string(n, vals, *at) {
                                if let Some(st) = cx.strategy(&s, l) {
                                    strategy = Some((st, *at));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let meta = cx.meta(node, &settings, false);
                let strategy = match (prefer, strategy) {
                    (Some(p), None) => Strategy::Prefer(p),
                    (None, Some((s, _))) => s,
                    (Some(_), Some((_, l))) => {
                        cx.diags.push(PolicyDiagnostic {
                            code: "policy::contradictory",
                            message:
                                "a `provider` rule takes either `prefer` or `strategy`, not both"
                                    .into(),
                            loc: l,
                            label: "second way of choosing".into(),
                            help: Some(
                                "split it into two rules with different symbol patterns".into(),
                            ),
                        });
                        continue;
                    }
                    (None, None) if strategy_given => continue,
                    (None, None) => {
                        cx.err("policy::missing-setting", node.name().span(), "a `provider` rule needs `prefer` or `strategy`", "says nothing about the provider", Some("e.g. `prefer \"updates/*\" \"*\"` or `strategy \"first-in-order\"`".into()));
                        continue;
                    }
                };
                r.providers.push(ProviderRule {
                    symbols,
                    strategy,
                    meta,
                });
            }
            "vmlinux-conflict" => {
                let symbols = cx.symbol_patterns(node);
                let settings = cx.settings(
                    node,
                    &["modules", "action", "winner", "reason", "owner", "expires"],
                );
                let mut modules = Vec::new();
                let mut action = None;
                let mut winner = None;
                for (n, vals, at) in &settings {
                    match n.as_str() {
                        "modules" => modules.extend(cx.patterns(vals, true)),
                        "action" => {
                            if let Some((s, l)) = cx.one_string(n, vals, *at) {
                                action = cx.level(&s, l);
                            }
                        }
                        "winner" => {
                            if let Some((s, l)) = cx.one_string(n, vals, *at) {
                                winner = cx.winner(&s, l);
                            }
                        }
                        _ => {}
                    }
                }
                let meta = cx.meta(node, &settings, false);
                let Some(action) = action else {
                    if !bad_level_seen(&cx.diags, &mut bad_level_checked) {
                        cx.err(
                            "policy::missing-setting",
                            node.name().span(),
                            "a `vmlinux-conflict` rule needs an `action` (allow, warn or deny)",
                            "no action",
                            None,
                        );
                    }
                    continue;
                };
                let winner = winner.unwrap_or(if action == Level::Deny {
                    Winner::Vmlinux
                } else {
                    Winner::Module
                });
                r.vmlinux.push(VmlinuxRule {
                    symbols,
                    modules,
                    action,
                    winner,
                    meta,
                });
            }
            "depmod" => {
                cx.no_args(node);
                r.depmod.present = true;
                decode_depmod(&mut cx, node, &mut r.depmod);
            }
            "plugin" => {
                if let Some(p) = decode_plugin(&mut cx, node) {
                    if !plugin_names.insert(p.name.clone()) {
                        cx.err(
                            "policy::duplicate-plugin",
                            node.span(),
                            format!("plugin `{}` is declared twice in this file", p.name),
                            "declared again here",
                            None,
                        );
                    } else {
                        r.plugins.push(p);
                    }
                }
            }
            "allow-finding" => {
                let codes = cx.symbol_patterns(node);
                let settings =
                    cx.settings(node, &["modules", "symbols", "reason", "owner", "expires"]);
                let mut modules = Vec::new();
                let mut symbols = Vec::new();
                for (n, vals, _) in &settings {
                    match n.as_str() {
                        "modules" => modules.extend(cx.patterns(vals, true)),
                        "symbols" => symbols.extend(cx.patterns(vals, false)),
                        _ => {}
                    }
                }
                for c in &codes {
                    if !c.as_str().contains('/') {
                        cx.err(
                            "policy::bad-plugin-code",
                            node.span(),
                            format!("`allow-finding` takes plugin codes (PLUGIN/CODE), found `{}`", c.as_str()),
                            "not a plugin code",
                            Some("built-in findings are governed by `severity` and `allow-duplicate`".into()),
                        );
                    }
                }
                let meta = cx.meta(node, &settings, true);
                r.allow_findings.push(AllowFinding {
                    codes,
                    modules,
                    symbols,
                    meta,
                });
            }
            "abi-tolerate" | "abi-deny" => {
                if let Some(rule) = decode_abi(&mut cx, node) {
                    r.abi.push(rule);
                }
            }
            other => {
                let help = did_you_mean(other, TOP_NODES)
                    .or_else(|| Some(format!("policy nodes are: {}", TOP_NODES.join(", "))));
                cx.err(
                    "policy::unknown-node",
                    node.name().span(),
                    format!("unknown policy node `{other}`"),
                    "unknown node",
                    help,
                );
            }
        }
    }
    if !version_seen {
        cx.diags.push(PolicyDiagnostic {
            code: "policy::missing-version",
            message: "policy file has no `version` node".into(),
            loc: Loc {
                file,
                offset: 0,
                len: 0,
                line: 1,
            },
            label: "expected `version 1` here".into(),
            help: Some(format!("start the file with `version {POLICY_VERSION}`")),
        });
    }
    // Contradictions inside one file: the same symbol pattern with two different
    // provider choices, or two different vmlinux verdicts. Each rule is compared with the
    // first earlier rule of the same patterns that chose otherwise, found through a map
    // (comparing every pair was quadratic).
    let key = |v: &[Pattern]| v.iter().map(Pattern::as_str).collect::<Vec<_>>().join("\0");
    for (j, i) in contradictions(
        &r.providers,
        |p| key(&p.symbols),
        |a, b| a.strategy != b.strategy,
    ) {
        let (a, b) = (&r.providers[j], &r.providers[i]);
        cx.diags.push(PolicyDiagnostic {
            code: "policy::contradictory",
            message: format!(
                "this `provider` rule contradicts the one on line {}: same symbols, another choice",
                a.meta.loc.line
            ),
            loc: b.meta.loc,
            label: "contradicting rule".into(),
            help: Some("keep one of the two".into()),
        });
    }
    let vmlinux_key = |v: &VmlinuxRule| format!("{}\0\0{}", key(&v.symbols), key(&v.modules));
    let verdict_differs =
        |a: &VmlinuxRule, b: &VmlinuxRule| a.action != b.action || a.winner != b.winner;
    for (j, i) in contradictions(&r.vmlinux, vmlinux_key, verdict_differs) {
        let (a, b) = (&r.vmlinux[j], &r.vmlinux[i]);
        cx.diags.push(PolicyDiagnostic {
            code: "policy::contradictory",
            message: format!("this `vmlinux-conflict` rule contradicts the one on line {}: same symbols and modules, another verdict", a.meta.loc.line),
            loc: b.meta.loc,
            label: "contradicting rule".into(),
            help: Some("keep one of the two".into()),
        });
    }
    (r, cx.diags)
}

/// Decodes an `abi-tolerate` or `abi-deny` node: optional symbol patterns as arguments,
/// `modules`, `namespaces`, `changes`, and the metadata (`abi-tolerate` needs a reason).
fn decode_abi(cx: &mut Cx<'_>, node: &KdlNode) -> Option<AbiRule> {
    let name = node.name().value();
    let verdict = if name == "abi-tolerate" {
        AbiVerdict::Tolerate
    } else {
        AbiVerdict::Deny
    };
    let vals: Vec<(KdlValue, Loc)> = cx
        .args(node)
        .iter()
        .map(|e| (e.value().clone(), cx.loc(e.span())))
        .collect();
    let symbols = cx.patterns(&vals, false);
    let settings = cx.settings(
        node,
        &[
            "modules",
            "namespaces",
            "changes",
            "reason",
            "owner",
            "expires",
        ],
    );
    let (mut modules, mut namespaces, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    let mut selected = !vals.is_empty();
    let kinds: Vec<&str> = crate::abi::ChangeKind::ALL
        .iter()
        .map(|k| k.name())
        .collect();
    for (n, vals, at) in &settings {
        let list = match n.as_str() {
            "modules" | "namespaces" | "changes" => n.as_str(),
            _ => continue,
        };
        selected = true;
        if vals.is_empty() {
            cx.diags.push(PolicyDiagnostic {
                code: "policy::missing-argument",
                message: format!("`{list}` needs at least one value"),
                loc: *at,
                label: "empty list".into(),
                help: Some(format!("leave `{list}` out to match any")),
            });
        }
        match list {
            "modules" => {
                for (v, l) in vals {
                    match v {
                        // A path pattern matches the whole path, `*` crossing `/` (as in
                        // SUSE's severities); a name pattern folds `-` to `_`.
                        KdlValue::String(t) if t.contains('/') => {
                            modules.extend(cx.patterns(&[(v.clone(), *l)], false))
                        }
                        _ => modules.extend(cx.patterns(&[(v.clone(), *l)], true)),
                    }
                }
            }
            "namespaces" => namespaces.extend(cx.patterns(vals, false)),
            _ => {
                for (v, l) in vals {
                    let KdlValue::String(t) = v else {
                        cx.diags.push(PolicyDiagnostic {
                            code: "policy::wrong-type",
                            message: format!("a change kind must be a string, found {}", kind(v)),
                            loc: *l,
                            label: "expected a string".into(),
                            help: None,
                        });
                        continue;
                    };
                    match crate::abi::ChangeKind::from_name(t) {
                        Some(k) => changes.push(k),
                        None => {
                            let help = did_you_mean(t, &kinds)
                                .or_else(|| Some(format!("one of {}", kinds.join(", "))));
                            cx.diags.push(PolicyDiagnostic {
                                code: "policy::bad-change",
                                message: format!("unknown ABI change `{t}`"),
                                loc: *l,
                                label: "unknown change".into(),
                                help,
                            });
                        }
                    }
                }
            }
        }
    }
    let meta = cx.meta(node, &settings, verdict == AbiVerdict::Tolerate);
    if !selected {
        cx.err(
            "policy::missing-argument",
            node.name().span(),
            format!("`{name}` needs a symbol pattern, `modules`, `namespaces` or `changes`"),
            "matches nothing in particular",
            Some(format!(
                "e.g. `{name} \"my_symbol\" {{ ... }}`, or `{name} \"*\"` for every change"
            )),
        );
        return None;
    }
    Some(AbiRule {
        verdict,
        symbols,
        modules,
        namespaces,
        changes,
        meta,
    })
}

fn decode_depmod(cx: &mut Cx<'_>, node: &KdlNode, d: &mut DepmodSettings) {
    for e in node.entries().iter().filter(|e| e.name().is_some()) {
        cx.err(
            "policy::unexpected-property",
            e.span(),
            "`depmod` takes no properties",
            "unexpected property",
            None,
        );
    }
    let Some(children) = node.children() else {
        return;
    };
    let allowed = ["search", "override", "exclude", "external"];
    for c in children.nodes() {
        let name = c.name().value();
        let kernel = c
            .entries()
            .iter()
            .find(|e| e.name().map(|n| n.value()) == Some("kernel"));
        for e in c
            .entries()
            .iter()
            .filter(|e| e.name().is_some_and(|n| n.value() != "kernel"))
        {
            let help = (name == "override" || name == "external")
                .then(|| "the only property here is `kernel`".to_string());
            cx.err(
                "policy::unknown-property",
                e.span(),
                format!("unknown property on `{name}`"),
                "unknown property",
                help,
            );
        }
        let kver_ok = match kernel.map(|k| k.value()) {
            None => true,
            Some(KdlValue::String(p)) => crate::load::config::kver_matches(p, cx.kver),
            Some(v) => {
                let span = kernel.expect("present").span();
                cx.err(
                    "policy::wrong-type",
                    span,
                    format!("`kernel` must be a string pattern, found {}", kind(v)),
                    "expected a string",
                    None,
                );
                false
            }
        };
        match name {
            "search" => {
                let v: Vec<(SearchEntry, Loc)> = cx
                    .string_args(c, "directories")
                    .into_iter()
                    .map(|(s, l)| {
                        let e = match s.as_str() {
                            "built-in" => SearchEntry::BuiltIn,
                            "external" => SearchEntry::External,
                            _ => SearchEntry::Dir(s),
                        };
                        (e, l)
                    })
                    .collect();
                d.search.get_or_insert_with(Vec::new).extend(v);
            }
            "override" => {
                let a = cx.string_args(c, "a module name and a subdirectory");
                match a.as_slice() {
                    [(m, _), (s, _)] => {
                        if kver_ok {
                            d.overrides.push((m.clone(), s.clone(), cx.loc(c.span())));
                        }
                    }
                    _ => cx.err(
                        "policy::wrong-arity",
                        c.span(),
                        "`override` takes a module name and a subdirectory",
                        "here",
                        Some("e.g. `override \"e1000e\" \"updates\" kernel=\"*\"`".into()),
                    ),
                }
            }
            "exclude" => {
                for (s, l) in cx.string_args(c, "names") {
                    d.excludes.push((s, l));
                }
            }
            "external" => {
                let a = cx.string_args(c, "a directory");
                match a.as_slice() {
                    [(dir, l)] => {
                        if !dir.starts_with('/') {
                            cx.diags.push(PolicyDiagnostic {
                                code: "policy::relative-external",
                                message: format!("external directory `{dir}` must be absolute"),
                                loc: *l,
                                label: "relative path".into(),
                                help: None,
                            });
                        } else if kver_ok {
                            d.externals.push((PathBuf::from(dir), cx.loc(c.span())));
                        }
                    }
                    _ => cx.err(
                        "policy::wrong-arity",
                        c.span(),
                        "`external` takes one absolute directory",
                        "here",
                        None,
                    ),
                }
            }
            other => {
                let help = did_you_mean(other, &allowed);
                cx.err(
                    "policy::unknown-node",
                    c.name().span(),
                    format!("unknown `depmod` setting `{other}`"),
                    "unknown setting",
                    help,
                );
            }
        }
    }
}

const PLUGIN_SETTINGS: &[&str] = &[
    "path",
    "sha256",
    "fuel",
    "memory",
    "stack",
    "timeout-ms",
    "max-output",
    "on-failure",
    "config",
    "files",
    "reason",
    "owner",
];

/// Parses a size: an integer (bytes), or a string `N`, `NKiB`, `NMiB`, `NGiB` (also `K`,
/// `M`, `G`, `KB`, `MB`, `GB`, all powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = s.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KiB" | "k" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Decodes a `plugin "NAME" { ... }` node. Settings are child nodes, or properties for
/// the single-valued ones; `config` is a block of `KEY "VALUE"` children or a
/// `config "KEY" "VALUE"` node (repeatable).
fn decode_plugin(cx: &mut Cx<'_>, node: &KdlNode) -> Option<PluginDecl> {
    let args = cx.string_args(node, "a name");
    let name = match args.as_slice() {
        [(n, l)] => {
            if !crate::plugin::abi::valid_code(n) {
                cx.diags.push(PolicyDiagnostic {
                    code: "policy::bad-plugin-name",
                    message: format!("plugin name `{n}` must be 1-64 characters of a-z, 0-9 and -"),
                    loc: *l,
                    label: "invalid name".into(),
                    help: None,
                });
                return None;
            }
            n.clone()
        }
        _ => {
            cx.err(
                "policy::wrong-arity",
                node.name().span(),
                "`plugin` takes exactly one name",
                "here",
                Some("e.g. `plugin \"kabi\" { path \"kabi.wasm\"; sha256 \"...\" }`".into()),
            );
            return None;
        }
    };
    let mut p = PluginDecl {
        name,
        path: PathBuf::new(),
        sha256: String::new(),
        limits: PluginLimits::default(),
        config: Vec::new(),
        files: Vec::new(),
        on_failure: None,
        meta: Meta {
            loc: cx.loc(node.span()),
            reason: None,
            owner: None,
            expires: None,
            layer: cx.layer,
        },
    };
    // (name, values, location of the setting)
    let mut settings: Vec<Setting> = Vec::new();
    for e in node.entries() {
        if let Some(n) = e.name() {
            let n = n.value().to_string();
            if PLUGIN_SETTINGS.contains(&n.as_str()) && n != "config" && n != "files" {
                let vspan = cx.value_span(e);
                settings.push((
                    n,
                    vec![(e.value().clone(), cx.loc(vspan))],
                    cx.loc(e.span()),
                ));
            } else {
                let help = did_you_mean(&n, PLUGIN_SETTINGS);
                cx.err(
                    "policy::unknown-property",
                    e.span(),
                    format!("unknown property `{n}` on `plugin`"),
                    "unknown property",
                    help,
                );
            }
        }
    }
    if let Some(children) = node.children() {
        for c in children.nodes() {
            let n = c.name().value().to_string();
            if !PLUGIN_SETTINGS.contains(&n.as_str()) {
                let help = did_you_mean(&n, PLUGIN_SETTINGS);
                cx.err(
                    "policy::unknown-node",
                    c.name().span(),
                    format!("unknown setting `{n}` in `plugin`"),
                    "unknown setting",
                    help,
                );
                continue;
            }
            if n == "config" {
                decode_plugin_config(cx, c, &mut p.config);
                continue;
            }
            for e in c.entries().iter().filter(|e| e.name().is_some()) {
                cx.err(
                    "policy::unexpected-property",
                    e.span(),
                    format!("`{n}` takes no properties"),
                    "unexpected property",
                    None,
                );
            }
            let vals = c
                .entries()
                .iter()
                .filter(|e| e.name().is_none())
                .map(|e| (e.value().clone(), cx.loc(e.span())))
                .collect();
            settings.push((n, vals, cx.loc(c.span())));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _, at) in &settings {
        if !seen.insert(name.as_str()) && name != "files" {
            cx.diags.push(PolicyDiagnostic {
                code: "policy::duplicate-setting",
                message: format!("`{name}` is set twice"),
                loc: *at,
                label: "set again here".into(),
                help: None,
            });
        }
    }
    let mut have_path = false;
    let mut have_sha = false;
    for (n, vals, at) in &settings {
        match n.as_str() {
            "path" => {
                if let Some((s, _)) = cx.one_string(n, vals, *at) {
                    p.path = PathBuf::from(s);
                    have_path = true;
                }
            }
            "sha256" => {
                if let Some((s, l)) = cx.one_string(n, vals, *at) {
                    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        p.sha256 = s.to_ascii_lowercase();
                        have_sha = true;
                    } else {
                        cx.diags.push(PolicyDiagnostic {
                            code: "policy::bad-sha256",
                            message: format!("`sha256` must be 64 hex digits, found `{s}`"),
                            loc: l,
                            label: "not a sha256".into(),
                            help: Some("compute it with `sha256sum FILE.wasm`".into()),
                        });
                        have_sha = true;
                    }
                }
            }
            "fuel" | "timeout-ms" => {
                let v = match vals.as_slice() {
                    [(KdlValue::Integer(i), _)] if *i > 0 && *i <= i128::from(u64::MAX) => {
                        Some(*i as u64)
                    }
                    [(v, l)] => {
                        cx.diags.push(PolicyDiagnostic {
                            code: "policy::wrong-type",
                            message: format!("`{n}` must be a positive integer, found {}", kind(v)),
                            loc: *l,
                            label: "expected a positive integer".into(),
                            help: None,
                        });
                        None
                    }
                    _ => {
                        cx.one_string(n, vals, *at);
                        None
                    }
                };
                if n == "fuel" {
                    p.limits.fuel = v;
                } else {
                    p.limits.timeout_ms = v;
                }
            }
            "memory" | "stack" | "max-output" => {
                let v = match vals.as_slice() {
                    [(KdlValue::Integer(i), _)] if *i > 0 && *i <= i128::from(u64::MAX) => {
                        Some(*i as u64)
                    }
                    [(KdlValue::String(s), l)] => {
                        let v = parse_size(s).filter(|v| *v > 0);
                        if v.is_none() {
                            cx.diags.push(PolicyDiagnostic {
                                code: "policy::bad-size",
                                message: format!(
                                    "`{n}` must be a size such as \"64MiB\", found `{s}`"
                                ),
                                loc: *l,
                                label: "not a size".into(),
                                help: Some(
                                    "a number of bytes, or one followed by KiB, MiB or GiB".into(),
                                ),
                            });
                        }
                        v
                    }
                    [(v, l)] => {
                        cx.diags.push(PolicyDiagnostic {
                            code: "policy::wrong-type",
                            message: format!("`{n}` must be a size, found {}", kind(v)),
                            loc: *l,
                            label: "expected a size".into(),
                            help: None,
                        });
                        None
                    }
                    _ => {
                        cx.one_string(n, vals, *at);
                        None
                    }
                };
                match n.as_str() {
                    "memory" => p.limits.memory = v,
                    "stack" => p.limits.stack = v,
                    _ => p.limits.max_output = v,
                }
            }
            "on-failure" => {
                if let Some((s, l)) = cx.one_string(n, vals, *at) {
                    p.on_failure = cx.level(&s, l);
                }
            }
            "files" => {
                for (v, l) in vals {
                    match v {
                        KdlValue::String(s) => p.files.push((s.clone(), PathBuf::from(s))),
                        v => cx.diags.push(PolicyDiagnostic {
                            code: "policy::wrong-type",
                            message: format!("`files` takes paths as strings, found {}", kind(v)),
                            loc: *l,
                            label: "expected a string".into(),
                            help: None,
                        }),
                    }
                }
            }
            "reason" => p.meta.reason = cx.one_string(n, vals, *at).map(|x| x.0),
            "owner" => p.meta.owner = cx.one_string(n, vals, *at).map(|x| x.0),
            _ => {}
        }
    }
    if !have_path || !have_sha {
        let missing = if have_path { "sha256" } else { "path" };
        cx.err(
            "policy::missing-setting",
            node.name().span(),
            format!("a `plugin` needs `path` and `sha256`; `{missing}` is missing"),
            format!("no `{missing}`"),
            Some(
                "e.g. `path \"target/plugins/kabi.wasm\"` and `sha256 \"<sha256sum of the file>\"`"
                    .into(),
            ),
        );
        return None;
    }
    Some(p)
}

fn decode_plugin_config(cx: &mut Cx<'_>, c: &KdlNode, out: &mut Vec<(String, String)>) {
    for e in c.entries().iter().filter(|e| e.name().is_some()) {
        cx.err(
            "policy::unexpected-property",
            e.span(),
            "`config` takes no properties",
            "unexpected property",
            Some("write `config \"KEY\" \"VALUE\"` or `config { KEY \"VALUE\" }`".into()),
        );
    }
    let args = cx.string_args(c, "a key and a value");
    match (args.as_slice(), c.children()) {
        ([], Some(block)) => {
            for kv in block.nodes() {
                let key = kv.name().value().to_string();
                let vals = cx.string_args(kv, "a value");
                match vals.as_slice() {
                    [(v, _)] if kv.children().is_none() => out.push((key, v.clone())),
                    _ => cx.err(
                        "policy::wrong-arity",
                        kv.span(),
                        format!("config entry `{key}` takes exactly one string value"),
                        "here",
                        None,
                    ),
                }
            }
        }
        ([(k, _), (v, _)], None) => out.push((k.clone(), v.clone())),
        _ => cx.err(
            "policy::wrong-arity",
            c.span(),
            "`config` takes a key and a value, or a block of `KEY \"VALUE\"` entries",
            "here",
            Some("e.g. `config \"prefix\" \"foo_\"` or `config { prefix \"foo_\" }`".into()),
        ),
    }
}

/// The contradictions among `rules` (in file order): `(j, i)` for each rule `i` that
/// chose otherwise (`differs`) than an earlier rule `j` with the same `key`, `j` being the
/// first earlier rule of that key that chose otherwise. Found through a map: comparing
/// every pair was quadratic.
fn contradictions<T>(
    rules: &[T],
    key: impl Fn(&T) -> String,
    differs: impl Fn(&T, &T) -> bool,
) -> Vec<(usize, usize)> {
    let mut first: HashMap<String, (usize, Option<usize>)> = HashMap::new();
    let mut found = Vec::new();
    for (i, b) in rules.iter().enumerate() {
        let e = first.entry(key(b)).or_insert((i, None));
        let against = if differs(&rules[e.0], b) {
            e.1.get_or_insert(i);
            Some(e.0)
        } else {
            e.1
        };
        if let Some(j) = against.filter(|&j| j < i) {
            found.push((j, i));
        }
    }
    found
}
