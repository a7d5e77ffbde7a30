//! Warren: a rootless-first, daemonless OCI container engine.
//!
//! One pipeline: plan (image + options) → user namespace → storage (layers, rootfs) → network →
//! runtime spec → spawn under a monitor. Root mode is the same pipeline with an identity mapping.

#![recursion_limit = "256"] // the inspect JSON (serde_json::json!) of a container is large

pub mod attach;
pub mod cli;
pub mod container;
pub mod containerfs;
pub mod context;
pub mod error;
pub mod events;
pub mod exec;
pub mod format;
pub mod image;
pub mod inspect;
pub mod logs;
pub mod monitor;
pub mod network;
pub mod plan;
pub mod pod;
pub mod procs;
pub mod run;
pub mod runtime;
pub mod state;
pub mod storage;
pub mod volume;
