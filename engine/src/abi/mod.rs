//! The ABI gate's comparison: two sides' exports (a `Module.symvers`, an installed tree or
//! a build directory, see [`side`]), the changes between them ([`diff`]), and the
//! policy's verdict on each change ([`classify`]), as [`Finding`](crate::diag::Finding)s.
//!
//! One job per file: [`side`] turns an input into a sorted list of exports (and, for
//! trees and build directories, who imports what); [`diff`] compares two such lists by
//! one merge pass; [`classify`] applies the policy's `abi-tolerate`/`abi-deny` rules and
//! `severity` levels. The comparison knows nothing of output formats or exit codes, and
//! does no IO but in [`side`].

pub mod classify;
pub mod diff;
pub mod side;

use crate::diag::Code;

/// What changed about one export between the baseline and the new side. Each kind has
/// its own stable code ([`ChangeKind::code`]) and policy name ([`ChangeKind::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Exported by the baseline, not by the new side.
    Removed,
    /// Both sides export it with different non-zero CRCs.
    CrcChanged,
    /// Exported by another module (or moved to or from vmlinux).
    Moved,
    /// `EXPORT_SYMBOL` became `EXPORT_SYMBOL_GPL`.
    LicenseTightened,
    /// `EXPORT_SYMBOL_GPL` became `EXPORT_SYMBOL`.
    LicenseLoosened,
    /// No namespace in the baseline, one now.
    NamespaceAdded,
    /// A namespace in the baseline, none now.
    NamespaceRemoved,
    /// Another namespace.
    NamespaceChanged,
    /// Exported by the new side only.
    Added,
    /// CRC 0x00000000 on one side or both: the kernel was built without versions for it.
    Unversioned,
}

impl ChangeKind {
    /// Every kind, in report order.
    pub const ALL: &'static [ChangeKind] = &[
        ChangeKind::Removed,
        ChangeKind::CrcChanged,
        ChangeKind::Moved,
        ChangeKind::LicenseTightened,
        ChangeKind::LicenseLoosened,
        ChangeKind::NamespaceAdded,
        ChangeKind::NamespaceRemoved,
        ChangeKind::NamespaceChanged,
        ChangeKind::Added,
        ChangeKind::Unversioned,
    ];

    /// The finding's code.
    pub fn code(self) -> Code {
        match self {
            ChangeKind::Removed => Code::AbiExportRemoved,
            ChangeKind::CrcChanged => Code::AbiCrcChanged,
            ChangeKind::Moved => Code::AbiExportMoved,
            ChangeKind::LicenseTightened => Code::AbiLicenseTightened,
            ChangeKind::LicenseLoosened => Code::AbiLicenseLoosened,
            ChangeKind::NamespaceAdded => Code::AbiNamespaceAdded,
            ChangeKind::NamespaceRemoved => Code::AbiNamespaceRemoved,
            ChangeKind::NamespaceChanged => Code::AbiNamespaceChanged,
            ChangeKind::Added => Code::AbiExportAdded,
            ChangeKind::Unversioned => Code::AbiUnversioned,
        }
    }

    /// The name in a rule's `changes` list: the code without its `abi-` prefix.
    pub fn name(self) -> &'static str {
        let n = self.code().name();
        n.strip_prefix("abi-").unwrap_or(n)
    }

    /// Looks a kind up by its `changes` name (or its full code).
    pub fn from_name(s: &str) -> Option<ChangeKind> {
        ChangeKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s || k.code().name() == s)
    }

    /// Whether modules built against the baseline may break: the kinds whose importers
    /// are listed as affected.
    pub fn affects_importers(self) -> bool {
        !matches!(
            self,
            ChangeKind::Added | ChangeKind::LicenseLoosened | ChangeKind::NamespaceRemoved
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_map_to_abi_codes() {
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_name(k.name()), Some(*k));
            assert_eq!(ChangeKind::from_name(k.code().name()), Some(*k));
            assert!(k.code().name().starts_with("abi-"));
        }
        assert_eq!(ChangeKind::from_name("crc"), None);
        assert_eq!(ChangeKind::CrcChanged.name(), "crc-changed");
    }
}
