//! End-to-end tests: the real `warren` binary, run as the unprivileged test users (and root) against
//! the local registry and fixtures that `scripts/test-env.sh` sets up. Run everything with
//! `sudo scripts/test.sh`; the harness is in `common/` (see its module docs).
//!
//! One module per area; add yours here (`mod pull;`, `mod run;`, ...).

mod common;

mod cli;
mod containers;
mod events;
mod fixtures;
mod lifecycle;
mod logs;
mod network;
mod pods;
mod pull;
mod run;
mod runtime;
mod smoke;
mod store;
mod userns;
mod volumes;
