//! The `abi` job: the ABI gate. Compares a baseline kernel's exports with a new one's
//! under the policy's `abi-tolerate`/`abi-deny` rules and `severity` levels, and says
//! which modules import each changed symbol (they must be rebuilt).
//!
//! Each side is a `Module.symvers`, an installed tree (`.../lib/modules/VERSION`, read
//! as `depmod` reads it, with vmlinux's exports from the kernel's `Module.symvers` when
//! one is given) or a build directory holding `modules.order` (as `check` reads it).
//! The comparison itself is [`crate::abi`]: load a side, diff, classify.
//!
//! Importers come from the new side when it holds modules, and from each consumer
//! (more trees or build directories, e.g. out-of-tree modules).

use super::build::load_build;
use super::log::Log;
use super::tree::{load_tree, TreeOptions};
use super::{today, Stop};
use crate::abi::classify::AbiRules;
use crate::abi::diff::{diff, Counts};
use crate::abi::side::{from_graph, read_symvers, Importers, Side};
use crate::diag::{CommandLine, Finding, Level};
use crate::graph::ExportGraph;
use crate::load::symvers::{KernelSymbol, SymversEntry};
use crate::load::Limits;
use crate::policy::Policy;
use rustc_hash::FxHashSet as HashSet;
use std::path::{Path, PathBuf};

/// One side of the comparison, or a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideInput {
    /// A `Module.symvers` file (or pipe).
    Symvers(PathBuf),
    /// An installed tree: `basedir` (None: `/`) and version; vmlinux's exports from
    /// `kernel`, the kernel's `Module.symvers`, if given.
    Tree {
        /// The root, `None` for `/`.
        basedir: Option<String>,
        /// The kernel version.
        version: String,
        /// The kernel's `Module.symvers` (only its vmlinux lines are used).
        kernel: Option<PathBuf>,
    },
    /// A build directory holding `modules.order`; vmlinux's exports from `kernel`.
    Build {
        /// The directory.
        dir: String,
        /// The kernel's `Module.symvers` (only its vmlinux lines are used).
        kernel: Option<PathBuf>,
    },
}

impl SideInput {
    /// What `arg` is: a directory is a tree or a build directory (see
    /// [`super::check::Input::classify`]), anything else a `Module.symvers`. `kernel`
    /// gives vmlinux's exports to a tree or build directory.
    pub fn classify(arg: &str, kernel: Option<PathBuf>) -> Result<SideInput, String> {
        let p = Path::new(arg);
        if !p.is_dir() {
            return Ok(SideInput::Symvers(p.to_path_buf()));
        }
        Ok(match super::check::Input::classify(arg)? {
            super::check::Input::Tree(basedir, version) => SideInput::Tree {
                basedir,
                version,
                kernel,
            },
            super::check::Input::Build(dir) => SideInput::Build { dir, kernel },
        })
    }

    /// How the input is named in messages and reports.
    pub fn label(&self) -> String {
        match self {
            SideInput::Symvers(p) => p.display().to_string(),
            SideInput::Tree {
                basedir, version, ..
            } => format!(
                "{}/lib/modules/{version}",
                basedir.as_deref().unwrap_or("").trim_end_matches('/')
            ),
            SideInput::Build { dir, .. } => dir.clone(),
        }
    }
}

/// What to compare, and how.
#[derive(Debug, Clone)]
pub struct AbiOptions {
    /// Policy files, lowest layer first (none: every code at its default level).
    pub policy: Vec<PathBuf>,
    /// The released ABI.
    pub baseline: SideInput,
    /// The ABI being checked.
    pub new: SideInput,
    /// Trees or build directories whose modules' imports say who is affected.
    pub consumers: Vec<SideInput>,
    /// The command line's levels (`--allow/--warn-code/--deny`).
    pub levels: CommandLine,
    /// Explain only these symbols (none: every change): their findings, and each one's
    /// record on both sides and importers ([`AbiOutcome::explained`]).
    pub symbols: Vec<String>,
}

