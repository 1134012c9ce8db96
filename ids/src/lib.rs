//! Random identifiers and tokens, the hashes under which tokens are stored, temporary passwords
//! and the clock: one definition for the embedded adapters (`server`), the cloud ones (`cloud`)
//! and the request plumbing (`app`'s server side), so an id or a token has one shape
//! everywhere. Native only: the browser never makes ids or tokens.

use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// 128 random bits as 32 hex digits: user and project ids.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// 256 random bits as 64 hex digits: session tokens, challenges, reset links.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens are stored hashed; they are already random, so a plain SHA-256 suffices.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A temporary password people can read aloud: 4 groups of 4 characters from an alphabet without
/// look-alikes (≈ 80 bits).
pub fn temporary_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[OsRng.gen_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    groups.join("-")
}

/// Unix time in seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(new_id().len(), 32);
        assert_eq!(new_token().len(), 64);
        assert_ne!(new_token(), new_token());
        let p = temporary_password();
        assert_eq!(p.len(), 19);
        assert!(p.chars().all(|c| c == '-' || c.is_ascii_alphanumeric()));
        assert_eq!(token_hash("a"), token_hash("a"));
        assert_ne!(token_hash("a"), token_hash("b"));
    }
}
