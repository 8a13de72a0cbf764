//! `clerk-rbac`: export, plan, apply and check an instance's organization RBAC from a TOML file.

fn main() {}
