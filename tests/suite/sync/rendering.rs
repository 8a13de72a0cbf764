//! How a plan reads: text for reviewers, JSON for machines.
