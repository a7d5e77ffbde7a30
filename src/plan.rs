//! The container plan: CLI options + image config → what the container is, with no side effects.
