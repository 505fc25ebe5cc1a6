//! The wasmtime host: engines, the compiled-module cache, and one sandboxed run.
//!
//! A plugin gets no WASI and no host function but `modpolicy.log`: no filesystem,
//! network, environment or clock. Each run has a fresh store and instance with
//! - a **fuel** budget (deterministic: the same input stops at the same instruction);
//! - an **epoch deadline** (wall clock, a ticker thread bumps the engine's epoch every
//!   [`TICK_MS`] ms while the plugin runs);
//! - a **memory cap** (a [`wasmtime::ResourceLimiter`] that traps when linear memory
//!   would grow past it, including the initial size at instantiation);
//! - a **stack cap** (`max_wasm_stack`, per engine; the run happens on a thread whose
//!   native stack is larger than the cap);
//! - an **output cap** on the bytes returned and on `log` text kept.
//!
//! Compiled modules are cached as precompiled artifacts (see [`Cache`]).

use super::abi;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::{Caller, Config, Engine, Linker, Module, ResourceLimiter, Store, Trap};

/// The epoch tick, in milliseconds.
pub const TICK_MS: u64 = 10;
/// At most this much `log` text is kept per run.
pub const MAX_LOG_BYTES: usize = 64 << 10;
/// The largest plugin module compiled, bytes.
pub const MAX_WASM_SIZE: u64 = 16 << 20;
/// The most functions a plugin module may define (compiling each costs time and memory:
/// 200,000 took 20 s and 1.25 GB).
pub const MAX_FUNCTIONS: u64 = 50_000;
/// The most memory pages (64 KiB) a wasm32 memory can have: 4 GiB.
const MAX_PAGES: u64 = 65_536;

/// The wasmtime version, part of the cache key.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// The limits of one plugin run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions).
    pub fuel: u64,
    /// Linear memory cap, bytes.
    pub memory: u64,
    /// Wall-clock deadline, milliseconds.
    pub timeout_ms: u64,
    /// The largest output accepted, bytes.
    pub max_output: u64,
    /// Wasm stack cap, bytes.
    pub stack: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 20_000_000_000,
            memory: 256 << 20,
            timeout_ms: 30_000,
            max_output: 4 << 20,
            stack: 1 << 20,
        }
    }
}

/// Why a plugin produced no usable output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It was not run: its file, hash, imports, exports or ABI version are unacceptable.
    Refused(String),
    /// It ran and failed: trap, fuel, deadline, memory, stack, or bad output.
    Failed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(s) | Failure::Failed(s) => f.write_str(s),
        }
    }
}

/// A new engine for plugins whose wasm stack is capped at `stack` bytes.
pub fn engine(stack: u64) -> Result<Engine, String> {
    let mut cfg = Config::new();
    cfg.consume_fuel(true);
    cfg.epoch_interruption(true);
    cfg.max_wasm_stack(stack.clamp(64 << 10, 64 << 20) as usize);
    Engine::new(&cfg).map_err(|e| format!("cannot set up wasmtime: {e}"))
}

/// The lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a compiled module came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// No cache directory.
    Disabled,
    /// Loaded from the cache: nothing was compiled.
    Hit,
    /// Compiled, and stored for next time (if the store succeeded).
    Miss,
}

/// The cache of precompiled plugins: `DIR/<sha256 of the .wasm>-<engine key>.cwasm`,
/// each file the bytes of `Module::serialize` followed by their own sha256.
///
/// Loading an artifact runs native code without validation (`Module::deserialize` is
/// `unsafe`), so the cache must hold only what this host wrote. That holds because:
/// - a file is named by the sha256 of the verified `.wasm` and a key of the wasmtime
///   version and engine settings, and wasmtime itself rejects an artifact made by
///   another version or with other settings;
/// - it is written to a temporary file and renamed, so it is whole or absent, and its
///   trailing sha256 must match, so a truncated or corrupted file is recompiled;
/// - the directory is created `0700`, and it is used only when it belongs to the user
///   running modpolicy and no one else may write to it (nor to the file): only that
///   user, who could as well replace modpolicy itself, can plant an artifact.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

fn owner_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

fn private(meta: &std::fs::Metadata, uid: Option<u32>) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.mode() & 0o022 == 0 && uid.is_none_or(|u| u == meta.uid())
}

