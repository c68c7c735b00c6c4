//! Application API and built-in apps.
