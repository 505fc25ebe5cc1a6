//! The `modpolicy` binary: parse the command line, run a job of the library, print what
//! it returns, map the outcome to an exit code (see [`cli`]).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
