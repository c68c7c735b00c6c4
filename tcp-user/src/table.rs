//! Per-worker connection table.
