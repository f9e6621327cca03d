//! End-to-end sealing/opening and every tampering case.

use super::envelope::{share_aad, share_commitment, share_info};
use super::*;
use time::OffsetDateTime;
use uuid::Uuid;

struct Setup {
    binding: Binding,
    custodians: Vec<CustodianSecretKey>,
    policy: CustodyPolicy,
    bidder: BidderKey,
}

fn setup(k: u8, n: u8) -> Setup {
    let custodians: Vec<_> = (0..n).map(|_| CustodianSecretKey::generate().unwrap()).collect();
    let policy = CustodyPolicy {
        threshold: k,
        custodians: custodians
            .iter()
            .zip(1u8..)
            .map(|(sk, index)| Custodian { index, id: format!("custodian-{index}"), public_key: Some(sk.public_key()) })
            .collect(),
    };
    Setup {
        binding: Binding::new(Uuid::new_v4(), Uuid::new_v4()),
        custodians,
        policy,
        bidder: BidderKey::generate().unwrap(),
    }
}

const FORM: &[u8] = br#"{"price":"1234.50","currency":"EUR","duration_days":90}"#;

fn doc(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8).collect()
}

/// Seal with the given documents; returns the bid and the document streams.
fn seal_with_docs(s: &Setup, docs: &[Vec<u8>]) -> (SealedBid, Vec<Vec<u8>>) {
    let mut sealer = BidSealer::new(s.binding, "lot-1", &s.policy).unwrap();
    let mut streams = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let mut out = Vec::new();
        sealer.seal_document(&format!("doc{i}.pdf"), "application/pdf", &d[..], &mut out).unwrap();
        streams.push(out);
    }
    let bid = sealer.seal(FORM, &s.bidder, OffsetDateTime::now_utc()).unwrap();
    (bid, streams)
}

fn open_all(s: &Setup, env: &Envelope, which: &[u8]) -> Result<BidKey, SealError> {
    let shares: Vec<Share> =
        which.iter().map(|i| open_share(env, *i, &s.custodians[usize::from(*i) - 1])).collect::<Result<_, _>>()?;
    rebuild_key(env, &shares)
}

#[test]
fn round_trips_for_policies_and_documents() {
    for (k, n) in [(1u8, 1u8), (2, 3), (3, 5)] {
        let s = setup(k, n);
        let docs = vec![doc(0), doc(10), doc(SEGMENT_LEN * 2), doc(SEGMENT_LEN * 3 + 1)];
        let (bid, streams) = seal_with_docs(&s, &docs);
        verify_signature(&bid.envelope, &bid.signature, &s.bidder.public_key()).unwrap();
        let env = Envelope::parse_signed(&bid.envelope, &bid.signature).unwrap();
        env.check_submission(&s.binding, &s.policy, &s.bidder.public_key()).unwrap();
        verify_blob(&env.form, &bid.form_ciphertext).unwrap();
        for (d, stream) in env.documents.iter().zip(&streams) {
            verify_blob(&BlobRef { sha256: d.sha256, length: d.length }, stream).unwrap();
        }
        let first: Vec<u8> = (1..=k).collect();
        let last: Vec<u8> = (n - k + 1..=n).collect();
        let all: Vec<u8> = (1..=n).collect();
        let key = open_all(&s, &env, &first).unwrap();
        assert_eq!(open_all(&s, &env, &last).unwrap(), key);
        assert_eq!(open_all(&s, &env, &all).unwrap(), key);
        if k > 1 {
            assert_eq!(
                open_all(&s, &env, &first[..first.len() - 1]),
                Err(SealError::NotEnoughShares { have: usize::from(k) - 1, need: usize::from(k) })
            );
        }
        let fk = form_key(&env.binding(), &key).unwrap();
        assert_eq!(open_form(&env, &fk, &bid.form_ciphertext).unwrap(), FORM);
        let manifest = open_manifest(&env, &key).unwrap();
        assert_eq!(manifest.documents.len(), docs.len());
        assert_eq!(manifest.documents[2].length, docs[2].len() as u64);
        assert_eq!(manifest.documents[1].name, "doc1.pdf");
        for (i, (d, stream)) in docs.iter().zip(&streams).enumerate() {
            let mut out = Vec::new();
            decrypt_document(&env, &key, i as u32, &stream[..], &mut out).unwrap();
            assert_eq!(&out, d);
        }
    }
}

