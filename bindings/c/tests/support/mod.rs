//! Finding (and building) the C library products from an integration test.
//!
//! An integration test of a crate whose only crate types are `staticlib` and `cdylib` does
//! not make cargo build those products (there is no rlib for the test to link), so
//! `cargo test` alone would test a stale or missing `libtollbooth.a`. `library` therefore
//! runs `cargo build -p tollbooth-c` once, in this test's profile and target directory (cargo
//! releases the build lock before it runs tests), and then checks that the product is not
//! older than the sources.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/<profile>`: test binaries live in `target/<profile>/deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn newest_source() -> SystemTime {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    std::fs::read_dir(dir)
        .expect("src")
        .map(|e| {
            e.expect("entry")
                .metadata()
                .expect("meta")
                .modified()
                .expect("mtime")
        })
        .max()
        .expect("sources")
}

fn build_once() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = profile_dir();
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_owned(),
            Some(other) => other.to_owned(),
            None => panic!("cannot tell the profile from {}", dir.display()),
        };
        // target/<profile> or target/<triple>/<profile>: the target dir is the first
        // ancestor that holds a CACHEDIR.TAG (cargo writes one at its root).
        let target_dir = dir
            .ancestors()
            .find(|p| p.join("CACHEDIR.TAG").exists())
            .unwrap_or_else(|| dir.parent().expect("target dir"));
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "tollbooth-c", "--profile", &profile])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p tollbooth-c failed");
    });
}

/// `target/<profile>/<file>` (`libtollbooth.a` or `libtollbooth.so`), built and up to date.
pub fn library(file: &str) -> PathBuf {
    build_once();
    let lib = profile_dir().join(file);
    let meta = std::fs::metadata(&lib)
        .unwrap_or_else(|e| panic!("{} is missing after cargo build: {e}", lib.display()));
    assert!(
        meta.modified().expect("mtime") >= newest_source(),
        "{} is older than bindings/c/src: a stale library would test old code",
        lib.display()
    );
    lib
}
