//! Running one test again in a child process of the test binary, under conditions that would
//! disturb the other tests: a file-size limit, or a private mount namespace.
//!
//! The test calls [`is_child`] first: in the child it does the work; in the parent it calls
//! [`run`], which re-executes the binary on that one test with [`CHILD_VAR`] set.

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Names the test that a re-executed test binary is to run as the child.
pub const CHILD_VAR: &str = "METRICS_TEST_CHILD";

/// Whether this process is the child run of `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_VAR).as_deref() == Ok(test)
}

/// Runs `test` of this test binary in a child process started through `wrapper` (a program
/// and its arguments, to which the binary and its arguments are appended), with `envs`.
/// Panics with the child's output unless it passes within 20 s; returns its output.
pub fn run(test: &str, wrapper: &[&str], envs: &[(&str, &OsStr)]) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let (program, wrapper_args) = wrapper.split_first().expect("a wrapper program");
    let mut command = Command::new(program);
    command
        .args(wrapper_args)
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, test)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in envs {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait for the child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("the child's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && text.contains("1 passed"),
        "the child run of {test} failed ({}):\n{text}",
        output.status
    );
    text
}

/// Runs `script` with `sh -c`, `$1` being `dir`; panics unless it succeeds.
pub fn sh(script: &str, dir: &std::path::Path) {
    let status = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "`{script}` failed on {}", dir.display());
}

/// Names the directory a child run works in.
pub const DIR_VAR: &str = "METRICS_TEST_DIR";

/// The directory a child run works in.
pub fn child_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os(DIR_VAR).expect("the parent passes the directory"))
}

/// Runs `test` in a child process with a private mount namespace, in which it may mount a
/// tmpfs over a temporary directory ([`child_dir`]; the mount vanishes with the child), and
/// returns its output. Without the privilege for it the test fails, saying why, unless
/// METRICS_TESTS_NO_MOUNT=1 asks to skip (which the output then says; in CI as root, a skip
/// fails): then `None`.
pub fn in_mount_namespace(test: &str) -> Option<String> {
    if let Err(why) = mount_namespace_available() {
        let why = format!(
            "a private mount namespace is needed (root or CAP_SYS_ADMIN; CI runs as root): \
             `unshare --mount` said: {}",
            why.trim()
        );
        skip_or_fail(test, &why, "METRICS_TESTS_NO_MOUNT");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    Some(run(
        test,
        &["unshare", "--mount", "--propagation", "private"],
        &[(DIR_VAR, dir.path().as_os_str())],
    ))
}

/// Whether a private mount namespace can be had (`unshare --mount`, which needs root or
/// CAP_SYS_ADMIN). Tests that need one fail loudly without it rather than skip quietly.
pub fn mount_namespace_available() -> Result<(), String> {
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output();
    match probe {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
        Err(error) => Err(error.to_string()),
    }
}

/// Whether this process runs as root (from `/proc/self/status`, without unsafe code).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uids = status.lines().find(|line| line.starts_with("Uid:"))?;
            // Real, effective, saved, file system: the effective one decides.
            uids.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// Skips a test that cannot be arranged here, when `opt_out` (an environment variable) is
/// set to 1: says so on the real standard error, which the test harness does not capture, so
/// that the skip shows in the output of a passing run. Panics with `why` instead when the
/// variable is not set, or in CI (`CI=true`) as root, where every case can be arranged and a
/// skip would hide a lost test.
pub fn skip_or_fail(test: &str, why: &str, opt_out: &str) {
    use std::io::Write;
    let asked = std::env::var(opt_out).as_deref() == Ok("1");
    let ci_as_root = std::env::var("CI").as_deref() == Ok("true") && is_root();
    if !asked || ci_as_root {
        let refusal = if ci_as_root {
            format!("{opt_out}=1 is refused in CI as root")
        } else {
            format!("set {opt_out}=1 to skip this case knowingly")
        };
        panic!("CANNOT ARRANGE {test}: {why}; {refusal}");
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}, as {opt_out}=1 asks: {why}"
    );
}
