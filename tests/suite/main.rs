//! The integration suite: one binary (one link on a small machine), one module per behaviour.

mod support;

mod config;
mod contract;
mod errors;
mod faults;
mod forward_compat;
mod operations;
mod pagination;
mod paths;
mod retries;
mod security;
