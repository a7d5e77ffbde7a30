//! Warren: a rootless-first, daemonless OCI container engine.
//!
//! One pipeline: plan (image + options) → user namespace → storage (layers, rootfs) → network →
//! runtime spec → spawn under a monitor. Root mode is the same pipeline with an identity mapping.

pub mod cli;
pub mod container;
pub mod context;
pub mod error;
pub mod format;
pub mod image;
pub mod logs;
pub mod monitor;
pub mod network;
pub mod plan;
pub mod run;
pub mod runtime;
pub mod state;
pub mod storage;
