//! Exit codes, decided in one place (Podman's convention).

use std::fmt;

/// The engine itself failed (bad flag, bad image, storage error, ...).
pub const EXIT_ENGINE: i32 = 125;
/// The container command exists but cannot be invoked (not executable, permission denied).
pub const EXIT_CANNOT_INVOKE: i32 = 126;
/// The container command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// An error that carries the exit code the `warren` process must end with.
/// Anything else that reaches the CLI edge exits with [`EXIT_ENGINE`].
#[derive(Debug)]
pub struct ExitError {
    pub code: i32,
    pub message: String,
}

impl ExitError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ExitError { code, message: message.into() }
    }
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

/// The exit code for an error that reached the CLI edge.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    err.downcast_ref::<ExitError>().map(|e| e.code).unwrap_or(EXIT_ENGINE)
}

/// An I/O error as a person reads it: `permission denied`, without Rust's " (os error 13)".
pub fn io_text(e: &std::io::Error) -> String {
    strip_os_error(&e.to_string())
}

/// `Permission denied (os error 13)` → `Permission denied`.
pub fn strip_os_error(s: &str) -> String {
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s.to_string(),
    }
}
