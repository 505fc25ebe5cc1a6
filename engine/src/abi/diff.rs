//! The changes between two sides: one merge pass over both sorted export lists.
//!
//! For each name, in name order: exported by the baseline only ([`ChangeKind::Removed`]),
//! by the new side only ([`ChangeKind::Added`]), or by both, then compared field by
//! field: CRC, exporter, licence, namespace. A CRC of 0 on either side is reported as
//! [`ChangeKind::Unversioned`] instead of a CRC change (nothing can be compared).

use super::side::Side;
use super::ChangeKind;
use crate::load::symvers::SymversEntry;
use std::cmp::Ordering;

/// One change of one export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<'a> {
    /// What changed.
    pub kind: ChangeKind,
    /// The symbol.
    pub symbol: &'a str,
    /// Its baseline record, if the baseline exports it.
    pub old: Option<&'a SymversEntry>,
    /// Its new record, if the new side exports it.
    pub new: Option<&'a SymversEntry>,
}

impl Change<'_> {
    /// The record the change is reported at: the new one, else the baseline's.
    pub fn entry(&self) -> &SymversEntry {
        self.new
            .or(self.old)
            .expect("a change has a record on one side")
    }
}

/// Counts of what was compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Exports of the baseline.
    pub baseline: usize,
    /// Exports of the new side.
    pub new: usize,
    /// Names both sides export.
    pub common: usize,
}

/// Every change from `old` to `new`, in name order (for one name, in
/// [`ChangeKind::ALL`]'s order).
pub fn diff<'a>(old: &'a Side, new: &'a Side) -> (Vec<Change<'a>>, Counts) {
    let (a, b) = (&old.exports, &new.exports);
    let mut out = Vec::new();
    let mut counts = Counts {
        baseline: a.len(),
        new: b.len(),
        common: 0,
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let ord = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.name.cmp(&y.name),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match ord {
            Ordering::Less => {
                let x = &a[i];
                out.push(change(ChangeKind::Removed, Some(x), None));
                i += 1;
            }
            Ordering::Greater => {
                let y = &b[j];
                out.push(change(ChangeKind::Added, None, Some(y)));
                if y.crc == 0 {
                    out.push(change(ChangeKind::Unversioned, None, Some(y)));
                }
                j += 1;
            }
            Ordering::Equal => {
                counts.common += 1;
                compare(&a[i], &b[j], &mut out);
                i += 1;
                j += 1;
            }
        }
    }
    (out, counts)
}

fn change<'a>(
    kind: ChangeKind,
    old: Option<&'a SymversEntry>,
    new: Option<&'a SymversEntry>,
) -> Change<'a> {
    Change {
        kind,
        symbol: &old.or(new).expect("one side").name,
        old,
        new,
    }
}

fn compare<'a>(x: &'a SymversEntry, y: &'a SymversEntry, out: &mut Vec<Change<'a>>) {
    let mut push = |k| out.push(change(k, Some(x), Some(y)));
    let unversioned = x.crc == 0 || y.crc == 0;
    if !unversioned && x.crc != y.crc {
        push(ChangeKind::CrcChanged);
    }
    if x.module != y.module {
        push(ChangeKind::Moved);
    }
    match (x.is_gpl_only(), y.is_gpl_only()) {
        (false, true) => push(ChangeKind::LicenseTightened),
        (true, false) => push(ChangeKind::LicenseLoosened),
        _ => {}
    }
    match (x.namespace.is_empty(), y.namespace.is_empty()) {
        (true, false) => push(ChangeKind::NamespaceAdded),
        (false, true) => push(ChangeKind::NamespaceRemoved),
        (false, false) if x.namespace != y.namespace => push(ChangeKind::NamespaceChanged),
        _ => {}
    }
    if unversioned {
        push(ChangeKind::Unversioned);
    }
}

#[cfg(test)]
mod tests {
    use super::super::side::parse;
    use super::*;
    use std::path::Path;

    #[test]
    fn every_kind_of_change_is_found() {
        let old = parse(
            Path::new("old"),
            b"0x1\tgone\tvmlinux\tEXPORT_SYMBOL\t\n\
              0x2\tcrc\tvmlinux\tEXPORT_SYMBOL\t\n\
              0x3\tmoved\tvmlinux\tEXPORT_SYMBOL\t\n\
              0x4\tgpl\tm/a\tEXPORT_SYMBOL\t\n\
              0x5\tfree\tm/a\tEXPORT_SYMBOL_GPL\t\n\
              0x6\tns_in\tm/a\tEXPORT_SYMBOL\t\n\
              0x7\tns_out\tm/a\tEXPORT_SYMBOL\tA\n\
              0x8\tns_other\tm/a\tEXPORT_SYMBOL\tA\n\
              0x0\tzero\tm/a\tEXPORT_SYMBOL\t\n\
              0x9\tsame\tm/a\tEXPORT_SYMBOL\tA\n",
        )
        .unwrap();
        let new = parse(
            Path::new("new"),
            b"0x2a\tcrc\tvmlinux\tEXPORT_SYMBOL\t\n\
              0x3\tmoved\tm/b\tEXPORT_SYMBOL\t\n\
              0x4\tgpl\tm/a\tEXPORT_SYMBOL_GPL\t\n\
              0x5\tfree\tm/a\tEXPORT_SYMBOL\t\n\
              0x6\tns_in\tm/a\tEXPORT_SYMBOL\tB\n\
              0x7\tns_out\tm/a\tEXPORT_SYMBOL\t\n\
              0x8\tns_other\tm/a\tEXPORT_SYMBOL\tB\n\
              0x5\tzero\tm/a\tEXPORT_SYMBOL\t\n\
              0x9\tsame\tm/a\tEXPORT_SYMBOL\tA\n\
              0xa\tfresh\tm/c\tEXPORT_SYMBOL\t\n",
        )
        .unwrap();
        let (changes, counts) = diff(&old, &new);
        let got: Vec<(&str, &str)> = changes.iter().map(|c| (c.symbol, c.kind.name())).collect();
        assert_eq!(
            got,
            [
                ("crc", "crc-changed"),
                ("free", "license-loosened"),
                ("fresh", "export-added"),
                ("gone", "export-removed"),
                ("gpl", "license-tightened"),
                ("moved", "export-moved"),
                ("ns_in", "namespace-added"),
                ("ns_other", "namespace-changed"),
                ("ns_out", "namespace-removed"),
                ("zero", "unversioned"),
            ]
        );
        assert_eq!(
            counts,
            Counts {
                baseline: 10,
                new: 10,
                common: 9
            }
        );
    }
}
