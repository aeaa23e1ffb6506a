//! Link settings for the command line, by target.
//!
//! - Linux with glibc: the `beadstore` binary is linked as a plain (non-PIE) executable, as Go
//!   builds `bd`. A position-independent one carries 22,000 relative relocations that the
//!   dynamic loader applies at every start, touching and copying the pages they sit on: about
//!   1 ms of a 5 ms read command (docs/performance.md). `BEADSTORE_PIE=1` at build time keeps
//!   the default position-independent executable, for packagers who want its address
//!   randomisation.
//! - musl: turso_core's `libloading` dependency links `-ldl`, and the self-contained musl
//!   sysroot ships no `libdl.a` (musl's libc.a already has dlopen). An empty archive satisfies
//!   the linker, so write one into OUT_DIR and add it to the search path: no C tool, nothing
//!   binary committed. (Those builds are static already, see .cargo/config.toml.)

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BEADSTORE_PIE");
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let keep_pie = std::env::var("BEADSTORE_PIE").is_ok_and(|v| v == "1");
    if target_os == "linux" && target_env == "gnu" && !keep_pie {
        println!("cargo:rustc-link-arg-bin=beadstore=-no-pie");
    }
    if target_env != "musl" {
        return;
    }
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        println!("cargo:warning=OUT_DIR is not set; cannot provide an empty libdl.a");
        return;
    };
    let stub_dir = out_dir.join("musl-stubs");
    if let Err(e) = std::fs::create_dir_all(&stub_dir)
        .and_then(|()| std::fs::write(stub_dir.join("libdl.a"), b"!<arch>\n"))
    {
        println!("cargo:warning=cannot write the empty libdl.a: {e}");
        return;
    }
    println!("cargo:rustc-link-search=native={}", stub_dir.display());
}