/// One symbol explained: its record on each side and who imports it.
#[derive(Debug, Clone)]
pub struct SymbolAbi {
    /// The symbol.
    pub name: String,
    /// Its baseline record, if the baseline exports it.
    pub baseline: Option<SymversEntry>,
    /// Its new record, if the new side exports it.
    pub new: Option<SymversEntry>,
    /// The modules that import it (new side and consumers), sorted.
    pub importers: Vec<String>,
}

/// What the gate found.
pub struct AbiOutcome {
    /// The policy applied (its sources, for spans into them).
    pub policy: Policy,
    /// One finding per change (in symbol order), then the lints on the ABI rules;
    /// levelled, `allow`ed ones removed.
    pub findings: Vec<Finding>,
    /// How many exports each side has, and how many names both have.
    pub counts: Counts,
    /// The inputs as named in reports: baseline, new, then consumers.
    pub inputs: Vec<String>,
    /// The symbols asked for with [`AbiOptions::symbols`], in that order.
    pub explained: Vec<SymbolAbi>,
    /// Who imports each symbol: the new side's modules and the consumers' (the modules a
    /// change affects).
    pub importers: Importers,
}

impl AbiOutcome {
    /// Whether a change is denied (not tolerated, at level `deny`): the gate fails.
    pub fn denied(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Deny && !f.tolerated)
            .count()
    }
}

/// Why the gate stopped without a verdict.
#[derive(Debug)]
pub enum AbiError {
    /// Bad input: a missing or unreadable file, a malformed `Module.symvers` line (file
    /// and line named), a directory that is neither a tree nor a build directory.
    Input(String),
    /// Stopped while loading the policy or a tree (see [`Stop`]).
    Stop(Stop),
}

impl From<Stop> for AbiError {
    fn from(s: Stop) -> Self {
        AbiError::Stop(s)
    }
}

fn kernel_entries(kernel: &Option<PathBuf>) -> Result<Vec<SymversEntry>, AbiError> {
    match kernel {
        None => Ok(Vec::new()),
        Some(k) => Ok(read_symvers(k).map_err(AbiError::Input)?.exports),
    }
}

/// Loads one side: its exports, and its modules' graph when it has modules.
fn load_side(
    input: &SideInput,
    policy: &Policy,
    log: &Log<'_>,
) -> Result<(Side, Option<ExportGraph>), AbiError> {
    match input {
        SideInput::Symvers(p) => Ok((read_symvers(p).map_err(AbiError::Input)?, None)),
        SideInput::Tree {
            basedir,
            version,
            kernel,
        } => {
            let opts = TreeOptions {
                basedir: basedir.clone(),
                moduledir: None,
                version: Some(version.clone()),
                config: Vec::new(),
                filesyms: None,
                symvers: kernel.clone(),
                symbol_prefix: None,
                gzip: false,
                order_first_wins: false,
                modules: Vec::new(),
                limits: Limits::default(),
            };
            let k = kernel_entries(kernel)?;
            let tree = load_tree(&opts, policy, log, &mut false)?;
            no_modules(
                input,
                &tree.graph,
                "no module file (.ko, .ko.xz, ...) under it",
            )?;
            unreadable(&tree.graph, log);
            let side = from_graph(input.label(), &tree.graph, &k);
            Ok((side, Some(tree.graph)))
        }
        SideInput::Build { dir, kernel } => {
            let k = kernel_entries(kernel)?;
            let vmlinux: Vec<KernelSymbol> = k
                .iter()
                .filter(|e| e.is_vmlinux())
                .map(|e| KernelSymbol {
                    name: e.name.clone(),
                    crc: e.crc,
                })
                .collect();
            let build =
                load_build(dir, (!k.is_empty()).then_some(vmlinux)).map_err(AbiError::Input)?;
            for n in &build.notes {
                log.line(format_args!("modpolicy abi: note: {n}"));
            }
            no_modules(input, &build.graph, "its modules.order lists no module")?;
            unreadable(&build.graph, log);
            let side = from_graph(input.label(), &build.graph, &k);
            Ok((side, Some(build.graph)))
        }
    }
}

