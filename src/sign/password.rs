//! Where key passwords come from: `AIRLOCK_PASSWORD` (or cosign's
//! `COSIGN_PASSWORD`), else a prompt when a terminal is attached.

use std::io::IsTerminal;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("no password for the private key: set AIRLOCK_PASSWORD, or run on a terminal to be prompted")]
    NoSource,
    #[error("the passwords do not match")]
    Mismatch,
    #[error("cannot read the password from the terminal")]
    Prompt(#[source] std::io::Error),
}

pub fn from_env() -> Option<String> {
    std::env::var("AIRLOCK_PASSWORD").ok().or_else(|| std::env::var("COSIGN_PASSWORD").ok())
}

/// For opening an existing key.
pub fn read(prompt: &str) -> Result<String, PasswordError> {
    if let Some(p) = from_env() {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(PasswordError::NoSource);
    }
    rpassword::prompt_password(prompt).map_err(PasswordError::Prompt)
}

/// For a new key: asked twice on a terminal.
pub fn read_new() -> Result<String, PasswordError> {
    if let Some(p) = from_env() {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(PasswordError::NoSource);
    }
    let first = rpassword::prompt_password("Password for the new private key: ").map_err(PasswordError::Prompt)?;
    let second = rpassword::prompt_password("Repeat the password: ").map_err(PasswordError::Prompt)?;
    if first != second {
        return Err(PasswordError::Mismatch);
    }
    Ok(first)
}
