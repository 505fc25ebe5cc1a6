# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_modpolicy_global_optspecs
    string join \n v/verbose q/quiet h/help V/version
end

function __fish_modpolicy_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_modpolicy_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_modpolicy_using_subcommand
    set -l cmd (__fish_modpolicy_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c modpolicy -n "__fish_modpolicy_needs_command" -s v -l verbose -d 'More log output (repeatable): -v info, -vv debug, -vvv trace. Logs go to stderr'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -s q -l quiet -d 'Only errors in the log'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -s V -l version -d 'Print version'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "depmod" -d 'Write depmod artifacts (modules.dep, .alias, .symbols, ... and .bin indexes), byte-identical to kmod\'s depmod; kmod\'s command line'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "check" -d 'Check modules as modpost does, and more, under a policy: modpost text, human, JSON or SARIF output; exit 1 on an error-level finding, 2 on bad input'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "explain" -d 'Explain a symbol\'s provider (every exporter, the deciding rule, the importers) or a module\'s imports and dependencies'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "abi" -d 'Compare a kernel\'s exports with a baseline ABI under the policy\'s ABI rules: every removed, changed, moved export with the modules that import it; exit 1 on a denied change, 2 on bad input'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "policy" -d 'Tools for policy files'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "plugin" -d 'Tools for WebAssembly plugins'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "generate-docs" -d 'Write the man pages and shell completions (for packaging)'
complete -c modpolicy -n "__fish_modpolicy_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s b -l basedir -d 'Root directory: modules are read from BASEDIR/lib/modules/VERSION' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s m -l moduledir -d 'kmod 34 (with `--kmod 34`): read modules from BASEDIR/DIR/VERSION instead of BASEDIR/lib/modules/VERSION (a relative DIR is under BASEDIR too)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s o -l outdir -d 'Write the artifacts under OUTDIR/lib/modules/VERSION instead (OUTDIR/DIR/VERSION with -m DIR)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s C -l config -d 'Configuration file or directory (repeatable; replaces the default directories)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s F -l filesyms -d 'System.map of the kernel, for vmlinux\'s exports' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s E -l symvers -d 'Module.symvers of the kernel, for vmlinux\'s exports and their CRCs (wins over -F)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s P -l symbol-prefix -d 'Symbol prefix character to ignore (e.g. `_`)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l kmod -d 'Which kmod release to reproduce' -r -f -a "30\t'kmod 30 (Debian bookworm): post-order `.bin`, last duplicate `modules.order` line wins, no `modules.weakdep`'
34\t'kmod 34: pre-order `.bin`, first duplicate `modules.order` line wins, `modules.weakdep` written'"
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l policy -d 'Policy file (repeatable; later files are higher layers). Default: the built-in policy (kmod\'s provider rules; every code at its default level)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l allow -d 'Report findings with this code at no level (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l warn-code -d 'Report findings with this code as warnings (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l deny -d 'Report findings with this code as errors; depmod then writes nothing (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l max-module-size -d 'The largest module file accepted, decompressed (suffix K, M or G for KiB, MiB, GiB; default 512M). A larger module is unreadable (`unreadable-module`), as is a compressed one that expands past it' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l cache -d 'Keep the module cache in DIR (default: BASEDIR/var/cache/modpolicy with -b, else /var/cache/modpolicy for root, else $XDG_CACHE_HOME/modpolicy or ~/.cache/modpolicy; run as `depmod` with -b or -o, none unless this is given)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s a -l all -d 'Probe all modules (the default when no module paths are given)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s A -l quick -d 'Do nothing if modules.dep is newer than every module file'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s e -l errsyms -d 'Report unknown symbols and CRC disagreements (needs -E or -F)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s n -l show -l dry-run -d 'Print the text artifacts to stdout instead of writing files'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s w -l warn -d 'Warn about duplicate values inside an index'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s v -l verbose -d 'Print each new dependency edge (kmod\'s NOTICE level)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l gzip -d 'Treat `.ko.gz` files as modules (kmod built with zlib; Debian\'s kmod 30 is not)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l sync -d 'Flush each artifact to disk before it replaces the old one'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l no-cache -d 'Neither read nor write the module cache: read every module file'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l write-shipped-cache -d 'Also write the shipped module cache, MODULEDIR/VERSION/modules.modpolicy-cache: every module\'s content hash and what it says, for a kernel package to ship beside its modules (the target\'s first depmod then hashes instead of decompressing)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -l progress -d 'Show a progress bar on stderr when it is a terminal and the run lasts more than a second (kmod\'s depmod shows none, so neither does this one unless asked)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand depmod" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l policy -d 'Policy file (repeatable; later files are higher layers). Default: the built-in policy (kmod\'s provider rules; every code at its default level)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l symvers -d 'The kernel\'s Module.symvers first, then extra symbol dumps (repeatable)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l format -d 'Output format' -r -f -a "modpost\t'modpost\'s lines (`ERROR: modpost: ...`), in modpost\'s order and wording'
human\t'miette reports with spans into the policy, and a summary'
json\t'The versioned JSON schema of docs/json-schema.md'
sarif\t'SARIF 2.1.0 (GitHub code scanning)'
html\t'One self-contained HTML page: summary, filterable findings, contested symbols with their deciding rules, and a drawing of the export graph'"
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -s b -l basedir -d 'Root directory: check BASEDIR/lib/modules/VERSION (then the one positional argument is VERSION), as for depmod' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -s C -l config -d 'depmod configuration file or directory for installed trees (repeatable)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l kernel-version -d 'The kernel release whose modpost rules apply (e.g. 6.18.0; `module:` namespaces from 6.16). Default: each input\'s own, from a module\'s `vermagic`, the tree\'s version, or the kernel build tree of the first `--symvers`' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l allow -d 'Report findings with this code at no level (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l warn-code -d 'Report findings with this code as warnings (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l deny -d 'Report findings with this code as errors; depmod then writes nothing (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l plugin-cache -d 'Where compiled plugins are cached. Default: $MODPOLICY_PLUGIN_CACHE, else $XDG_CACHE_HOME/modpolicy/plugins, else ~/.cache/modpolicy/plugins' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -s w -l warn-undefined -d 'Undefined symbols are warnings, not errors (modpost -w, KBUILD_MODPOST_WARN=1)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -s N -l allow-missing-ns-imports -d 'Missing namespace imports are warnings, not errors (modpost -N)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l no-plugin-cache -d 'Compile plugins afresh and cache nothing'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l no-progress -d 'Show no progress bar (one appears on stderr when it is a terminal and the run lasts more than a second)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -l no-system-policy -d 'Read no system policy (/usr/lib/modpolicy/policy.d, /etc/modpolicy/policy.d under the first tree\'s root, as its depmod reads them): only the --policy files'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand explain" -l policy -d 'Policy file (repeatable; later files are higher layers). Default: the built-in policy (kmod\'s provider rules; every code at its default level)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand explain" -s b -l basedir -d 'Root directory: modules are read from BASEDIR/lib/modules/VERSION' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand explain" -s C -l config -d 'depmod.d configuration file or directory (repeatable; replaces the default directories)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand explain" -s F -l filesyms -d 'System.map of the kernel, for vmlinux\'s exports' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand explain" -s E -l symvers -d 'Module.symvers of the kernel, for vmlinux\'s exports and their CRCs (wins over -F)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand explain" -l no-progress -d 'Show no progress bar (one appears on stderr when it is a terminal and the run lasts more than a second)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand explain" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l policy -d 'Policy file (repeatable; later files are higher layers). Default: the built-in policy (kmod\'s provider rules; every code at its default level)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l format -d 'Output format' -r -f -a "human\t'miette reports with spans into the policy, and a summary'
json\t'The versioned JSON schema of docs/json-schema.md'
sarif\t'SARIF 2.1.0 (GitHub code scanning)'
text\t'One line per finding: `SEVERITY: CODE: MESSAGE [RULE]`, then a summary'
html\t'One self-contained HTML page: summary, filterable findings, the changes by kind with the modules they affect, and a drawing of each changed symbol\'s importers'"
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l consumers -d 'A module tree or build directory whose modules\' imports say who must be rebuilt (repeatable; the new side\'s own modules are always counted)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l baseline-kernel -d 'The baseline kernel\'s Module.symvers, for vmlinux\'s exports when BASELINE is a tree or build directory' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l new-kernel -d 'The new kernel\'s Module.symvers, for vmlinux\'s exports when NEW (or a consumer) is a tree or build directory' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l symbol -d 'Explain one symbol (repeatable): only its changes, its record on both sides and the modules that import it' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l allow -d 'Report findings with this code at no level (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l warn-code -d 'Report findings with this code as warnings (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l deny -d 'Report findings with this code as errors; depmod then writes nothing (repeatable)' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -l no-progress -d 'Show no progress bar (one appears on stderr when it is a terminal and the run lasts more than a second)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand abi" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and not __fish_seen_subcommand_from import-depmod-conf import-kabi-rules lint show help" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and not __fish_seen_subcommand_from import-depmod-conf import-kabi-rules lint show help" -f -a "import-depmod-conf" -d 'Print a KDL policy equivalent to depmod.d configuration (files or directories, read with kmod\'s precedence rules)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and not __fish_seen_subcommand_from import-depmod-conf import-kabi-rules lint show help" -f -a "import-kabi-rules" -d 'Print a KDL policy equivalent to SUSE\'s kABI severity rules (`abi-tolerate` and `abi-deny` rules for `modpolicy abi`); exit 2 naming each malformed line'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and not __fish_seen_subcommand_from import-depmod-conf import-kabi-rules lint show help" -f -a "lint" -d 'Validate policy files and report rules that can never apply'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and not __fish_seen_subcommand_from import-depmod-conf import-kabi-rules lint show help" -f -a "show" -d 'Print the effective policy layers, lowest first: the system policies (/usr/lib/modpolicy/policy.d, then /etc/modpolicy/policy.d, masking by file name) and the --policy files, with the files each includes: what depmod, explain and check read for a tree under BASEDIR'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and not __fish_seen_subcommand_from import-depmod-conf import-kabi-rules lint show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from import-depmod-conf" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from import-kabi-rules" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from lint" -l kernel -d 'Kernel version for `kernel=` patterns' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from lint" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from show" -s b -l basedir -d 'Root directory the system policy directories are read under' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from show" -l policy -d 'Policy file (repeatable; later files are higher layers). Default: the built-in policy (kmod\'s provider rules; every code at its default level)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from show" -l kernel -d 'Kernel version for `kernel=` patterns' -r
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from show" -l no-system-policy -d 'Only the --policy files, as `check --no-system-policy` reads them'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "import-depmod-conf" -d 'Print a KDL policy equivalent to depmod.d configuration (files or directories, read with kmod\'s precedence rules)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "import-kabi-rules" -d 'Print a KDL policy equivalent to SUSE\'s kABI severity rules (`abi-tolerate` and `abi-deny` rules for `modpolicy abi`); exit 2 naming each malformed line'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "lint" -d 'Validate policy files and report rules that can never apply'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective policy layers, lowest first: the system policies (/usr/lib/modpolicy/policy.d, then /etc/modpolicy/policy.d, masking by file name) and the --policy files, with the files each includes: what depmod, explain and check read for a tree under BASEDIR'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and not __fish_seen_subcommand_from new help" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and not __fish_seen_subcommand_from new help" -f -a "new" -d 'Create a plugin that builds and passes its own test as generated'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and not __fish_seen_subcommand_from new help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and __fish_seen_subcommand_from new" -l lang -d 'The language' -r -f -a "c\t'C (Debian clang + wasm-ld, freestanding)'
rust\t'Rust (Debian rustc 1.63, wasm32-unknown-unknown)'"
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and __fish_seen_subcommand_from new" -l dir -d 'The directory to create (default: ./NAME)' -r -F
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "new" -d 'Create a plugin that builds and passes its own test as generated'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "depmod" -d 'Write depmod artifacts (modules.dep, .alias, .symbols, ... and .bin indexes), byte-identical to kmod\'s depmod; kmod\'s command line'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "check" -d 'Check modules as modpost does, and more, under a policy: modpost text, human, JSON or SARIF output; exit 1 on an error-level finding, 2 on bad input'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "explain" -d 'Explain a symbol\'s provider (every exporter, the deciding rule, the importers) or a module\'s imports and dependencies'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "abi" -d 'Compare a kernel\'s exports with a baseline ABI under the policy\'s ABI rules: every removed, changed, moved export with the modules that import it; exit 1 on a denied change, 2 on bad input'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "policy" -d 'Tools for policy files'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "plugin" -d 'Tools for WebAssembly plugins'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "generate-docs" -d 'Write the man pages and shell completions (for packaging)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and not __fish_seen_subcommand_from depmod check explain abi policy plugin generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "import-depmod-conf" -d 'Print a KDL policy equivalent to depmod.d configuration (files or directories, read with kmod\'s precedence rules)'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "import-kabi-rules" -d 'Print a KDL policy equivalent to SUSE\'s kABI severity rules (`abi-tolerate` and `abi-deny` rules for `modpolicy abi`); exit 2 naming each malformed line'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "lint" -d 'Validate policy files and report rules that can never apply'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "show" -d 'Print the effective policy layers, lowest first: the system policies (/usr/lib/modpolicy/policy.d, then /etc/modpolicy/policy.d, masking by file name) and the --policy files, with the files each includes: what depmod, explain and check read for a tree under BASEDIR'
complete -c modpolicy -n "__fish_modpolicy_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "new" -d 'Create a plugin that builds and passes its own test as generated'
