//! Compiles the C tests in `tests/c/` (repository root) against `include/tollbooth.h` and the
//! static library of this build, and runs them; under valgrind when `VALGRIND=1`. Also builds
//! and runs `tests/c/header_compiles.cpp` as C++.
//!
//! `support::library` builds the static library first (see there why `cargo test` alone does
//! not) and checks that it is not older than the sources.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{library, profile_dir, repo_root};

fn out_dir() -> PathBuf {
    let dir = profile_dir().join("c-tests");
    std::fs::create_dir_all(&dir).expect("create c-tests dir");
    dir
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    format!("{stdout}{stderr}")
}

/// Compiles `tests/c/<name>` with `compiler` and `flags`, links the static library.
fn build(name: &str, compiler: &str, flags: &[&str]) -> PathBuf {
    build_as(name, &name.replace('.', "_"), compiler, flags)
}

/// [`build`] into the executable `exe_name`, so two tests that build one source in parallel
/// never write the file the other is running ("Text file busy").
fn build_as(name: &str, exe_name: &str, compiler: &str, flags: &[&str]) -> PathBuf {
    let root = repo_root();
    let exe = out_dir().join(exe_name);
    let version = format!("-DTB_EXPECTED_VERSION=\"{}\"", env!("CARGO_PKG_VERSION"));
    run(Command::new(compiler)
        .args(flags)
        .arg(&version)
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("tests/c").join(name))
        .arg(library("libtollbooth.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe));
    exe
}

/// Runs a test binary, under valgrind when `VALGRIND=1`, and returns its output.
fn execute(exe: &Path) -> String {
    execute_with(exe, &[])
}

/// [`execute`] with extra environment variables.
fn execute_with(exe: &Path, env: &[(&str, &str)]) -> String {
    if std::env::var_os("VALGRIND").is_some_and(|v| v == "1") {
        let supp = repo_root().join("tests/c/valgrind.supp");
        let out = run(Command::new("valgrind")
            .args(["--leak-check=full", "--error-exitcode=1"])
            .arg(format!("--suppressions={}", supp.display()))
            .arg(exe)
            .envs(env.iter().copied()));
        let summary = out
            .lines()
            .filter(|l| l.contains("ERROR SUMMARY") || l.contains("definitely lost"))
            .collect::<Vec<_>>()
            .join("\n");
        eprintln!("valgrind {}:\n{summary}", exe.display());
        assert!(out.contains("ERROR SUMMARY: 0 errors"), "{out}");
        out
    } else {
        run(Command::new(exe).envs(env.iter().copied()))
    }
}

const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];

fn c_test(name: &str, expect: &str) {
    let out = execute(&build(name, "cc", C_FLAGS));
    assert!(out.contains(expect), "{name} did not finish: {out}");
}

#[test]
fn smoke() {
    c_test("smoke.c", "smoke: ok");
}

/// The same smoke against PostgreSQL (a fresh schema on the server `.ci/postgres.sh` started),
/// under valgrind too: the C face of the network store, TLS stack and pool included. Skips
/// without the harness; fails under CI without it.
#[test]
fn smoke_on_postgres() {
    let Some(url) = std::env::var("TOLLBOOTH_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
            "TOLLBOOTH_TEST_POSTGRES is not set under CI: run inside `bash .ci/postgres.sh run -- ...`"
        );
        eprintln!("note: TOLLBOOTH_TEST_POSTGRES is not set; skipping the PostgreSQL smoke");
        return;
    };
    /// Drops the smoke's schema however the test ends.
    struct Schema(String, String);
    impl Drop for Schema {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&self.0, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.1));
            }
        }
    }
    let schema = Schema(url.clone(), format!("tb_c_smoke_{}", std::process::id()));
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}schema={}", schema.1);
    let exe = build_as("smoke.c", "smoke_c_postgres", "cc", C_FLAGS);
    let out = execute_with(&exe, &[("TB_DATABASE", &db)]);
    drop(schema);
    assert!(
        out.contains("smoke: ok"),
        "smoke.c on PostgreSQL did not finish: {out}"
    );
}

#[test]
fn errors() {
    c_test("errors.c", "errors: ok");
}

#[test]
fn billing_model() {
    c_test("billing_model.c", "billing_model: ok");
}

#[test]
fn nulls() {
    c_test("nulls.c", "nulls: ok");
}

#[test]
fn threads() {
    c_test("threads.c", "threads: ok");
}