#[test]
fn flipped_envelope_bytes_break_the_signature() {
    let s = setup(2, 3);
    let (bid, _) = seal_with_docs(&s, &[]);
    let pk = s.bidder.public_key();
    for pos in (0..bid.envelope.len()).step_by(97) {
        let mut bad = bid.envelope.clone();
        bad[pos] ^= 0x01;
        assert_eq!(verify_signature(&bad, &bid.signature, &pk), Err(SealError::BadSignature));
    }
    // A change that keeps the JSON valid: still caught by parse_signed.
    let text = String::from_utf8(bid.envelope.clone()).unwrap();
    let edited = text.replace("\"lot\":\"lot-1\"", "\"lot\":\"lot-2\"");
    assert_ne!(edited, text);
    assert_eq!(Envelope::parse_signed(edited.as_bytes(), &bid.signature), Err(SealError::BadSignature));
    let mut sig = bid.signature;
    sig[10] ^= 1;
    assert_eq!(verify_signature(&bid.envelope, &sig, &pk), Err(SealError::BadSignature));
    // Signed by someone else than the registered bidder.
    let other = BidderKey::generate().unwrap().public_key();
    let env = Envelope::parse(&bid.envelope).unwrap();
    assert_eq!(verify_signature(&bid.envelope, &bid.signature, &other), Err(SealError::BadSignature));
    assert_eq!(env.check_submission(&s.binding, &s.policy, &other), Err(SealError::BadSignature));
}

#[test]
fn flipped_share_ciphertexts() {
    let s = setup(2, 3);
    let (bid, _) = seal_with_docs(&s, &[]);
    let env = Envelope::parse(&bid.envelope).unwrap();
    for i in 0..3 {
        let mut bad = env.clone();
        bad.shares[i].ct[5] ^= 1;
        let bytes = serde_json::to_vec(&bad).unwrap();
        assert_eq!(verify_signature(&bytes, &bid.signature, &s.bidder.public_key()), Err(SealError::BadSignature));
        let index = i as u8 + 1;
        assert_eq!(open_share(&bad, index, &s.custodians[i]), Err(SealError::ShareDecryptFailed { custodian: index }));
        let mut bad = env.clone();
        bad.shares[i].enc[40] ^= 1;
        assert_eq!(open_share(&bad, index, &s.custodians[i]), Err(SealError::ShareDecryptFailed { custodian: index }));
    }
}

#[test]
fn shares_swapped_between_bids_and_custodians() {
    let s = setup(2, 3);
    let (a, _) = seal_with_docs(&s, &[]);
    let mut s2 = setup(2, 3);
    s2.custodians = s.custodians.clone();
    s2.policy = s.policy.clone();
    s2.binding = Binding::new(s.binding.tender_id, Uuid::new_v4());
    let (b, _) = seal_with_docs(&s2, &[]);
    let env_a = Envelope::parse(&a.envelope).unwrap();
    let env_b = Envelope::parse(&b.envelope).unwrap();
    // Share 1 of bid B planted in bid A: HPKE info binds the bid id.
    let mut mixed = env_a.clone();
    mixed.shares[0] = env_b.shares[0].clone();
    assert_eq!(open_share(&mixed, 1, &s.custodians[0]), Err(SealError::ShareDecryptFailed { custodian: 1 }));
    // Custodian 1's entry relabelled as custodian 2's.
    let mut swapped = env_a.clone();
    swapped.shares[1] = env_a.shares[0].clone();
    swapped.shares[1].index = 2;
    assert_eq!(open_share(&swapped, 2, &s.custodians[1]), Err(SealError::ShareDecryptFailed { custodian: 2 }));
    // Wrong custodian key for an index.
    assert_eq!(open_share(&env_a, 1, &s.custodians[1]), Err(SealError::ShareDecryptFailed { custodian: 1 }));
    // A released share of bid B offered for bid A fails its commitment.
    let share_b = open_share(&env_b, 1, &s.custodians[0]).unwrap();
    assert_eq!(verify_share(&env_a, &share_b), Err(SealError::ShareCommitmentMismatch { custodian: 1 }));
}

#[test]
fn envelope_moved_to_another_tender_or_bid() {
    let s = setup(1, 1);
    let (bid, _) = seal_with_docs(&s, &[]);
    let env = Envelope::parse(&bid.envelope).unwrap();
    let pk = s.bidder.public_key();
    let other_tender = Binding::new(Uuid::new_v4(), s.binding.bid_id);
    assert!(matches!(env.check_submission(&other_tender, &s.policy, &pk), Err(SealError::WrongTender { .. })));
    let other_bid = Binding::new(s.binding.tender_id, Uuid::new_v4());
    assert!(matches!(env.check_submission(&other_bid, &s.policy, &pk), Err(SealError::WrongBid { .. })));
    let other_policy = setup(1, 1).policy;
    assert_eq!(env.check_submission(&s.binding, &other_policy, &pk), Err(SealError::CustodyPolicyMismatch));
    // Rewriting the ids (and re-signing) still cannot open: everything is bound.
    let mut moved = env.clone();
    moved.tender_id = other_tender.tender_id;
    assert_eq!(open_share(&moved, 1, &s.custodians[0]), Err(SealError::ShareDecryptFailed { custodian: 1 }));
}

