//! End-to-end tests: the real `warren` binary, run as the unprivileged test users.

mod userns;