#[test]
fn header_compiles_as_cpp() {
    let exe = build(
        "header_compiles.cpp",
        "c++",
        &["-std=c++17", "-Wall", "-Wextra", "-Werror"],
    );
    let out = run(&mut Command::new(exe));
    assert!(
        out.contains(&format!(
            "c++: ok (tollbooth {})",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
}

/// The functions declared in the header (`tb_...(` after a return type at line start).
fn header_functions() -> Vec<String> {
    let header = std::fs::read_to_string(repo_root().join("include/tollbooth.h")).expect("header");
    header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with("typedef"))
        .filter_map(|l| {
            let (decl, _) = l.split_once('(')?;
            let name = decl.rsplit([' ', '*']).next()?;
            name.starts_with("tb_").then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn nulls_c_calls_every_function() {
    let functions = header_functions();
    assert!(functions.len() >= 30, "parsed {functions:?}");
    let nulls = std::fs::read_to_string(repo_root().join("tests/c/nulls.c")).expect("nulls.c");
    let missing: Vec<_> = functions
        .iter()
        .filter(|f| !nulls.contains(&format!("{f}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/c/nulls.c does not call {missing:?}"
    );
    eprintln!("{} functions in include/tollbooth.h", functions.len());
}

#[test]
fn readme_example_runs_and_is_the_one_in_the_readme() {
    let out = execute(&build("readme_example.c", "cc", C_FLAGS));
    assert!(out.contains("evt_1: outcome 0, 1 job(s)"), "{out}");
    assert!(out.contains("has_access=1"), "{out}");
    assert!(out.contains("crm.sync_customer"), "{out}");
    let example =
        std::fs::read_to_string(repo_root().join("tests/c/readme_example.c")).expect("example");
    let readme = std::fs::read_to_string(repo_root().join("bindings/c/README.md")).expect("readme");
    assert!(
        readme.contains(&format!("```c\n{example}```")),
        "bindings/c/README.md must quote tests/c/readme_example.c verbatim"
    );
}

#[path = "../../../tests/stripe_stub/mod.rs"]
mod stripe_stub;

/// `tb_stripe_reconcile`, `tb_engine_ingest_trusted` (a thin event), `tb_stripe_work` and
/// `tb_engine_job_fail_after` from C (`tests/c/stripe.c`) against the loopback Stripe stub;
/// the database is prepared and checked through the Rust API.
#[test]
fn stripe_reconcile_from_c() {
    use stripe_stub::{Stub, objects};
    const KEY: &str = "sk_test_51FromCSECRET";
    const T0: i64 = 1_767_000_000;
    let dir = tempfile_dir();
    let db = dir.join("stripe.db");
    let db = db.to_str().unwrap();
    {
        let e = tollbooth::Engine::open(
            tollbooth::Config::new(db, &["whsec_c_test_0123456789SECRETVALUE"]).unwrap(),
        )
        .unwrap();
        let sub = objects::subscription("sub_c", "cus_c", "active", T0, T0 + 86_400, "u");
        let mut other = sub.clone();
        other["status"] = "past_due".into();
        for (id, o) in [("evt_c1", sub), ("evt_c2", other)] {
            let ev = objects::event(id, "customer.subscription.updated", T0, o);
            e.ingest_trusted(ev.to_string().as_bytes(), T0).unwrap();
        }
        e.close().unwrap();
    }
    let stub = Stub::start(KEY);
    let truth = objects::subscription("sub_c", "cus_c", "canceled", T0, T0 + 86_400, "u");
    let thin = serde_json::json!({"id": "evt_test_c_thin", "object": "v2.core.event",
        "type": "v1.customer.subscription.created", "livemode": false,
        "created": "2026-01-01T00:00:00Z", "context": null,
        "related_object": {"id": "sub_c2", "type": "subscription", "url": "/v1/subscriptions/sub_c2"}});
    stub.add("/v2/core/events", [thin.clone()]);
    let sub2 = objects::subscription("sub_c2", "cus_c2", "active", T0, T0 + 86_400, "u2");
    stub.add("/v1/subscriptions", [truth, sub2]);
    let exe = build("stripe.c", "cc", C_FLAGS);
    let mut cmd = if std::env::var_os("VALGRIND").is_some_and(|v| v == "1") {
        let mut c = Command::new("valgrind");
        c.args(["--leak-check=full", "--error-exitcode=1"])
            .arg(format!(
                "--suppressions={}",
                repo_root().join("tests/c/valgrind.supp").display()
            ))
            .arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let thin = thin.to_string();
    let out = run(cmd.args([db, &stub.base_url, KEY, &thin]));
    assert!(out.contains("stripe: ok"), "{out}");
    // valgrind's own lines ("==pid== Command: ...") quote the arguments; the program's don't.
    assert!(
        out.lines().all(|l| l.starts_with("==") || !l.contains(KEY)),
        "{out}"
    );
    let reqs = stub.requests();
    let paths: Vec<_> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v1/subscriptions/sub_c",
            "/v2/core/events/evt_test_c_thin",
            "/v1/subscriptions/sub_c2"
        ],
        "the bad key and URL sent nothing"
    );
    let e = tollbooth::Engine::open(
        tollbooth::Config::new(db, &["whsec_c_test_0123456789SECRETVALUE"]).unwrap(),
    )
    .unwrap();
    assert!(!e.access("cus_c", T0 + 10).unwrap().has_access);
    assert!(e.access("cus_c2", T0 + 10).unwrap().has_access);
}

/// A fresh directory under the target dir (no tempfile dependency in this crate).
fn tempfile_dir() -> PathBuf {
    let dir = out_dir().join(format!("stripe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
