//! `attach`: follow a detached container's output from now on (its log, like `logs -f --tail 0`),
//! until it exits (then exit with its status) or the detach keys are typed on a terminal.
//!
//! Limits: stdin is not attached (detached containers run with stdin on /dev/null), so `-i` programs
//! cannot be driven; the output is the log's lines (a terminal container's raw screen is not relayed).

use anyhow::{bail, Result};
use std::io::Read;

use crate::container;
use crate::context::Context;
use crate::error::{ExitError, EXIT_ENGINE};
use crate::state::{ContainerRecord, State};

/// Parse Podman's detach keys (`ctrl-p,ctrl-q`, letters, `ctrl-[`...) into bytes.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    let mut out = vec![];
    if s.is_empty() {
        return Ok(out);
    }
    for k in s.split(',') {
        let b = if let Some(c) = k.strip_prefix("ctrl-") {
            match c.as_bytes() {
                [b] if b.is_ascii_alphabetic() => b.to_ascii_lowercase() - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => bail!(ExitError::new(EXIT_ENGINE, format!("invalid detach key {k:?}"))),
            }
        } else if k.len() == 1 {
            k.as_bytes()[0]
        } else {
            bail!(ExitError::new(EXIT_ENGINE, format!("invalid detach key {k:?}")));
        };
        out.push(b);
    }
    Ok(out)
}

pub fn attach(ctx: &Context, state: &State, rec: &ContainerRecord, detach_keys: &str) -> Result<i32> {
    if !container::is_running(rec) {
        bail!(ExitError::new(
            EXIT_ENGINE,
            format!(
                "you can only attach to running containers: {} is {}: container state improper",
                rec.name, rec.state
            )
        ));
    }
    let keys = parse_detach_keys(detach_keys)?;
    // On a terminal, watch stdin for the detach keys (raw mode, restored on exit).
    if !keys.is_empty() && nix::unistd::isatty(0).unwrap_or(false) {
        std::thread::spawn(move || watch_detach_keys(&keys));
    }
    let opts = crate::logs::LogOptions { follow: true, tail: Some(0), ..Default::default() };
    crate::logs::print(ctx, state, rec, None, &opts)?;
    let done = container::wait_exited(ctx, state, &rec.id, None)?;
    Ok(done.exit_code.unwrap_or(0) as i32)
}

fn watch_detach_keys(keys: &[u8]) {
    use nix::sys::termios;
    let stdin = std::io::stdin();
    let Ok(saved) = termios::tcgetattr(&stdin) else { return };
    let mut raw = saved.clone();
    termios::cfmakeraw(&mut raw);
    // Keep output processing so the container's lines still print normally.
    raw.output_flags = saved.output_flags;
    let _ = termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, &raw);
    let mut matched = 0;
    let mut buf = [0u8; 1];
    let mut lock = stdin.lock();
    while let Ok(1) = lock.read(&mut buf) {
        if buf[0] == keys[matched] {
            matched += 1;
            if matched == keys.len() {
                let _ = termios::tcsetattr(std::io::stdin(), termios::SetArg::TCSANOW, &saved);
                eprintln!();
                std::process::exit(0);
            }
        } else {
            matched = usize::from(buf[0] == keys[0]);
        }
    }
    let _ = termios::tcsetattr(std::io::stdin(), termios::SetArg::TCSANOW, &saved);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-[").unwrap(), vec![b'a', 27]);
        assert!(parse_detach_keys("ctrl-pp").is_err());
        assert!(parse_detach_keys("").unwrap().is_empty());
    }
}
