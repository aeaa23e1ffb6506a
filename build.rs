//! musl targets only: turso_core's `libloading` dependency links `-ldl`, and the self-contained
//! musl sysroot ships no `libdl.a` (musl's libc.a already has dlopen). An empty archive satisfies
//! the linker, so write one into OUT_DIR and add it to the search path: no C tool, nothing binary
//! committed.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("musl") {
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
