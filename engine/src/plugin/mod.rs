//! Stage 5, **plugins**: WebAssembly checks a policy declares, run after the built-in
//! checks, in a sandbox, over a read-only view of what the built-in checks see.
//!
//! Two steps, so that the run itself does no IO:
//! 1. [`prepare`] (IO): reads each declared `.wasm` and its `files`, refuses it when its
//!    sha256 differs from the policy's, and compiles it (or loads the precompiled
//!    artifact from the [`host::Cache`]);
//! 2. [`run_plugins`] (no IO): encodes the view ([`abi`]), runs every plugin in its
//!    sandbox ([`host`]), and turns its output into findings that the one levelling
//!    step ([`crate::check::level`]) levels and tolerates under the policy like
//!    built-in findings, with the plugin as the deciding rule.
//!
//! A plugin that cannot be loaded or fails to run becomes a `plugin-refused` or
//! `plugin-failed` finding naming the plugin and the reason; the run goes on.

pub mod abi;
pub mod host;

use crate::check::level::{Basis, Raw};
use crate::check::subject::{Owner, Subject, SymbolInfo};
use crate::check::CheckContext;
use crate::diag::{Code, Decider, Finding, PluginOrigin};
use crate::load::elf::ExportKind;
use crate::policy::model::PluginDecl;
use crate::policy::Policy;
use abi::{Encoder, ExportFields, Licence, ProviderField};
use host::{Cache, CacheUse, Failure, Limits};
use std::time::Instant;

/// The largest declared file read.
pub const MAX_FILE_SIZE: u64 = 256 << 20;

/// The most findings kept from one plugin run; the rest are dropped and reported as one
/// `findings-dropped` finding of the plugin, saying how many.
pub const MAX_FINDINGS_PER_PLUGIN: usize = 10_000;

/// The largest linear memory a plugin may be given or declare: all that wasm32 addresses.
pub const MAX_PLUGIN_MEMORY: u64 = 4 << 30;

/// A plugin ready to run.
struct Ready {
    engine: wasmtime::Engine,
    module: wasmtime::Module,
    files: Vec<(String, Vec<u8>)>,
    limits: Limits,
}

/// One declared plugin after [`prepare`].
pub struct Prepared {
    /// Index into `Policy::plugins`.
    index: usize,
    state: Result<Ready, String>,
    /// Whether the compiled module came from the cache.
    pub cache: CacheUse,
    /// Time spent reading, hashing and compiling (or loading) it.
    pub load_time: std::time::Duration,
}

/// Every plugin of a policy, prepared.
#[derive(Default)]
pub struct Plugins {
    /// In declaration order.
    pub prepared: Vec<Prepared>,
}

/// The limits of a declaration, with the host's defaults for what it leaves out.
pub fn limits_of(d: &PluginDecl) -> Limits {
    let def = Limits::default();
    Limits {
        fuel: d.limits.fuel.unwrap_or(def.fuel),
        memory: d.limits.memory.unwrap_or(def.memory),
        timeout_ms: d.limits.timeout_ms.unwrap_or(def.timeout_ms),
        max_output: d.limits.max_output.unwrap_or(def.max_output),
        stack: d.limits.stack.unwrap_or(def.stack),
    }
}

fn read_capped(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "cannot read {}: {}",
            path.display(),
            crate::load::walk::strerror(&e)
        )
    })?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(format!(
            "{} is larger than {MAX_FILE_SIZE} bytes",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| {
        format!(
            "cannot read {}: {}",
            path.display(),
            crate::load::walk::strerror(&e)
        )
    })
}

/// Reads, verifies and compiles every plugin the policy declares (the only IO of the
/// plugin stage). A plugin that cannot be used is kept, refused, with the reason.
pub fn prepare(policy: &Policy, cache: Option<&Cache>) -> Plugins {
    let mut engines: Vec<(u64, wasmtime::Engine)> = Vec::new();
    let mut out = Plugins::default();
    for (index, d) in policy.plugins.iter().enumerate() {
        let start = Instant::now();
        let limits = limits_of(d);
        let mut used = CacheUse::Disabled;
        let state = (|| {
            if limits.memory > MAX_PLUGIN_MEMORY {
                return Err(format!(
                    "its `memory` limit of {} bytes is more than the {MAX_PLUGIN_MEMORY} bytes (4 GiB) a wasm32 plugin can address",
                    limits.memory
                ));
            }
            let bytes = read_capped(&d.path)?;
            if bytes.len() as u64 > host::MAX_WASM_SIZE {
                return Err(format!(
                    "{} is larger than {} bytes, the limit for a plugin module",
                    d.path.display(),
                    host::MAX_WASM_SIZE
                ));
            }
            let sha = host::sha256_hex(&bytes);
            if sha != d.sha256 {
                return Err(format!(
                    "{} has sha256 {sha}, but the policy requires {}",
                    d.path.display(),
                    d.sha256
                ));
            }
            let mut files = Vec::new();
            for (name, path) in &d.files {
                files.push((name.clone(), read_capped(path)?));
            }
            let engine = match engines.iter().find(|(s, _)| *s == limits.stack) {
                Some((_, e)) => e.clone(),
                None => {
                    let e = host::engine(limits.stack)?;
                    engines.push((limits.stack, e.clone()));
                    e
                }
            };
            host::check_before_compiling(&bytes)?;
            let (module, u) = host::compile(&engine, &bytes, &sha, cache, limits.timeout_ms)?;
            host::check_interface(&module)?;
            used = u;
            Ok(Ready {
                engine,
                module,
                files,
                limits,
            })
        })();
        let load_time = start.elapsed();
        tracing::info!(
            "plugin {}: prepared in {:.1} ms ({:?})",
            d.name,
            load_time.as_secs_f64() * 1e3,
            used
        );
        out.prepared.push(Prepared {
            index,
            state,
            cache: used,
            load_time,
        });
    }
    out
}

