//! @NAME@: a modpolicy plugin (Rust, plugin ABI version 1).
//!
//! The check: every module must have a MODULE_DESCRIPTION() (modinfo `description`).
//! Replace it with yours; plugins/README.md in modpolicy describes the graph.

use modpolicy_plugin::{plugin, Findings, Graph};

/// The check.
pub fn check(g: &Graph, out: &mut Findings) {
    for m in &g.modules {
        if m.readable && m.modinfo("description").is_empty() {
            out.warn(
                "no-description",
                Some(&m.name),
                None,
                format!("module {} has no MODULE_DESCRIPTION()", m.name),
            );
        }
    }
}

plugin!(check);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_without_description_is_reported() {
        let input = b"modpolicy-plugin-input\t1\nplugin\t@NAME@\n\
module\t0\tgood\tkernel/good.ko\tGPL\tok\nmodinfo\tdescription\tA good module\n\
module\t1\tbad\tkernel/bad.ko\tGPL\tok\nmodinfo\tlicense\tGPL\nend\n";
        let g = Graph::parse(input).unwrap();
        let mut out = Findings::default();
        check(&g, &mut out);
        assert_eq!(
            out.records(),
            "finding\tno-description\twarn\tbad\t-\tmodule bad has no MODULE_DESCRIPTION()\n"
        );
    }
}
