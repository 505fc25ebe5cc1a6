//! The policy stage's input: KDL policy files, read, validated and layered.
//!
//! [`load`] reads each `--policy` file (and the files it `include`s) with the `kdl`
//! crate, once [`guard`] has checked that `kdl` can parse it safely, decodes them into
//! typed rules ([`model`]) and merges the layers in a defined order. Every rule keeps its
//! file and line. Mistakes are reported together, each with a span, as a
//! [`PolicyError`]. [`engine`] applies a policy to the export graph.

pub mod decode;
pub mod engine;
pub mod glob;
pub mod guard;
pub mod lookup;
pub mod model;
pub mod source;

pub use decode::PolicyDiagnostic;
pub use model::Policy;

use source::{Loc, Sources};
use std::path::{Path, PathBuf};

/// How deep `include`s may nest.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// The largest policy file accepted. Loading is linear, about 0.47 s of CPU per MiB of
/// rules (7.5 s at this limit; measured in `policies/README.md`): kept this high for
/// generated policies of 100,000 rules (about 6 MB).
pub const MAX_POLICY_SIZE: u64 = 16 << 20;

/// Every problem found while loading a policy.
#[derive(Debug)]
pub struct PolicyError {
    /// The files read so far (for rendering spans).
    pub sources: Sources,
    /// The problems, in file order.
    pub diagnostics: Vec<PolicyDiagnostic>,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let file = self
                .sources
                .files
                .get(d.loc.file.0)
                .map(|s| s.path.display().to_string())
                .unwrap_or_default();
            write!(f, "{file}:{}: {} [{}]", d.loc.line, d.message, d.code)?;
            if let Some(h) = &d.help {
                write!(f, " ({h})")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

impl PolicyError {
    /// One `miette` report per problem, with the span labelled in its source.
    pub fn reports(&self) -> Vec<miette::Report> {
        self.diagnostics
            .iter()
            .map(|d| {
                let mut r = miette::MietteDiagnostic::new(d.message.clone())
                    .with_code(d.code)
                    .with_label(miette::LabeledSpan::at(d.loc.span(), d.label.clone()));
                if let Some(h) = &d.help {
                    r = r.with_help(h.clone());
                }
                let src = if d.loc.file.0 < self.sources.files.len() {
                    Some(self.sources.named(d.loc.file))
                } else {
                    None
                };
                match src {
                    Some(s) => miette::Report::new(r).with_source_code(s),
                    None => miette::Report::new(r),
                }
            })
            .collect()
    }
}

struct Loader<'a> {
    kver: &'a str,
    sources: Sources,
    diags: Vec<PolicyDiagnostic>,
    layers: Vec<decode::FileRules>,
    stack: Vec<PathBuf>,
}

impl Loader<'_> {
    fn load_file(&mut self, path: &Path, from: Option<Loc>) {
        // A file named on the command line may be a pipe (`--policy <(...)`); an
        // included one must be a regular file.
        let accept = match from {
            None => crate::util::fs::Accept::RegularOrPipe,
            Some(_) => crate::util::fs::Accept::Regular,
        };
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let here = from.unwrap_or(Loc {
            file: source::FileId(usize::MAX),
            offset: 0,
            len: 0,
            line: 0,
        });
        if self.stack.contains(&canon) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .chain(std::iter::once(&canon))
                .map(|p| p.display().to_string())
                .collect();
            self.diags.push(PolicyDiagnostic {
                code: "policy::include-cycle",
                message: format!("policy includes itself: {}", chain.join(" -> ")),
                loc: here,
                label: "this include closes the cycle".into(),
                help: None,
            });
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.push(PolicyDiagnostic {
                code: "policy::include-depth",
                message: format!("includes nest deeper than {MAX_INCLUDE_DEPTH} files"),
                loc: here,
                label: "too deep".into(),
                help: None,
            });
            return;
        }
        let text = match read_bounded(path, accept) {
            Ok(b) => match String::from_utf8(b) {
                Ok(t) => t,
                Err(_) => {
                    self.diags.push(PolicyDiagnostic {
                        code: "policy::not-utf8",
                        message: format!("{}: policy file is not UTF-8", path.display()),
                        loc: here,
                        label: "included here".into(),
                        help: None,
                    });
                    return;
                }
            },
            Err(e) => {
                self.diags.push(PolicyDiagnostic {
                    code: "policy::unreadable",
                    message: format!(
                        "cannot read policy file {}: {}",
                        path.display(),
                        crate::load::walk::strerror(&e)
                    ),
                    loc: here,
                    label: "included here".into(),
                    help: None,
                });
                return;
            }
        };
        self.process(path, canon, text);
    }

    fn process(&mut self, path: &Path, canon: PathBuf, text: String) {
        let id = self.sources.add(path.to_path_buf(), text);
        let text = self.sources.get(id).text.clone();
        // `kdl` overflows its stack or takes exponential time on some malformed or deeply
        // nested text: it only sees text the guard accepts (what `kdl` accepts, within
        // bounded depth and work). The guard's first mistake is the one diagnostic.
        if let Err(e) = guard::check(&text) {
            self.diags.push(PolicyDiagnostic {
                code: "policy::syntax",
                message: e.message,
                loc: Loc::new(id, &text, (e.offset, e.len).into()),
                label: e.label,
                help: e.help,
            });
            return;
        }
        let doc: kdl::KdlDocument = match text.parse() {
            Ok(d) => d,
            Err(e) => {
                let e: kdl::KdlError = e;
                let lines = source::LineIndex::new(&text);
                for d in e.diagnostics {
                    let span = d.span;
                    self.diags.push(PolicyDiagnostic {
                        code: "policy::syntax",
                        message: d
                            .message
                            .clone()
                            .unwrap_or_else(|| "KDL syntax error".into()),
                        loc: lines.loc(id, span),
                        label: d.label.clone().unwrap_or_else(|| "here".into()),
                        help: d.help.clone(),
                    });
                }
                return;
            }
        };
        let layer_index = self.layers.len();
        let (rules, diags) = decode::decode_file(&doc, id, &text, layer_index, self.kver);
        self.diags.extend(diags);
        // Includes come first: they are lower layers than the including file.
        self.stack.push(canon);
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (inc, loc) in &rules.includes {
            let p = base.join(inc);
            self.load_file(&p, Some(*loc));
        }
        self.stack.pop();
        // Renumber this file's layer now that its includes are in.
        let mut rules = rules;
        // Plugin files are relative to the policy file that names them.
        for p in &mut rules.plugins {
            p.path = base.join(&p.path);
            for (_, f) in &mut p.files {
                *f = base.join(&*f);
            }
        }

        let layer = self.layers.len();
        for r in &mut rules.providers {
            r.meta.layer = layer;
        }
        for r in &mut rules.allow_duplicates {
            r.meta.layer = layer;
        }
        for r in &mut rules.vmlinux {
            r.meta.layer = layer;
        }
        for r in &mut rules.allow_findings {
            r.meta.layer = layer;
        }
        for r in &mut rules.plugins {
            r.meta.layer = layer;
        }
        for r in &mut rules.abi {
            r.meta.layer = layer;
        }
        self.layers.push(rules);
    }
}