#[test]
fn custodian_fault_and_bidder_fault() {
    let s = setup(2, 3);
    let (bid, _) = seal_with_docs(&s, &[]);
    let env = Envelope::parse(&bid.envelope).unwrap();
    // Custodian releases a wrong share.
    let good = open_share(&env, 1, &s.custodians[0]).unwrap();
    let mut raw = *good.to_bytes();
    raw[32] ^= 1;
    let forged = Share::from_bytes(&raw).unwrap();
    let second = open_share(&env, 2, &s.custodians[1]).unwrap();
    assert_eq!(rebuild_key(&env, &[forged, second.clone()]), Err(SealError::ShareCommitmentMismatch { custodian: 1 }));
    // Bidder seals share 3 from another polynomial, with a valid commitment.
    let rogue_key = BidKey::generate().unwrap();
    let rogue = split(&rogue_key, 2, 3).unwrap().remove(2);
    let b = env.binding();
    let pk3 = s.policy.custodians[2].public_key.unwrap();
    let (enc, ct) = seal_to(&pk3, &share_info(&b, 3), &share_aad(&pk3), rogue.to_bytes().as_ref()).unwrap();
    let mut cheat = env.clone();
    cheat.shares[2].enc = enc.to_vec();
    cheat.shares[2].ct = ct;
    cheat.shares[2].commitment = share_commitment(&b, 3, &rogue.to_bytes());
    let s3 = open_share(&cheat, 3, &s.custodians[2]).unwrap();
    assert!(rebuild_key(&cheat, &[good.clone(), second.clone()]).is_ok());
    assert_eq!(rebuild_key(&cheat, &[good.clone(), s3.clone()]), Err(SealError::KeyCommitmentMismatch));
    // All three released: the rogue share spoils an interpolation over all
    // of them, but shares 1 and 2 rebuild K, so the bid opens.
    let all = rebuild_key(&cheat, &[s3.clone(), good.clone(), second.clone()]).unwrap();
    assert_eq!(all.as_bytes(), rebuild_key(&cheat, &[good, second]).unwrap().as_bytes());
}

#[test]
fn form_tampering_and_wrong_form_key() {
    let s = setup(1, 1);
    let (bid, _) = seal_with_docs(&s, &[]);
    let env = Envelope::parse(&bid.envelope).unwrap();
    let key = open_all(&s, &env, &[1]).unwrap();
    let fk = form_key(&env.binding(), &key).unwrap();
    let mut bad = bid.form_ciphertext.clone();
    bad[20] ^= 1;
    assert_eq!(open_form(&env, &fk, &bad), Err(SealError::CiphertextHashMismatch));
    assert_eq!(open_form_raw(&env.binding(), &fk, &bad), Err(SealError::FormDecryptFailed));
    // Hash recorded for the bad ciphertext (a bidder sealing garbage).
    let mut cheat = env.clone();
    cheat.form = BlobRef { sha256: binding::sha256(&bad), length: bad.len() as u64 };
    assert_eq!(open_form(&cheat, &fk, &bad), Err(SealError::FormDecryptFailed));
    let wrong = SymmetricKey::from_bytes(&[3; 32]).unwrap();
    assert_eq!(open_form(&env, &wrong, &bid.form_ciphertext), Err(SealError::FormKeyCommitmentMismatch));
}