fn licence(kind: ExportKind) -> Licence {
    match kind {
        ExportKind::GplOnly => Licence::Gpl,
        ExportKind::Plain => Licence::Any,
        ExportKind::Unknown => Licence::Unknown,
    }
}

fn info_fields<'a>(symbol: &'a str, i: &'a SymbolInfo) -> ExportFields<'a> {
    ExportFields {
        symbol,
        crc: i.crc,
        licence: if i.gpl_only {
            Licence::Gpl
        } else {
            Licence::Any
        },
        namespace: i.namespace.as_deref(),
    }
}

/// The part of every plugin's input that describes the graph: vmlinux and dump exports,
/// then each module with its modinfo, exports, resolved imports and soft dependencies.
pub fn encode_view(cx: &CheckContext<'_>, s: &Subject) -> Encoder {
    let g = cx.graph;
    let mut e = Encoder::bare();
    if let Some(k) = &s.kernel {
        let mut v: Vec<_> = k.iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (name, info) in v {
            e.kernel(&info_fields(name, info));
        }
    }
    let mut dumps: Vec<_> = s.dumps.iter().collect();
    dumps.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (name, d) in dumps {
        e.dump(&d.module, &info_fields(name, &d.info));
    }
    for (i, m) in g.modules.iter().enumerate() {
        let license = m
            .modinfo(b"license")
            .next()
            .map(|l| String::from_utf8_lossy(l).into_owned());
        let path = m.source.relpath.as_deref().unwrap_or(&m.source.path);
        e.module(i, m.name(), path, license.as_deref(), m.error.is_none());
        for mi in m.image.modinfo.iter() {
            e.modinfo(mi.key, mi.value);
        }
        for x in &m.image.exports {
            e.export(&ExportFields {
                symbol: &x.name,
                crc: x.has_crc.then_some(x.crc),
                licence: licence(x.kind),
                namespace: x.namespace.as_deref().filter(|n| !n.is_empty()),
            });
        }
        let resolved = s.imports.get(i);
        for (j, imp) in m.image.imports.iter().enumerate() {
            let r = resolved.and_then(|r| r.get(j)).and_then(Option::as_ref);
            let name;
            let provider = match r.map(|r| &r.owner) {
                None => ProviderField::None,
                Some(Owner::Vmlinux) => ProviderField::Vmlinux,
                Some(Owner::Module(id)) => {
                    name = g.module(*id).name();
                    ProviderField::Module(name)
                }
                Some(Owner::Dump(p)) => ProviderField::Dump(p),
            };
            let fields = r.map(|r| info_fields(&imp.name, &r.info));
            e.import(
                &imp.name,
                imp.has_crc.then_some(imp.crc),
                imp.weak,
                provider,
                fields.as_ref(),
            );
        }
        for v in m.modinfo(b"softdep") {
            let text = String::from_utf8_lossy(v);
            let mut kind = "pre";
            for t in text.split_whitespace() {
                match t {
                    "pre:" => kind = "pre",
                    "post:" => kind = "post",
                    t if t.ends_with(':') => kind = "other",
                    t => e.softdep(kind, t),
                }
            }
        }
        for v in m.modinfo(b"weakdep") {
            for t in String::from_utf8_lossy(v).split_whitespace() {
                e.softdep("weak", t);
            }
        }
    }
    e
}

fn failure_finding(decl: usize, d: &PluginDecl, f: &Failure) -> Raw {
    let code = match f {
        Failure::Refused(_) => Code::PluginRefused,
        Failure::Failed(_) => Code::PluginFailed,
    };
    let verb = match f {
        Failure::Refused(_) => "was not run",
        Failure::Failed(_) => "failed",
    };
    Raw {
        finding: Finding {
            plugin: Some(Box::new(PluginOrigin {
                plugin: d.name.clone(),
                code: None,
            })),
            code,
            level: code.default_level(),
            message: format!("plugin {} {verb}: {f}", d.name),
            module: None,
            file: None,
            symbol: None,
            decided_by: Decider::Default,
            tolerated: false,
        },
        basis: Basis::PluginFailure { decl },
    }
}

