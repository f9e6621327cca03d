//! C2SP signed-note (Ed25519) and tlog-checkpoint.
//!
//! A checkpoint is the note text `<origin>\n<size>\n<base64 root>\n`; the
//! signed note appends a blank line and one line per signature:
//! `— <key name> <base64(4-byte key id ‖ 64-byte signature)>\n`.
//! Byte compatibility is tested against golang.org/x/mod/sumdb/note vectors.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use super::hash::{Hash, sha256};

/// Signature type byte for Ed25519 in signed-note key ids and verifier keys.
const ED25519_TYPE: u8 = 0x01;
/// Prefix of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Cap on signature lines; the spec requires accepting at least 16.
const MAX_SIGNATURES: usize = 100;
/// Cap on a note's size, so a hostile note cannot make us do unbounded work.
const MAX_NOTE_BYTES: usize = 1 << 20;

/// Errors from signing, parsing and verifying notes and checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name that is empty or contains a space or `+`.
    #[error("invalid key name")]
    InvalidName,
    /// A verifier key string that does not parse or whose id does not match.
    #[error("invalid verifier key: {0}")]
    InvalidVerifierKey(&'static str),
    /// A private key ring refuses.
    #[error("invalid Ed25519 private key")]
    InvalidPrivateKey,
    /// The system random generator failed.
    #[error("random number generator failure")]
    Rng,
    /// A note that breaks the signed-note syntax.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A signature by the trusted key that does not verify.
    #[error("invalid signature by {0}")]
    BadSignature(String),
    /// No signature by the trusted key at all.
    #[error("note carries no signature by the trusted key")]
    Unverified,
    /// Note text that is not a bidroom checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
}

/// A signed tree head: the log identity, its size and its RFC 6962 root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity, conventionally `<host>/bidroom/log`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Merkle root over those entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: origin, size and base64 root, each ending in `\n`.
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }

    /// Parses checkpoint note text. Extension lines are rejected: bidroom
    /// never writes them and they are not auditable.
    pub fn parse_text(text: &str) -> Result<Self, NoteError> {
        let bad = NoteError::MalformedCheckpoint;
        let body = text.strip_suffix('\n').ok_or(bad("no final newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root] = lines[..] else {
            return Err(bad("expected exactly three lines"));
        };
        if origin.is_empty() {
            return Err(bad("empty origin"));
        }
        let canonical =
            size.bytes().all(|b| b.is_ascii_digit()) && !size.is_empty() && (size == "0" || !size.starts_with('0'));
        if !canonical {
            return Err(bad("size is not a canonical decimal"));
        }
        let size = size.parse().map_err(|_| bad("size out of range"))?;
        let root = B64.decode(root).map_err(|_| bad("root is not base64"))?;
        let root = root.try_into().map_err(|_| bad("root is not 32 bytes"))?;
        Ok(Self { origin: origin.to_owned(), size, root })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut input = Vec::with_capacity(name.len() + 34);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(ED25519_TYPE);
    input.extend_from_slice(public_key);
    let h = sha256(&input);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// The log's Ed25519 signing key together with its note key name.
pub struct LogSigner {
    name: String,
    key: Ed25519KeyPair,
    key_id: u32,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("LogSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish()
    }
}

impl LogSigner {
    /// Generates a fresh Ed25519 key as PKCS#8 v2 bytes, for storage.
    pub fn generate_pkcs8() -> Result<Vec<u8>, NoteError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| NoteError::Rng)?;
        Ok(doc.as_ref().to_vec())
    }

    /// Loads a signer from PKCS#8 (v1 or v2) bytes; `name` is the key name,
    /// normally the checkpoint origin.
    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Self, NoteError> {
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(|_| NoteError::InvalidPrivateKey)?;
        Self::with_key(name, key)
    }

    /// Loads a signer from a raw 32-byte RFC 8032 seed (the form Go's
    /// `note` package stores in `PRIVATE+KEY+…` strings).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        let key = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::InvalidPrivateKey)?;
        Self::with_key(name, key)
    }

    fn with_key(name: &str, key: Ed25519KeyPair) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::InvalidName);
        }
        let key_id = key_id(name, &public_key_of(&key));
        Ok(Self { name: name.to_owned(), key, key_id })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier { name: self.name.clone(), key_id: self.key_id, public_key: public_key_of(&self.key) }
    }

    /// The verifier key string served at `/log/key`.
    pub fn verifier_key(&self) -> String {
        self.verifier().to_string()
    }

    /// Signs note `text` (which must end in a newline) and returns the whole
    /// signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.key_id.to_be_bytes().to_vec();
        blob.extend_from_slice(sig.as_ref());
        Ok(format!("{text}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob)))
    }

    /// Signs a checkpoint and returns the signed note served at
    /// `/log/checkpoint`.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, NoteError> {
        let text = checkpoint.to_text();
        // Refuse to sign what our own parser would reject.
        Checkpoint::parse_text(&text)?;
        self.sign_note(&text)
    }
}