#[test]
fn document_stream_tampering_in_envelope_context() {
    let s = setup(1, 1);
    let (bid, streams) = seal_with_docs(&s, &[doc(2 * SEGMENT_LEN + 100)]);
    let env = Envelope::parse(&bid.envelope).unwrap();
    let key = open_all(&s, &env, &[1]).unwrap();
    let ct = &streams[0];
    let run = |bytes: &[u8]| decrypt_document(&env, &key, 0, bytes, Vec::new());
    let mut flipped = ct.clone();
    flipped[100_000] ^= 1;
    assert_eq!(run(&flipped), Err(SealError::StreamTampered { segment: 1 }));
    let seg = stream::SEGMENT_CT_LEN;
    assert_eq!(run(&ct[..12 + 2 * seg]), Err(SealError::StreamTruncated));
    assert_eq!(run(&ct[..ct.len() - 1]), Err(SealError::StreamTruncated));
    let mut extended = ct.clone();
    extended.push(0);
    assert_eq!(run(&extended), Err(SealError::StreamExtended));
    let mut reordered = ct[..12].to_vec();
    reordered.extend_from_slice(&ct[12 + seg..12 + 2 * seg]);
    reordered.extend_from_slice(&ct[12..12 + seg]);
    reordered.extend_from_slice(&ct[12 + 2 * seg..]);
    assert_eq!(run(&reordered), Err(SealError::StreamReordered { expected: 0, found: 1 }));
    // A stream of another document (other key) is refused.
    let (_, other) = seal_with_docs(&s, &[doc(5)]);
    assert!(run(&other[0]).is_err());
}

#[test]
fn strict_envelope_parsing() {
    let s = setup(2, 3);
    let (bid, _) = seal_with_docs(&s, &[]);
    let v: serde_json::Value = serde_json::from_slice(&bid.envelope).unwrap();
    let bad = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = v.clone();
        f(&mut v);
        Envelope::parse(v.to_string().as_bytes())
    };
    assert!(Envelope::parse(v.to_string().as_bytes()).is_ok());
    assert!(bad(&|v| v["extra"] = 1.into()).is_err());
    assert!(bad(&|v| v["type"] = "bidroom.envelope.v2".into()).is_err());
    assert!(bad(&|v| v["suite"]["hpke_aead"] = 1.into()).is_err());
    assert!(bad(&|v| v["custody"]["threshold"] = 4.into()).is_err());
    assert!(bad(&|v| v["shares"].as_array_mut().unwrap().truncate(2)).is_err());
    assert!(bad(&|v| v["shares"][0]["index"] = 2.into()).is_err());
    assert!(bad(&|v| v["key_commitment"] = "ab".into()).is_err());
    assert!(bad(&|v| v["shares"][1]["ct"] = "AAAA".into()).is_err());
    assert!(bad(&|v| v["bidder_public_key"] = "BAAA".into()).is_err());
    assert!(Envelope::parse(b"not json").is_err());
}

#[test]
fn incremental_document_api_and_policy_checks() {
    let s = setup(2, 2);
    let mut sealer = BidSealer::new(s.binding, "lot-9", &s.policy).unwrap();
    let (index, mut enc) = sealer.begin_document().unwrap();
    let data = doc(SEGMENT_LEN + 3);
    let mut stream = Vec::new();
    for chunk in data.chunks(4096) {
        stream.extend(enc.push(chunk).unwrap());
    }
    let (tail, summary) = enc.finish().unwrap();
    stream.extend(tail);
    // Sealing before the begun document is finished is refused.
    let (index2, _) = sealer.begin_document().unwrap();
    assert!(sealer.finish_document(index2, "b", "x/y", &summary).is_err());
    sealer.finish_document(index, "a.bin", "application/octet-stream", &summary).unwrap();
    let err = sealer.seal(FORM, &s.bidder, OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(err, SealError::Malformed(_)));

    let mut sealer = BidSealer::new(s.binding, "lot-9", &s.policy).unwrap();
    let (index, mut enc) = sealer.begin_document().unwrap();
    let mut stream2 = enc.push(&data).unwrap();
    let (tail, summary) = enc.finish().unwrap();
    stream2.extend(tail);
    sealer.finish_document(index, "a.bin", "application/octet-stream", &summary).unwrap();
    let bid = sealer.seal(FORM, &s.bidder, OffsetDateTime::now_utc()).unwrap();
    let env = Envelope::parse_signed(&bid.envelope, &bid.signature).unwrap();
    let key = open_all(&s, &env, &[1, 2]).unwrap();
    let mut dec = document_decryptor(&env, &key, 0).unwrap();
    let mut out = dec.push(&stream2).unwrap();
    out.extend(dec.finish().unwrap());
    assert_eq!(out, data);
    assert_eq!(open_manifest(&env, &key).unwrap().documents[0].name, "a.bin");

    let mut dup = s.policy.clone();
    dup.custodians[1].public_key = dup.custodians[0].public_key;
    assert!(BidSealer::new(s.binding, "lot", &dup).is_err());
    let mut zero = s.policy.clone();
    zero.threshold = 0;
    assert!(BidSealer::new(s.binding, "lot", &zero).is_err());
}
