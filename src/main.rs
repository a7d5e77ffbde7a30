//! The `warren` binary: decide the mode, enter the engine's user namespace while the process is still
//! single-threaded, then hand over to the CLI.

fn main() {
    std::process::exit(warren::cli::main());
}
