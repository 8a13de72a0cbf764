//! The one error type of the tool: a message for the person running it.
//!
//! Every failure of `regen` ends the run with a sentence that says what was being done and what
//! went wrong, so a plain string carrying that context is all the structure the errors need.

use std::fmt;

/// A failure that stops the command, with its context already written into the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }

    /// The message, as shown to the user.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Result of the tool's fallible steps.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Prefixes an error from a library with what the tool was doing at the time.
pub trait Context<T> {
    /// Turns the error into an [`Error`] reading `"<what>: <original error>"`.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_the_original_message() {
        let failed: std::result::Result<(), &str> = Err("disk on fire");
        let err = failed
            .context(|| "writing out.json".to_string())
            .unwrap_err();
        assert_eq!(err.message(), "writing out.json: disk on fire");
        assert_eq!(err.to_string(), err.message());
    }
}
