//! Invitation tokens: long, random, stored only as a hash.
//!
//! A token is 32 bytes (256 bits) from the operating system's random
//! source, written as 64 lower-case hexadecimal characters for the e-mail
//! link. The roster hands it to the caller once and keeps only its SHA-256:
//! a plain hash suffices because the token is high-entropy, so no
//! dictionary or brute force can run it backwards. Lookup is by that hash,
//! so the secret itself is never compared.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::lifecycle::hex;

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// An invitation token as e-mailed to the expert. Its `Debug` form hides
/// the value, so it cannot leak through a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl InvitationToken {
    /// A new token from the operating system's random source.
    pub fn generate() -> Result<InvitationToken, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(InvitationToken(hex(&bytes)))
    }

    /// The token's text, for the invitation link. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash the store keeps.
    pub fn hash(&self) -> String {
        token_hash(&self.0)
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(..)")
    }
}

/// The stored form of a token as presented: lower-case hexadecimal SHA-256
/// of its text, surrounding white space removed (links get copied with a
/// trailing space or newline).
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = InvitationToken::generate().unwrap();
        let b = InvitationToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.hash(), a.expose());
        assert_eq!(token_hash(&format!(" {}\n", a.expose())), a.hash());
        assert_eq!(format!("{a:?}"), "InvitationToken(..)");
        // SHA-256 of the empty string.
        assert_eq!(
            token_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
