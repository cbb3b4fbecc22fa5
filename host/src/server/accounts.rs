//! Password hashing (argon2id), run off the game loop on the blocking pool so that hashing never
//! stalls other players' commands.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};

/// Hashes and verifies passwords with the configured argon2id cost.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    /// Hash checked when a login names an unknown account, so both cases cost the same.
    dummy: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    /// A hasher with `memory_kib` memory cost and `iterations` passes (one lane).
    pub fn new(memory_kib: u32, iterations: u32) -> PasswordHasher {
        let params = Params::new(memory_kib.max(8), iterations.max(1), 1, None)
            .unwrap_or_else(|_| Params::default());
        PasswordHasher {
            argon: Arc::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)),
            dummy: Arc::new(OnceLock::new()),
        }
    }

    /// Hash a password into a PHC string.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    }

    /// Check a password against a stored hash; `None` checks a dummy hash and fails.
    pub fn verify(&self, hash: Option<&str>, password: &str) -> bool {
        let dummy;
        let phc = match hash {
            Some(h) => h,
            None => {
                dummy = self.dummy.get_or_init(|| self.hash("not a real password").unwrap_or_default());
                dummy.as_str()
            }
        };
        let ok = PasswordHash::new(phc)
            .map(|parsed| self.argon.verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        ok && hash.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let h = PasswordHasher::new(64, 1);
        let phc = h.hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify(Some(&phc), "correct horse"));
        assert!(!h.verify(Some(&phc), "wrong horse"));
        assert!(!h.verify(None, "not a real password"));
    }
}
