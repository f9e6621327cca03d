//! Signed-note and checkpoint tests, including byte-for-byte vectors from
//! golang.org/x/mod/sumdb/note (note.go docs and note_test.go).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::hash::leaf_hash;
use super::note::{Checkpoint, LogSigner, NoteError, Verifier, open_checkpoint, open_note};

const PETER_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> LogSigner {
    let raw = B64.decode(PETER_SKEY_B64).unwrap();
    assert_eq!(raw[0], 0x01);
    LogSigner::from_seed("PeterNeumann", &raw[1..].try_into().unwrap()).unwrap()
}

fn test_signer(name: &str) -> LogSigner {
    LogSigner::from_pkcs8(name, &LogSigner::generate_pkcs8().unwrap()).unwrap()
}

#[test]
fn go_vector_sign_is_byte_identical() {
    let s = peter();
    assert_eq!(s.key_id(), 0xc74f20a3);
    assert_eq!(s.verifier_key(), PETER_VKEY);
    assert_eq!(s.sign_note(TEXT).unwrap(), format!("{TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_vector_open_with_unknown_cosignature() {
    let peter = Verifier::parse(PETER_VKEY).unwrap();
    let enoch = Verifier::parse(ENOCH_VKEY).unwrap();
    assert_eq!(enoch.to_string(), ENOCH_VKEY);
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    // Each key finds its own signature and ignores the other one.
    assert_eq!(open_note(&both, &peter).unwrap(), TEXT);
    assert_eq!(open_note(&both, &enoch).unwrap(), TEXT);
    let only_enoch = format!("{TEXT}\n{ENOCH_SIG}");
    assert_eq!(open_note(&only_enoch, &peter), Err(NoteError::Unverified));
    let tampered = both.replace("cryptography", "cryptographY");
    assert!(matches!(open_note(&tampered, &peter), Err(NoteError::BadSignature(_))));
}

#[test]
fn verifier_key_parsing_rejects_manglings() {
    assert!(Verifier::parse(PETER_VKEY).is_ok());
    let b = PETER_VKEY.as_bytes();
    // Every proper substring and every single-byte change must fail.
    for i in 0..b.len() {
        for j in i + 1..=b.len() {
            if (i, j) != (0, b.len())
                && let Ok(s) = std::str::from_utf8(&b[i..j])
            {
                assert!(Verifier::parse(s).is_err(), "accepted {s:?}");
            }
        }
        let mut m = b.to_vec();
        m[i] = m[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&m) {
            assert!(Verifier::parse(s).is_err(), "accepted {s:?}");
        }
    }
}

fn sample_checkpoint() -> Checkpoint {
    Checkpoint { origin: "example.org/bidroom/log".into(), size: 12345, root: leaf_hash(b"root") }
}

#[test]
fn checkpoint_round_trip() {
    let s = test_signer("example.org/bidroom/log");
    let cp = sample_checkpoint();
    let note = s.sign_checkpoint(&cp).unwrap();
    assert!(note.starts_with("example.org/bidroom/log\n12345\n"));
    assert!(note.contains("\n\n\u{2014} example.org/bidroom/log "));
    let v = Verifier::parse(&s.verifier_key()).unwrap();
    assert_eq!(open_checkpoint(&note, &v).unwrap(), cp);
    // Signed by another key with the same name: ignored, so unverified.
    let other = test_signer("example.org/bidroom/log");
    assert_eq!(open_checkpoint(&note, &other.verifier()), Err(NoteError::Unverified));
}

#[test]
fn checkpoint_text_is_strict() {
    let root = B64.encode([7u8; 32]);
    let ok = format!("o\n0\n{root}\n");
    assert_eq!(Checkpoint::parse_text(&ok).unwrap().size, 0);
    for bad in [
        format!("o\n01\n{root}\n"),
        format!("o\n-1\n{root}\n"),
        format!("o\n+1\n{root}\n"),
        format!("o\n\n{root}\n"),
        format!("\n1\n{root}\n"),
        format!("o\n1\n{root}"),
        format!("o\n1\n{root}\next\n"),
        format!("o\n18446744073709551616\n{root}\n"),
        "o\n1\nAAAA\n".to_string(),
        format!("o\n1\n{}\n", &root[..root.len() - 1]),
    ] {
        assert!(Checkpoint::parse_text(&bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn malformed_notes_are_rejected() {
    let s = test_signer("log.example");
    let v = s.verifier();
    let note = s.sign_checkpoint(&sample_checkpoint()).unwrap();
    assert!(open_checkpoint(&note, &v).is_ok());
    let (text, sig) = note.split_once("\n\n").unwrap();
    let sig_b64 = sig.rsplit_once(' ').unwrap().1.trim_end();
    for bad in [
        format!("{text}\n{sig}"),                                    // no blank line
        format!("{text}\n\n{}", sig.trim_end()),                     // no final newline
        format!("{text}\n\n{}", sig.replace('\u{2014}', "-")),       // not an em dash
        format!("{text}\n\n{sig}garbage\n"),                         // junk line
        format!("{text}\n\n\u{2014} log.example {sig_b64}x\n{sig}"), // bad base64
        format!("{text}\n\n\u{2014} log.example AAAA\n"),            // too short
        format!("{text}\r\n\n{sig}"),                                // control char
        format!("{text}\n\n"),                                       // no signatures
    ] {
        assert!(open_note(&bad, &v).is_err(), "accepted {bad:?}");
    }
    let many: String = std::iter::repeat_n(sig, 101).collect();
    assert!(open_note(&format!("{text}\n\n{many}"), &v).is_err());
    let sixteen: String = std::iter::repeat_n(sig, 16).collect();
    assert!(open_note(&format!("{text}\n\n{sixteen}"), &v).is_ok());
}

#[test]
fn bad_names_and_keys() {
    assert_eq!(
        LogSigner::from_pkcs8("a b", &LogSigner::generate_pkcs8().unwrap()).unwrap_err(),
        NoteError::InvalidName
    );
    assert!(LogSigner::from_pkcs8("a+b", &[]).is_err());
    assert_eq!(LogSigner::from_pkcs8("ok", b"not a key").unwrap_err(), NoteError::InvalidPrivateKey);
    assert!(peter().sign_note("no newline").is_err());
    // The Debug form must not leak the key.
    assert!(format!("{:?}", peter()).contains("c74f20a3"));
}
