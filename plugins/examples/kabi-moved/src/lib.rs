//! kabi-moved: RHEL's `check-kabi` rule on exports. Every symbol that vmlinux exported
//! in a baseline `Module.symvers` (each file the policy hands over with `files`) must
//! stay in vmlinux: a module of the checked tree that exports it is a `moved-to-module`
//! error (modules built against the baseline would now need that module loaded).
//! With `--symvers` (the kernel's exports are known), a baseline vmlinux symbol whose
//! CRC changed is `crc-changed`, and one that nobody exports any more is `removed`.
//!
//! Config: `ignore` (repeatable) is a symbol pattern (`*`, `?`) left unchecked.

use modpolicy_plugin::{glob, parse_symvers, plugin, Findings, Graph};
use std::collections::HashMap;

/// The check.
pub fn check(g: &Graph, out: &mut Findings) {
    let ignore = g.config_all("ignore");
    let mut exporters: HashMap<&str, Vec<&str>> = HashMap::new();
    for m in &g.modules {
        for e in &m.exports {
            exporters.entry(e.name.as_str()).or_default().push(m.name.as_str());
        }
    }
    let kernel: HashMap<&str, Option<u64>> =
        g.kernel.iter().map(|e| (e.name.as_str(), e.crc)).collect();
    for f in &g.files {
        for (sym, module, crc) in parse_symvers(&f.bytes) {
            if module != "vmlinux" || ignore.iter().any(|p| glob(p, &sym)) {
                continue;
            }
            if let Some(mods) = exporters.get(sym.as_str()) {
                for m in mods {
                    out.deny(
                        "moved-to-module",
                        Some(m),
                        Some(&sym),
                        format!("{sym} was exported by vmlinux in the baseline {} but is now exported by module {m}", f.name),
                    );
                }
                continue;
            }
            if kernel.is_empty() {
                continue;
            }
            match kernel.get(sym.as_str()) {
                None => out.warn(
                    "removed",
                    None,
                    Some(&sym),
                    format!("{sym} was exported by vmlinux in the baseline {} and is exported by nothing now", f.name),
                ),
                Some(now) if crc.is_some() && now.is_some() && *now != crc => out.deny(
                    "crc-changed",
                    None,
                    Some(&sym),
                    format!(
                        "the CRC of {sym} changed from {:#010x} in the baseline {} to {:#010x}",
                        crc.unwrap_or(0),
                        f.name,
                        now.unwrap_or(0)
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

plugin!(check);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vmlinux_symbol_exported_by_a_module_is_reported() {
        let input = b"modpolicy-plugin-input\t1\nplugin\tkabi\nfile\tbase\t33\n0x00000001\tfoo_fn\tvmlinux\tEXPORT\n\n\
module\t0\tfoo\tkernel/foo.ko\tGPL\tok\nexport\tfoo_fn\t-\tany\t-\nend\n";
        let g = Graph::parse(input).unwrap();
        let mut out = Findings::default();
        check(&g, &mut out);
        assert_eq!(out.len(), 1, "{}", out.records());
        assert!(out.records().starts_with("finding\tmoved-to-module\tdeny\tfoo\tfoo_fn\t"));
    }
}
