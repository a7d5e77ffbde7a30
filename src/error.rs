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

/// `Permission denied (os error 13)` → `Permission denied`, wherever the " (os error N)" is.
pub fn strip_os_error(s: &str) -> String {
    let mut out = s.to_string();
    let mut from = 0;
    while let Some(i) = out[from..].find(" (os error ").map(|i| i + from) {
        let rest = &out[i + " (os error ".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(')') {
            out.replace_range(i..i + " (os error ".len() + digits + 1, "");
            from = i;
        } else {
            from = i + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn os_error_suffixes_go() {
        assert_eq!(super::strip_os_error("Permission denied (os error 13)"), "Permission denied");
        assert_eq!(
            super::strip_os_error("create x: Permission denied (os error 13) (without root, see docs)"),
            "create x: Permission denied (without root, see docs)"
        );
        assert_eq!(super::strip_os_error("a (os error x) b"), "a (os error x) b");
    }
}
