//! The worked example of `docs/PROTOCOL.md`, recomputed: every
//! `name = value` line below must appear verbatim in the document, so the
//! document cannot drift from the code. Run with `--nocapture` to print.

use p256::Scalar;
use p256::elliptic_curve::ff::PrimeField;
use uuid::Uuid;

use super::binding::{LABEL_FORM_AAD, labeled};
use super::envelope::{form_key_commitment, key_commitment, share_aad, share_commitment, share_info};
use super::*;

const DOC: &str = include_str!("../../docs/PROTOCOL.md");

fn example_lines() -> Vec<String> {
    let mut out = Vec::new();
    let mut line = |name: &str, value: &[u8]| out.push(format!("{name} = {}", hex::encode(value)));
    let tender = Uuid::parse_str("6f0b8a4e-2c1d-4a5b-9e3f-1a2b3c4d5e6f").unwrap();
    let bid = Uuid::parse_str("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a").unwrap();
    let b = Binding::new(tender, bid);
    let k_bytes: Vec<u8> = (1..=32).collect();
    let k = BidKey::from_bytes(&k_bytes).unwrap();
    line("K", k.as_bytes());
    // Derived keys.
    let fk = form_key(&b, &k).unwrap();
    let dk = kdf::documents_key(&b, &k).unwrap();
    line("hkdf_salt", &b.salt());
    line("form_key", fk.as_bytes());
    line("documents_key", dk.as_bytes());
    line("document_key_0", kdf::document_key(&b, &dk, 0).unwrap().as_bytes());
    line("manifest_key", kdf::manifest_key(&b, &dk).unwrap().as_bytes());
    line("key_commitment", &key_commitment(&b, &k));
    line("form_key_commitment", &form_key_commitment(&b, &fk));
    // 2-of-3 sharing with f(x) = K + a1·x, a1 = 0x07 repeated.
    let a1 = Scalar::from_repr([7u8; 32].into()).unwrap();
    let k_scalar = Scalar::from_repr(<[u8; 32]>::try_from(&k_bytes[..]).unwrap().into()).unwrap();
    let mut shares = Vec::new();
    for x in 1u8..=3 {
        let y = k_scalar + a1 * Scalar::from(u64::from(x));
        let mut enc = [0u8; 33];
        enc[0] = x;
        enc[1..].copy_from_slice(&y.to_repr());
        line(&format!("share_{x}"), &enc);
        shares.push(Share::from_bytes(&enc).unwrap());
    }
    assert_eq!(combine(&shares[1..]).unwrap(), k);
    let share1 = shares[0].to_bytes();
    line("share_commitment_1", &share_commitment(&b, 1, &share1));
    // HPKE of share 1 to custodian 1 (ikmR = 0x11…, ikmE = 0x22…).
    let custodian = CustodianSecretKey::derive_from_ikm(&[0x11; 32]);
    let pk = custodian.public_key();
    line("custodian_1_sk", custodian.to_bytes().as_ref());
    line("custodian_1_pk", pk.as_bytes());
    line("hpke_info_1", &share_info(&b, 1));
    line("hpke_aad_1", &share_aad(&pk));
    let (enc, ct) =
        hpke::seal_to_with_ikm(&pk, &share_info(&b, 1), &share_aad(&pk), share1.as_ref(), [0x22; 32]).unwrap();
    line("hpke_enc_1", &enc);
    line("hpke_ct_1", &ct);
    assert_eq!(open_with(&custodian, &enc, &share_info(&b, 1), &share_aad(&pk), &ct).unwrap(), share1.to_vec());
    // Form with nonce 0x33….
    let form = br#"{"price":"100.00"}"#;
    line("form_aad", &labeled(LABEL_FORM_AAD, &[tender.as_bytes(), bid.as_bytes()]));
    let form_ct = aead::seal_with_nonce(fk.as_bytes(), [0x33; 12], &b.labeled(LABEL_FORM_AAD, &[]), form).unwrap();
    line("form_ciphertext", &form_ct);
    assert_eq!(open_form_raw(&b, &fk, &form_ct).unwrap(), form);
    // Document 0 = "hello" with nonce prefix 0x44….
    let doc_key = kdf::document_key(&b, &dk, 0).unwrap();
    let mut encryptor = StreamEncryptor::with_prefix(&doc_key, [0x44; 7]).unwrap();
    let mut stream = encryptor.push(b"hello").unwrap();
    let (tail, summary) = encryptor.finish().unwrap();
    stream.extend(tail);
    line("document_0_stream", &stream);
    line("document_0_sha256", &summary.ciphertext_sha256);
    let mut back = Vec::new();
    decrypt_stream(&doc_key, &stream[..], &mut back, None).unwrap();
    assert_eq!(back, b"hello");
    out.push(format!("custodian_1_key_id = {}", key_id(pk.as_bytes())));
    out
}

#[test]
fn protocol_worked_example_is_current() {
    let lines = example_lines();
    for l in &lines {
        println!("{l}");
    }
    let missing: Vec<&String> = lines.iter().filter(|l| !DOC.contains(l.as_str())).collect();
    assert!(missing.is_empty(), "docs/PROTOCOL.md lacks: {missing:#?}");
}