impl Cache {
    /// A cache in `dir` (created on first store).
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(engine: &Engine) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        WASMTIME_VERSION.hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        format!("{:016x}", h.finish())
    }

    fn path(&self, engine: &Engine, sha: &str) -> PathBuf {
        self.dir.join(format!(
            "{sha}-{}-{}.cwasm",
            WASMTIME_VERSION,
            Cache::key(engine)
        ))
    }

    fn load(&self, engine: &Engine, sha: &str) -> Option<Module> {
        let uid = owner_uid();
        if !private(&std::fs::metadata(&self.dir).ok()?, uid) {
            return None;
        }
        let path = self.path(engine, sha);
        if !private(&std::fs::symlink_metadata(&path).ok()?, uid) {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        let (art, sum) = bytes.split_at(bytes.len().checked_sub(32)?);
        if Sha256::digest(art).as_slice() != sum {
            return None;
        }
        // SAFETY: see the type's documentation: the artifact was written by this host
        // (`Module::serialize`) into a directory only the current user can write, it is
        // whole (its checksum matches), and wasmtime checks version and settings.
        unsafe { Module::deserialize(engine, art) }.ok()
    }

    fn store(&self, engine: &Engine, sha: &str, module: &Module) {
        use std::os::unix::fs::DirBuilderExt;
        let Ok(mut art) = module.serialize() else {
            return;
        };
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let sum = Sha256::digest(&art);
        art.extend_from_slice(&sum);
        if std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .is_err()
        {
            return;
        }
        // Only into a directory of the user's own that no one else may write to (an
        // existing shared directory such as /tmp is not used, and nothing in it is
        // touched).
        let private_dir = std::fs::symlink_metadata(&self.dir)
            .ok()
            .filter(|m| m.is_dir())
            .is_some_and(|m| private(&m, owner_uid()));
        if !private_dir {
            tracing::warn!(
                "plugin cache {} is not a directory only this user can write; compiled plugins are not stored",
                self.dir.display()
            );
            return;
        }
        let path = self.path(engine, sha);
        let tmp = self.dir.join(format!(".tmp-{}-{sha}", std::process::id()));
        // A new file (never through an existing name or link), readable by the user only.
        let Ok(mut f) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        else {
            return;
        };
        if f.write_all(&art).is_ok() && std::fs::rename(&tmp, &path).is_ok() {
            return;
        }
        // Only the file this call created.
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Reads a LEB128 unsigned number at `*pos`.
fn leb(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Refuses, before compiling, a module defining more than [`MAX_FUNCTIONS`] functions
/// (read from its function section; a malformed module is left to the compiler).
pub fn check_before_compiling(bytes: &[u8]) -> Result<(), String> {
    let mut pos = 8;
    while pos < bytes.len() {
        let id = bytes[pos];
        pos += 1;
        let Some(size) = leb(bytes, &mut pos) else {
            return Ok(());
        };
        if id == 3 {
            let count = leb(bytes, &mut pos).unwrap_or(0);
            if count > MAX_FUNCTIONS {
                return Err(format!(
                    "defines {count} functions, more than the limit of {MAX_FUNCTIONS}"
                ));
            }
            return Ok(());
        }
        pos = pos.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
    }
    Ok(())
}

/// Refuses a module whose memory could be larger than wasm32 addresses (a 64-bit
/// memory, or limits above 4 GiB).
fn check_memory(module: &Module) -> Result<(), String> {
    for e in module.exports() {
        if let wasmtime::ExternType::Memory(m) = e.ty() {
            if m.is_64() {
                return Err(format!(
                    "its memory `{}` is a 64-bit memory (memory64); a plugin is a wasm32 module with a 32-bit memory",
                    e.name()
                ));
            }
            let max = m.maximum().unwrap_or(0).max(m.minimum());
            if max > MAX_PAGES {
                return Err(format!(
                    "its memory `{}` may grow to {max} pages of 64 KiB, more than the 4 GiB a wasm32 plugin can address",
                    e.name()
                ));
            }
        }
    }
    Ok(())
}

/// Compiles `bytes` (whose sha256 is `sha`), from the cache when it has it. Compiling
/// that takes longer than `timeout_ms` refuses the plugin (the compilation is left to
/// finish on its own thread; its result is dropped).
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
    sha: &str,
    cache: Option<&Cache>,
    timeout_ms: u64,
) -> Result<(Module, CacheUse), String> {
    if let Some(c) = cache {
        if let Some(m) = c.load(engine, sha) {
            check_memory(&m)?;
            return Ok((m, CacheUse::Hit));
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let (e2, b2) = (engine.clone(), bytes.to_vec());
    std::thread::Builder::new()
        .name("plugin-compile".into())
        .spawn(move || {
            let _ = tx.send(Module::new(&e2, &b2));
        })
        .map_err(|e| format!("cannot start compiling: {e}"))?;
    let module = match rx.recv_timeout(Duration::from_millis(timeout_ms)) {
        Ok(r) => r.map_err(|e| {
            format!(
                "not a valid WebAssembly module: {}",
                e.root_cause().to_string().lines().next().unwrap_or("")
            )
        })?,
        Err(_) => {
            return Err(format!(
                "compiling it took longer than its time limit of {timeout_ms} ms"
            ))
        }
    };
    check_interface(&module)?;
    check_memory(&module)?;
    match cache {
        Some(c) => {
            c.store(engine, sha, &module);
            Ok((module, CacheUse::Miss))
        }
        None => Ok((module, CacheUse::Disabled)),
    }
}

/// The one import a plugin may have.
pub const LOG_IMPORT: (&str, &str) = ("modpolicy", "log");

/// Refuses a module whose imports or exports are not the ABI's.
pub fn check_interface(module: &Module) -> Result<(), String> {
    for i in module.imports() {
        if (i.module(), i.name()) != LOG_IMPORT {
            return Err(format!(
                "imports `{}::{}`, which the host does not provide (the only import allowed is `modpolicy::log`)",
                i.module(),
                i.name()
            ));
        }
    }
    for e in [
        "memory",
        "modpolicy_abi_version",
        "modpolicy_alloc",
        "modpolicy_check",
    ] {
        if module.get_export(e).is_none() {
            return Err(format!("does not export `{e}`"));
        }
    }
    Ok(())
}

struct Limiter {
    memory: usize,
    hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.hit = true;
            wasmtime::bail!("memory limit of {} bytes exceeded", self.memory);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }
}

struct State {
    limiter: Limiter,
    log: Vec<u8>,
}

/// What a successful run returned.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The output bytes (not yet decoded).
    pub output: Vec<u8>,
    /// The text logged through `modpolicy.log` (capped at [`MAX_LOG_BYTES`]).
    pub log: String,
    /// The fuel consumed.
    pub fuel_used: u64,
}

fn classify(e: wasmtime::Error, store: &Store<State>, limits: &Limits) -> Failure {
    if store.data().limiter.hit {
        return Failure::Failed(format!(
            "exceeded its memory limit of {} bytes",
            limits.memory
        ));
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::Failed(format!(
            "ran out of fuel (its budget is {} units)",
            limits.fuel
        )),
        Some(Trap::Interrupt) => Failure::Failed(format!(
            "did not finish within its {} ms deadline",
            limits.timeout_ms
        )),
        Some(Trap::StackOverflow) => Failure::Failed(format!(
            "overflowed its stack (the cap is {} bytes)",
            limits.stack
        )),
        Some(t) => {
            let t = t.to_string();
            Failure::Failed(format!(
                "trapped: {}",
                t.strip_prefix("wasm trap: ").unwrap_or(&t)
            ))
        }
        None => Failure::Failed(format!(
            "failed: {}",
            e.root_cause().to_string().lines().next().unwrap_or("")
        )),
    }
}

/// Runs `module` once on `input`, under `limits`, on the calling thread (whose native
/// stack must exceed `limits.stack`; [`super::run_plugins`] makes sure of it).
pub fn run(
    engine: &Engine,
    module: &Module,
    limits: &Limits,
    input: &[u8],
) -> Result<RunOutput, Failure> {
    let mut store = Store::new(
        engine,
        State {
            limiter: Limiter {
                memory: usize::try_from(limits.memory).unwrap_or(usize::MAX),
                hit: false,
            },
            log: Vec::new(),
        },
    );
    store.limiter(|s| &mut s.limiter);
    store
        .set_fuel(limits.fuel)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    store.set_epoch_deadline(limits.timeout_ms.div_ceil(TICK_MS) + 1);

    // The wall clock: bump the epoch every tick until the run is over.
    let (done, ticks) = std::sync::mpsc::channel::<()>();
    let eng = engine.clone();
    let ticker = std::thread::spawn(move || {
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            ticks.recv_timeout(Duration::from_millis(TICK_MS))
        {
            eng.increment_epoch();
        }
    });
    let result = run_in(&mut store, engine, module, limits, input);
    drop(done);
    let _ = ticker.join();
    let output = result?;
    let used = limits.fuel - store.get_fuel().unwrap_or(0);
    Ok(RunOutput {
        output,
        log: String::from_utf8_lossy(&store.data().log).into_owned(),
        fuel_used: used,
    })
}

fn run_in(
    store: &mut Store<State>,
    engine: &Engine,
    module: &Module,
    limits: &Limits,
    input: &[u8],
) -> Result<Vec<u8>, Failure> {
    let mut linker: Linker<State> = Linker::new(engine);
    linker
        .func_wrap(
            LOG_IMPORT.0,
            LOG_IMPORT.1,
            |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
                let Some(mem) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
                    return;
                };
                let room = MAX_LOG_BYTES.saturating_sub(caller.data().log.len());
                let n = (len as u32 as usize).min(room);
                let mut buf = vec![0u8; n];
                if n > 0 && mem.read(&caller, ptr as u32 as usize, &mut buf).is_ok() {
                    let log = &mut caller.data_mut().log;
                    log.extend_from_slice(&buf);
                    log.push(b'\n');
                }
            },
        )
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let instance = match linker.instantiate(&mut *store, module) {
        Ok(i) => i,
        Err(e) => {
            // A bad import signature is a refusal; a start function that traps, or an
            // initial memory over the cap, is a failure like any other.
            let msg = e.to_string();
            if msg.contains("incompatible import type") || msg.contains("unknown import") {
                return Err(Failure::Refused(msg));
            }
            return Err(classify(e, store, limits));
        }
    };
    let refuse = |what: &str| Failure::Refused(format!("its `{what}` export has the wrong type"));
    let version = instance
        .get_typed_func::<(), i32>(&mut *store, "modpolicy_abi_version")
        .map_err(|_| refuse("modpolicy_abi_version"))?;
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut *store, "modpolicy_alloc")
        .map_err(|_| refuse("modpolicy_alloc"))?;
    let check = instance
        .get_typed_func::<(i32, i32), i64>(&mut *store, "modpolicy_check")
        .map_err(|_| refuse("modpolicy_check"))?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| refuse("memory"))?;
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize") {
        init.call(&mut *store, ())
            .map_err(|e| classify(e, store, limits))?;
    }
    let v = version
        .call(&mut *store, ())
        .map_err(|e| classify(e, store, limits))?;
    if v != abi::ABI_VERSION {
        return Err(Failure::Refused(format!(
            "speaks plugin ABI version {v}; this modpolicy speaks version {}",
            abi::ABI_VERSION
        )));
    }
    let len = i32::try_from(input.len())
        .map_err(|_| Failure::Failed(format!("input of {} bytes is too large", input.len())))?;
    let ptr = alloc
        .call(&mut *store, len)
        .map_err(|e| classify(e, store, limits))?;
    if ptr == 0 {
        return Err(Failure::Failed(format!(
            "could not allocate {} bytes for its input",
            input.len()
        )));
    }
    memory
        .write(&mut *store, ptr as u32 as usize, input)
        .map_err(|_| {
            Failure::Failed(format!(
                "returned an input buffer outside its memory ({ptr:#x}, {len} bytes)"
            ))
        })?;
    let packed = check
        .call(&mut *store, (ptr, len))
        .map_err(|e| classify(e, store, limits))? as u64;
    let (out_ptr, out_len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    if out_len as u64 > limits.max_output {
        return Err(Failure::Failed(format!(
            "returned {out_len} bytes of output, more than its limit of {} bytes",
            limits.max_output
        )));
    }
    let mut out = vec![0u8; out_len];
    memory.read(&*store, out_ptr, &mut out).map_err(|_| {
        Failure::Failed(format!(
            "returned output outside its memory ({out_ptr:#x}, {out_len} bytes)"
        ))
    })?;
    Ok(out)
}
