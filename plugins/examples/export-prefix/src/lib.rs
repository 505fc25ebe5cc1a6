//! export-prefix: every symbol a module exports must start with the module's prefix, its
//! name followed by `_` (`nvme_core` exports `nvme_core_*`; `-` and `_` alike), so that
//! exports say where they live and do not collide.
//!
//! Config (all repeatable): `modules` is a module-name pattern to check (default: all);
//! `prefix` is an extra prefix allowed for every checked module; `allow` is a symbol
//! pattern (`*`, `?`) exempt from the rule. Findings: `unprefixed-export` (warn).

use modpolicy_plugin::{glob, plugin, Findings, Graph};

/// The check.
pub fn check(g: &Graph, out: &mut Findings) {
    let modules = g.config_all("modules");
    let prefixes = g.config_all("prefix");
    let allow = g.config_all("allow");
    for m in &g.modules {
        if !modules.is_empty() && !modules.iter().any(|p| glob(p, &m.name)) {
            continue;
        }
        let own = format!("{}_", m.name);
        for e in &m.exports {
            let name = e.name.replace('-', "_");
            let ok = name.starts_with(&own)
                || name == m.name
                || prefixes.iter().any(|p| name.starts_with(p))
                || allow.iter().any(|p| glob(p, &e.name));
            if !ok {
                out.warn(
                    "unprefixed-export",
                    Some(&m.name),
                    Some(&e.name),
                    format!("module {} exports {}, which does not start with its prefix {own}", m.name, e.name),
                );
            }
        }
    }
}

plugin!(check);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unprefixed_exports_are_reported() {
        let input = b"modpolicy-plugin-input\t1\nplugin\tp\nconfig\tallow\tspecial_*\n\
module\t0\tfoo_bar\tkernel/foo-bar.ko\tGPL\tok\nexport\tfoo_bar_init\t-\tany\t-\n\
export\tother_fn\t-\tany\t-\nexport\tspecial_x\t-\tany\t-\nend\n";
        let g = Graph::parse(input).unwrap();
        let mut out = Findings::default();
        check(&g, &mut out);
        assert_eq!(out.len(), 1, "{}", out.records());
        assert!(out.records().contains("\tother_fn\t"));
    }
}
