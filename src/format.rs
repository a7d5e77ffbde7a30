//! Output formatting: Podman-style tables and a subset of Go templates (`{{.Field}}`, `json`, `table`).
