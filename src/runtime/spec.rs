//! The OCI runtime spec (`config.json`) for a container plan: Podman's defaults for capabilities, masked
//! and read-only paths, mounts and namespaces.
