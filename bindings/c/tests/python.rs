//! Runs `examples/python/test_ctypes.py`: the C ABI from a second runtime (ctypes on
//! `libtollbooth.so`). Skipped, with a notice, when `python3` is not installed.

mod support;

use std::process::Command;

#[test]
fn python_ctypes_example() {
    let Ok(version) = Command::new("python3").arg("--version").output() else {
        eprintln!("NOTICE: python3 not found; skipping examples/python/test_ctypes.py");
        return;
    };
    assert!(version.status.success(), "python3 --version failed");
    let lib = support::library("libtollbooth.so");
    let script = support::repo_root().join("examples/python/test_ctypes.py");
    let out = Command::new("python3")
        .arg(&script)
        .env("TOLLBOOTH_LIB", &lib)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed:\n{}{stderr}",
        script.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    // unittest reports on stderr; make sure the tests actually ran.
    assert!(stderr.contains("\nOK"), "{stderr}");
    let ran: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .expect("a 'Ran N tests' line");
    assert!(ran >= 5, "only {ran} python tests ran");
}
