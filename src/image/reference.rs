//! Image references, parsed and normalised like Docker and Podman.