/// A tree or build directory without modules is bad input: its side would report every
/// export of the other side as added or removed.
fn no_modules(input: &SideInput, graph: &ExportGraph, why: &str) -> Result<(), AbiError> {
    if graph.modules.is_empty() {
        return Err(AbiError::Input(format!(
            "{}: no modules to compare: {why}",
            input.label()
        )));
    }
    Ok(())
}

/// A module that cannot be read is named: its exports are missing from the side.
fn unreadable(graph: &ExportGraph, log: &Log<'_>) {
    for m in graph.modules.iter().filter(|m| m.error.is_some()) {
        log.line(format_args!(
            "modpolicy abi: warning: {}: {}: its exports are not compared",
            m.source.path,
            m.error.as_deref().unwrap_or_default()
        ));
    }
}

/// Runs the gate: loads the policy, both sides and the consumers, compares, classifies
/// each change, lints the ABI rules, and applies the command line's levels.
pub fn run(args: &AbiOptions, log: &Log<'_>) -> Result<AbiOutcome, AbiError> {
    let kver = match &args.new {
        SideInput::Tree { version, .. } => version.clone(),
        _ => String::new(),
    };
    let policy = super::load_policy(&args.policy, &kver, Policy::builtin)?;
    let (old, _) = load_side(&args.baseline, &policy, log)?;
    let (new, new_graph) = load_side(&args.new, &policy, log)?;
    let mut importers = Importers::default();
    if let Some(g) = &new_graph {
        importers.add_graph(g, None);
    }
    let mut inputs = vec![args.baseline.label(), args.new.label()];
    for c in &args.consumers {
        let label = c.label();
        match c {
            SideInput::Symvers(p) if !p.exists() => {
                return Err(AbiError::Input(format!(
                    "{}: no such directory (a consumer is a module tree or a build directory)",
                    p.display()
                )))
            }
            SideInput::Symvers(p) => {
                return Err(AbiError::Input(format!(
                    "{}: a consumer must be a module tree (lib/modules/VERSION) or a build directory with modules.order: a Module.symvers lists exports, not imports",
                    p.display()
                )))
            }
            _ => {
                let (_, g) = load_side(c, &policy, log)?;
                if let Some(g) = g {
                    importers.add_graph(&g, Some(&label));
                }
            }
        }
        inputs.push(label);
    }
    let only: Option<HashSet<&str>> =
        (!args.symbols.is_empty()).then(|| args.symbols.iter().map(String::as_str).collect());
    let outcome = compare(&policy, &old, &new, &importers, &args.levels, only.as_ref());
    let explained = args
        .symbols
        .iter()
        .map(|s| SymbolAbi {
            name: s.clone(),
            baseline: old.get(s).cloned(),
            new: new.get(s).cloned(),
            importers: importers.of(s).into_iter().map(str::to_string).collect(),
        })
        .collect();
    Ok(AbiOutcome {
        findings: outcome.0,
        counts: outcome.1,
        policy,
        inputs,
        explained,
        importers,
    })
}

/// The comparison alone, on sides already loaded: one finding per change, then the
/// lints on the ABI rules, with the command line's levels applied and `allow`ed
/// findings removed. With `only`, just the changes of those symbols (and no
/// `unmatched-rule`, which would say nothing about the rules). (For benchmarks and
/// library users that load sides themselves.)
pub fn compare(
    policy: &Policy,
    old: &Side,
    new: &Side,
    importers: &Importers,
    levels: &CommandLine,
    only: Option<&HashSet<&str>>,
) -> (Vec<Finding>, Counts) {
    let (changes, counts) = diff(old, new);
    let mut rules = AbiRules::new(policy, today());
    let mut findings: Vec<Finding> = changes
        .iter()
        .filter(|c| only.is_none_or(|o| o.contains(c.symbol)))
        .map(|c| rules.finding(c, importers))
        .collect();
    findings.extend(rules.lints(only.is_none()));
    let findings = findings
        .into_iter()
        .map(|f| levels.apply(f))
        .filter(|f| f.level != Level::Allow)
        .collect();
    (findings, counts)
}
