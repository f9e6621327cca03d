//! HPKE against the independent vectors in `tests/vectors/`.

use super::*;
use hpke::aead::AesGcm128;
use serde_json::Value;

const VECTORS: &str = include_str!("../../tests/vectors/hpke-p256-sha256-aes256gcm.json");

fn h(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap()).unwrap()
}

fn arr32(v: &[u8]) -> [u8; 32] {
    v.try_into().unwrap()
}

#[test]
fn all_vectors_aes256gcm() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        assert_eq!(v["kem_id"], HPKE_KEM_ID);
        assert_eq!(v["kdf_id"], HPKE_KDF_ID);
        assert_eq!(v["aead_id"], HPKE_AEAD_ID);
        let sk = CustodianSecretKey::derive_from_ikm(&h(v, "ikmR"));
        assert_eq!(sk.public_key().as_bytes().to_vec(), h(v, "pkRm"));
        assert_eq!(sk.to_bytes().to_vec(), h(v, "skRm"));
        let info = h(v, "info");
        let enc = h(v, "enc");
        // The ephemeral key derived from ikmE is the vector's enc.
        let eph = CustodianSecretKey::derive_from_ikm(&h(v, "ikmE"));
        assert_eq!(eph.public_key().as_bytes().to_vec(), h(v, "pkEm"));
        assert_eq!(eph.public_key().as_bytes().to_vec(), enc);
        // Multi-message context: open every encryption in sequence.
        let kem_enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&enc).unwrap();
        let mut ctx =
            hpke::setup_receiver::<AesGcm256, HkdfSha256, Kem>(&OpModeR::Base, &sk.sk, &kem_enc, &info).unwrap();
        for e in v["encryptions"].as_array().unwrap() {
            let pt = ctx.open(&h(e, "ct"), &h(e, "aad")).unwrap();
            assert_eq!(pt, h(e, "pt"));
        }
        // Single shot (sequence 0) both ways, deterministic ephemeral key.
        let first = &v["encryptions"][0];
        let pt = open_with(&sk, &enc, &info, &h(first, "aad"), &h(first, "ct")).unwrap();
        assert_eq!(pt, h(first, "pt"));
        let (enc2, ct2) =
            seal_to_with_ikm(&sk.public_key(), &info, &h(first, "aad"), &h(first, "pt"), arr32(&h(v, "ikmE"))).unwrap();
        assert_eq!(enc2.to_vec(), enc);
        assert_eq!(ct2, h(first, "ct"));
    }
}

#[test]
fn rfc9180_a3_aes128gcm() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let v = &doc["rfc9180_a3_base_first"];
    assert_eq!(v["aead_id"], 1);
    let sk = CustodianSecretKey::derive_from_ikm(&h(v, "ikmR"));
    assert_eq!(sk.public_key().as_bytes().to_vec(), h(v, "pkRm"));
    let e = &v["encryptions"][0];
    let mut rng = FixedIkm::new(arr32(&h(v, "ikmE")));
    let (enc, ct) = hpke::single_shot_seal_with_rng::<AesGcm128, HkdfSha256, Kem>(
        &OpModeS::Base,
        &sk.public_key().to_hpke().unwrap(),
        &h(v, "info"),
        &h(e, "pt"),
        &h(e, "aad"),
        &mut rng,
    )
    .unwrap();
    assert_eq!(ct, h(e, "ct"));
    let pt = hpke::single_shot_open::<AesGcm128, HkdfSha256, Kem>(
        &OpModeR::Base,
        &sk.sk,
        &enc,
        &h(v, "info"),
        &ct,
        &h(e, "aad"),
    )
    .unwrap();
    assert_eq!(pt, h(e, "pt"));
}

#[test]
fn round_trip_and_key_bytes() {
    let sk = CustodianSecretKey::generate().unwrap();
    let again = CustodianSecretKey::from_bytes(sk.to_bytes().as_ref()).unwrap();
    assert_eq!(again.public_key(), sk.public_key());
    let pk = CustodianPublicKey::from_bytes(sk.public_key().as_bytes()).unwrap();
    let (enc, ct) = seal_to(&pk, b"info", b"aad", b"secret").unwrap();
    assert_eq!(open_with(&sk, &enc, b"info", b"aad", &ct).unwrap(), b"secret");
    assert!(open_with(&sk, &enc, b"other", b"aad", &ct).is_none());
    assert!(open_with(&sk, &enc, b"info", b"other", &ct).is_none());
    assert!(CustodianPublicKey::from_bytes(&[4u8; 65]).is_err());
    assert!(CustodianSecretKey::from_bytes(&[0u8; 32]).is_err());
}
