//! The file checks of the provider settings: certificate and key files, CA directories,
//! the Kubernetes token and the Vault token file are read at configure, so a missing,
//! unreadable or wrong one is an error on its attribute, naming the path (never the
//! contents), before any backend is dialled.

use std::path::Path;

/// What a PEM file given to the provider must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pem {
    /// At least one `CERTIFICATE` block.
    Certificate,
    /// A private key block (PKCS#8, PKCS#1 or SEC1).
    PrivateKey,
}

/// Checks that `path` is readable and holds what `kind` says, without ever putting its
/// contents into the error.
pub fn check_pem_file(path: &Path, kind: Pem) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    if holds(&text, kind) {
        Ok(())
    } else {
        Err(match kind {
            Pem::Certificate => {
                "the file holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into()
            }
            Pem::PrivateKey => {
                "the file holds no PEM private key (`-----BEGIN ... PRIVATE KEY-----`)".into()
            }
        })
    }
}

/// Whether PEM text holds a block of `kind`.
pub fn holds(text: &str, kind: Pem) -> bool {
    match kind {
        Pem::Certificate => text.contains("-----BEGIN CERTIFICATE-----"),
        Pem::PrivateKey => text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----"),
    }
}

/// Checks that directory `path` is readable and at least one file in it holds a PEM
/// certificate (others are ignored, as the Vault CLI does).
pub fn check_ca_dir(path: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(path).map_err(|e| format!("cannot read the directory: {e}"))?;
    let any = entries
        .filter_map(Result::ok)
        .any(|e| check_pem_file(&e.path(), Pem::Certificate).is_ok());
    if any {
        Ok(())
    } else {
        Err("the directory holds no PEM certificate file".into())
    }
}

/// Checks that the Kubernetes service-account token file can be read (the login reads
/// it again at login time: projected tokens rotate).
pub fn check_readable(path: &str) -> Result<(), std::io::Error> {
    std::fs::read(path).map(drop)
}

/// The token in the token file `vault login` writes: `Ok(None)` when the file is absent
/// or empty, `Err` when it exists but cannot be read.
pub fn read_token_file(path: &Path) -> Result<Option<String>, std::io::Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_text_holds_what_its_blocks_say() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let cases = [
            ("a certificate", cert, Pem::Certificate, true),
            ("a certificate is no key", cert, Pem::PrivateKey, false),
            (
                "a PKCS#8 key",
                "-----BEGIN PRIVATE KEY-----",
                Pem::PrivateKey,
                true,
            ),
            (
                "an RSA key",
                "-----BEGIN RSA PRIVATE KEY-----",
                Pem::PrivateKey,
                true,
            ),
            (
                "an EC key",
                "-----BEGIN EC PRIVATE KEY-----",
                Pem::PrivateKey,
                true,
            ),
            ("not PEM", "MIIB", Pem::Certificate, false),
        ];
        for (situation, text, kind, want) in cases {
            assert_eq!(holds(text, kind), want, "{situation}");
        }
    }

    #[test]
    fn the_token_file_is_trimmed_and_absent_or_empty_is_no_token() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(".vault-token");
        assert_eq!(read_token_file(&path).ok(), Some(None), "absent");
        std::fs::write(&path, " \n").unwrap();
        assert_eq!(read_token_file(&path).ok(), Some(None), "empty");
        std::fs::write(&path, "s.abc\n").unwrap();
        assert_eq!(read_token_file(&path).ok(), Some(Some("s.abc".into())));
        assert!(
            read_token_file(d.path()).is_err(),
            "a directory cannot be read"
        );
    }

    #[test]
    fn a_ca_directory_needs_one_certificate_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("junk.txt"), "not pem").unwrap();
        assert!(check_ca_dir(d.path())
            .unwrap_err()
            .contains("no PEM certificate"));
        std::fs::write(d.path().join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        assert!(check_ca_dir(d.path()).is_ok());
        assert!(check_ca_dir(&d.path().join("nodir"))
            .unwrap_err()
            .contains("cannot read"));
    }
}
