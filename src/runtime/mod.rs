//! Runtimes: the OCI `config.json` generated from a [`crate::plan::ContainerPlan`], Warren's embedded runtime
//! (the default) and external OCI runtimes (`--runtime crun`), both driven from the same bundle.

pub mod embedded;
pub mod spec;