/// Reads a policy file of at most [`MAX_POLICY_SIZE`] bytes. The file is opened without
/// blocking and its type checked first (a FIFO or a device where a policy or an include
/// belongs is an error, never a hang; a pipe is read only where `accept` allows it), and
/// the read itself stops past the limit, whatever `stat` said.
fn read_bounded(path: &Path, accept: crate::util::fs::Accept) -> std::io::Result<Vec<u8>> {
    crate::util::fs::read_input(path, accept, "policy files", MAX_POLICY_SIZE)
}

/// Loads and merges policy files, lowest layer first (the order of `--policy` flags).
/// `kver` filters `override`/`external` kernel patterns in `depmod` blocks.
pub fn load(paths: &[PathBuf], kver: &str) -> Result<Policy, PolicyError> {
    let mut l = Loader {
        kver,
        sources: Sources::default(),
        diags: Vec::new(),
        layers: Vec::new(),
        stack: Vec::new(),
    };
    for p in paths {
        l.load_file(p, None);
    }
    if !l.diags.is_empty() {
        return Err(PolicyError {
            sources: l.sources,
            diagnostics: l.diags,
        });
    }
    Ok(merge(l.sources, l.layers))
}

/// Loads a policy from text, as if read from a file named `name` (built-in policies,
/// tests). `include`s are resolved relative to the current directory.
pub fn load_str(name: &str, text: &str, kver: &str) -> Result<Policy, PolicyError> {
    let mut l = Loader {
        kver,
        sources: Sources::default(),
        diags: Vec::new(),
        layers: Vec::new(),
        stack: Vec::new(),
    };
    l.process(Path::new(name), PathBuf::from(name), text.to_string());
    if let Some(f) = l.sources.files.first_mut() {
        f.in_memory = true;
    }
    if !l.diags.is_empty() {
        return Err(PolicyError {
            sources: l.sources,
            diagnostics: l.diags,
        });
    }
    Ok(merge(l.sources, l.layers))
}