fn public_key_of(key: &Ed25519KeyPair) -> [u8; 32] {
    let mut pk = [0u8; 32];
    // ring's Ed25519 public keys are always 32 bytes.
    pk.copy_from_slice(key.public_key().as_ref());
    pk
}

/// A trusted Ed25519 note key: name, key id and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
}

impl Verifier {
    /// Builds a verifier from a name and a raw public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::InvalidName);
        }
        Ok(Self { name: name.to_owned(), key_id: key_id(name, &public_key), public_key })
    }

    /// Parses `<name>+<8 hex key id>+<base64(0x01 ‖ public key)>`, checking
    /// that the key id matches the key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let bad = NoteError::InvalidVerifierKey;
        // The base64 part may itself contain '+', so split at most twice.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+id+key"));
        };
        if !valid_name(name) {
            return Err(bad("invalid name"));
        }
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("key id is not 8 hex digits"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not hex"))?;
        let key = B64.decode(key).map_err(|_| bad("key is not base64"))?;
        let [ED25519_TYPE, rest @ ..] = key.as_slice() else {
            return Err(bad("not an Ed25519 key"));
        };
        let public_key: [u8; 32] = rest.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let v = Self::new(name, public_key).map_err(|_| bad("invalid name"))?;
        if v.key_id != id {
            return Err(bad("key id does not match key"));
        }
        Ok(v)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
}

impl std::fmt::Display for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut key = vec![ED25519_TYPE];
        key.extend_from_slice(&self.public_key);
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, B64.encode(key))
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end in a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character"));
    }
    Ok(())
}

/// Verifies a signed note against one trusted key and returns its text.
///
/// As the spec requires, signatures by other keys (a different name or key
/// id) are ignored, a failing signature by the trusted key rejects the whole
/// note, and a note with no valid signature by the trusted key is rejected.
pub fn open_note<'a>(note: &'a str, verifier: &Verifier) -> Result<&'a str, NoteError> {
    let bad = NoteError::Malformed;
    if note.len() > MAX_NOTE_BYTES {
        return Err(bad("note too large"));
    }
    check_text(note)?;
    // The text ends at the last blank line; it keeps its final newline.
    let split = note.rfind("\n\n").ok_or(bad("no signature block"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let lines: Vec<&str> = sigs.strip_suffix('\n').ok_or(bad("no signatures"))?.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(bad("too many signatures"));
    }
    let mut verified = false;
    for line in lines {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(bad("bad signature line"))?;
        let (name, b64) = rest.split_once(' ').ok_or(bad("bad signature line"))?;
        if !valid_name(name) || b64.contains(' ') {
            return Err(bad("bad signature line"));
        }
        let blob = B64.decode(b64).map_err(|_| bad("signature is not base64"))?;
        let Some((id, sig)) = blob.split_first_chunk::<4>() else {
            return Err(bad("signature too short"));
        };
        if name != verifier.name || u32::from_be_bytes(*id) != verifier.key_id {
            continue;
        }
        UnparsedPublicKey::new(&ED25519, &verifier.public_key)
            .verify(text.as_bytes(), sig)
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        verified = true;
    }
    if verified { Ok(text) } else { Err(NoteError::Unverified) }
}

/// Verifies a signed checkpoint note and parses its text.
pub fn open_checkpoint(note: &str, verifier: &Verifier) -> Result<Checkpoint, NoteError> {
    Checkpoint::parse_text(open_note(note, verifier)?)
}
