//! Debian's `promtool`, which lints an exposition as Prometheus parses it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A program of Debian's `prometheus` package, which `scripts/test.sh` installs.
pub fn tool(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} missing: run the tests with scripts/test.sh, which installs Debian's `prometheus`",
        path.display()
    );
    path
}

/// `promtool check metrics` lints an exposition: the findings, one a line.
pub fn promtool_findings(exposition: &[u8]) -> String {
    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(exposition).unwrap();
    let output = child.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !findings.contains("error while linting"),
        "promtool cannot parse it: {findings}"
    );
    findings
}
