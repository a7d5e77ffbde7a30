//! Builds `init/warren-init.rs` (the container init for `run --init`) as its own small, statically
//! linked program, which the warren binary embeds (`include_bytes!`) and bind-mounts into containers
//! at /run/warren-init: a static binary runs in every image, whatever its libc.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "init/warren-init.rs";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("warren-init");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    let status = Command::new(&rustc)
        .args(["--edition", "2021", "--crate-name", "warren_init", "--crate-type", "bin", "--target", &target])
        .args(["-C", "opt-level=s", "-C", "panic=abort", "-C", "target-feature=+crt-static", "-C", "strip=symbols"])
        .arg(src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("running {rustc} to build {src}: {e}"));
    assert!(
        status.success(),
        "building {src} (statically linked; on glibc this needs libc.a, Debian package libc6-dev) failed"
    );
}
