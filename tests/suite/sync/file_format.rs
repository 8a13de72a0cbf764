//! The desired-state file: the published JSON Schema, the example file, and export's output.