/// Turns one plugin's decoded output into findings, for the policy to level.
fn to_findings(
    cx: &CheckContext<'_>,
    decl: usize,
    d: &PluginDecl,
    raw: Vec<abi::RawFinding>,
) -> Vec<Raw> {
    raw.into_iter()
        .map(|r| {
            let id = r
                .module
                .as_deref()
                .and_then(|m| cx.graph.find_module(&m.replace('-', "_")));
            let module = id.map(|id| cx.graph.module(id));
            let path = module
                .map(|m| m.source.relpath.as_deref().unwrap_or(&m.source.path))
                .unwrap_or("")
                .to_string();
            Raw {
                finding: Finding {
                    plugin: Some(Box::new(PluginOrigin {
                        plugin: d.name.clone(),
                        code: Some(r.code),
                    })),
                    code: Code::PluginFinding,
                    level: Code::PluginFinding.default_level(),
                    message: r.message,
                    module: module.map(|m| m.name().to_string()).or(r.module),
                    file: module.map(|m| m.source.path.clone()),
                    symbol: r.symbol,
                    decided_by: Decider::Default,
                    tolerated: false,
                },
                basis: Basis::Plugin {
                    decl,
                    level: r.level,
                    path,
                },
            }
        })
        .collect()
}

/// How many plugins run at once: the processors this process may use (at least one).
/// Each running plugin holds its linear memory, its input and its output, so running
/// every declared plugin at once would make peak memory grow with the policy.
pub fn concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs every prepared plugin over the view of `cx` and `s`, each in its sandbox on its
/// own thread (with the stack its limits give it), at most [`concurrency`] at a time so
/// that memory stays bounded by a few plugins' however many a policy declares, and returns
/// their findings (and failures) in declaration order, for
/// [`crate::check::level::Levels::decide`] to level. No IO.
pub fn run_plugins(plugins: &Plugins, cx: &CheckContext<'_>, s: &Subject) -> Vec<Raw> {
    if plugins.prepared.is_empty() {
        return Vec::new();
    }
    let policy = cx.engine.policy();
    let view = encode_view(cx, s);
    let run_one = |p: &Prepared| -> Result<abi::Output, Failure> {
        let d = &policy.plugins[p.index];
        let ready = match &p.state {
            Ok(r) => r,
            Err(why) => return Err(Failure::Refused(why.clone())),
        };
        let mut input = Encoder::new(&d.name);
        for (k, v) in &d.config {
            input.config(k, v);
        }
        for (name, bytes) in &ready.files {
            input.file(name, bytes);
        }
        input.extend(&view);
        let input = input.finish();
        let stack = usize::try_from(ready.limits.stack).unwrap_or(64 << 20);
        let name = &d.name;
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name(format!("plugin-{name}"))
                .stack_size(stack.saturating_add(8 << 20))
                .spawn_scoped(scope, || {
                    let start = Instant::now();
                    let out = host::run(&ready.engine, &ready.module, &ready.limits, &input)?;
                    for line in out.log.lines() {
                        tracing::info!("plugin {name}: {line}");
                    }
                    tracing::info!(
                        "plugin {name}: ran in {:.1} ms, {} fuel, {} bytes in, {} bytes out",
                        start.elapsed().as_secs_f64() * 1e3,
                        out.fuel_used,
                        input.len(),
                        out.output.len()
                    );
                    abi::decode_output(&out.output, MAX_FINDINGS_PER_PLUGIN)
                        .map_err(|e| Failure::Failed(format!("returned malformed output: {e}")))
                })
                .map_err(|e| Failure::Failed(format!("cannot start its thread: {e}")))?
                .join()
                .unwrap_or_else(|_| Err(Failure::Failed("the host thread panicked".into())))
        })
    };
    // Workers take the next plugin in declaration order; each result lands in its slot.
    let n = plugins.prepared.len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<abi::Output, Failure>>>> =
        (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..concurrency().min(n) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(p) = plugins.prepared.get(i) else {
                    break;
                };
                let r = run_one(p);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    let results = slots.into_iter().map(|m| {
        m.into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(|| Err(Failure::Failed("the host thread panicked".into())))
    });
    let mut out = Vec::new();
    for (p, r) in plugins.prepared.iter().zip(results) {
        let d = &policy.plugins[p.index];
        match r {
            Ok(abi::Output {
                findings: mut raw,
                dropped,
            }) => {
                if dropped > 0 {
                    raw.push(abi::RawFinding {
                        code: "findings-dropped".into(),
                        level: crate::diag::Level::Warn,
                        module: None,
                        symbol: None,
                        message: format!(
                            "{dropped} more findings were dropped: a plugin reports at most {MAX_FINDINGS_PER_PLUGIN} per run"
                        ),
                    });
                }
                out.extend(to_findings(cx, p.index, d, raw))
            }
            Err(f) => out.push(failure_finding(p.index, d, &f)),
        }
    }
    out
}