/// The shipped policy `policies/kmod.kdl`, built in: kmod 30's rules exactly. Used when
/// no `--policy` is given.
pub const KMOD_POLICY: &str = include_str!("../../../policies/kmod.kdl");

/// Loads the built-in kmod policy.
pub fn kmod_policy(kver: &str) -> Policy {
    load_str("policies/kmod.kdl", KMOD_POLICY, kver).expect("the built-in kmod.kdl is valid")
}

/// Merges decoded layers (lowest first) into one policy.
///
/// - Rules (`provider`, `vmlinux-conflict`, `allow-duplicate`, `abi-*`): higher layers first, file
///   order within a layer; the first matching rule applies.
/// - Scalars (`defaults`, each `severity` code): the highest layer that sets one wins.
/// - `depmod`: `search` from the highest layer that has one; overrides, excludes and
///   externals accumulate in declaration order (lowest layer first), as if the layers
///   were depmod.d files read one after another.
fn merge(sources: Sources, layers: Vec<decode::FileRules>) -> Policy {
    let mut p = Policy::builtin();
    p.sources = sources;
    let mut plugin_at = std::collections::HashMap::new();
    for layer in &layers {
        let d = &layer.depmod;
        p.depmod.present |= d.present;
        if d.search.is_some() {
            p.depmod.search = d.search.clone();
        }
        p.depmod.overrides.extend(d.overrides.iter().cloned());
        p.depmod.excludes.extend(d.excludes.iter().cloned());
        p.depmod.externals.extend(d.externals.iter().cloned());
        for decl in &layer.plugins {
            match plugin_at.get(&decl.name) {
                Some(&i) => p.plugins[i] = decl.clone(),
                None => {
                    plugin_at.insert(decl.name.clone(), p.plugins.len());
                    p.plugins.push(decl.clone());
                }
            }
        }
    }
    for layer in layers.into_iter().rev() {
        if p.default_provider.loc.is_none() {
            if let Some((s, l)) = layer.default_provider {
                p.default_provider = model::Set {
                    value: s,
                    loc: Some(l),
                };
            }
        }
        if p.default_vmlinux_winner.loc.is_none() {
            if let Some((w, l)) = layer.default_vmlinux_winner {
                p.default_vmlinux_winner = model::Set {
                    value: w,
                    loc: Some(l),
                };
            }
        }
        for (code, level, loc) in layer.severities.into_iter().rev() {
            p.severities.entry(code).or_insert(model::Set {
                value: level,
                loc: Some(loc),
            });
        }
        for (code, level, loc) in layer.plugin_severities.into_iter().rev() {
            p.plugin_severities.entry(code).or_insert(model::Set {
                value: level,
                loc: Some(loc),
            });
        }
        p.allow_findings.extend(layer.allow_findings);
        p.providers.extend(layer.providers);
        p.allow_duplicates.extend(layer.allow_duplicates);
        p.vmlinux.extend(layer.vmlinux);
        p.abi.extend(layer.abi);
    }
    p
}

impl Policy {
    /// The depmod search settings this policy states, in kmod's stored order, or `None`
    /// when no layer has a `depmod` block (then depmod.d applies).
    pub fn search_config(&self) -> Option<crate::load::config::SearchConfig> {
        use crate::load::config::{Origin, Override, SearchConfig};
        if !self.depmod.present {
            return None;
        }
        let origin = |l: &Loc| {
            Some(Origin {
                file: self.sources.get(l.file).path.clone(),
                line: l.line,
            })
        };
        let mut c = SearchConfig::default();
        if let Some(s) = &self.depmod.search {
            c.search = s
                .iter()
                .rev()
                .map(|(e, l)| (e.clone(), origin(l)))
                .collect();
        }
        c.overrides = self
            .depmod
            .overrides
            .iter()
            .rev()
            .map(|(m, d, l)| {
                (
                    Override {
                        modname: m.clone(),
                        subdir: d.clone(),
                    },
                    origin(l),
                )
            })
            .collect();
        c.excludes = self
            .depmod
            .excludes
            .iter()
            .map(|(e, l)| (e.clone(), origin(l)))
            .collect();
        c.externals = self
            .depmod
            .externals
            .iter()
            .rev()
            .map(|(e, l)| (e.clone(), origin(l)))
            .collect();
        Some(c)
    }
}

#[cfg(test)]
mod tests;
