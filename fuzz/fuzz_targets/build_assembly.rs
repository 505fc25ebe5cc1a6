//! The build-directory assembly of `modpolicy check`: `modules.order` lines matched to
//! `.o`/`.ko` objects (`job::build::assemble`), then the export graph ordered by the same
//! file. The input is the set of files that exist (one path per line, relative to the
//! build directory `/b` or absolute), a NUL, then `modules.order`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::graph::{ExportGraph, GraphInput, SymbolPrefix};
use modpolicy::job::build::assemble;
use modpolicy::load::order::parse_modules_order;
use modpolicy::load::ModuleImage;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let (files, order) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let files: HashSet<String> = String::from_utf8_lossy(files)
        .lines()
        .map(|l| match l.strip_prefix('/') {
            Some(_) => l.to_string(),
            None => format!("/b/{l}"),
        })
        .collect();
    let order = parse_modules_order(order);
    let external = files.contains("/b/vmlinux.o");
    let Ok(a) = assemble("/b", &order, external, |p| files.contains(p)) else {
        return;
    };
    // Every line is a module or a note; each object once, and one that exists.
    assert_eq!(a.modules.len() + a.notes.len(), order.lines.len());
    let mut paths = HashSet::new();
    for (s, _) in &a.modules {
        assert!(files.contains(&s.path), "{} does not exist", s.path);
        assert!(paths.insert(s.path.clone()), "{} twice", s.path);
    }
    let n = a.modules.len();
    let graph = ExportGraph::build(GraphInput {
        modules: a
            .modules
            .into_iter()
            .map(|(s, _)| (s, Ok(ModuleImage::default())))
            .collect(),
        order: Some(&order),
        order_first_wins: data.len() % 2 == 0,
        kernel: None,
        prefix: SymbolPrefix::default(),
    });
    assert_eq!(graph.modules.len(), n);
});
