//! `airlock key generate`: a cosign-compatible key pair, written without
//! clobbering existing files (private key mode 0600).

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub struct KeyReport {
    pub private_key: PathBuf,
    pub public_key: PathBuf,
    pub key_id: String,
}

pub fn generate(prefix: &Path, password: &str) -> Result<KeyReport> {
    let private_key = PathBuf::from(format!("{}.key", prefix.display()));
    let public_key = PathBuf::from(format!("{}.pub", prefix.display()));
    for p in [&private_key, &public_key] {
        if p.exists() {
            bail!("{} already exists; move it away or choose another --output-key-prefix", p.display());
        }
    }
    let (private_pem, public_pem) = crate::sign::generate_key_pair(password.as_bytes())?;
    let write = |path: &Path, text: &str, mode: u32| -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        Ok(())
    };
    write(&private_key, &private_pem, 0o600)?;
    if let Err(e) = write(&public_key, &public_pem, 0o644) {
        let _ = std::fs::remove_file(&private_key);
        return Err(e);
    }
    let key_id = crate::sign::PublicKey::from_pem(&public_key, public_pem.as_bytes())?.key_id;
    Ok(KeyReport { private_key, public_key, key_id })
}
