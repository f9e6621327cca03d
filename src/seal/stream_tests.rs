//! Document stream round trips and every tampering case.

use super::*;

fn key() -> SymmetricKey {
    SymmetricKey::from_bytes(&[0x42; 32]).unwrap()
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn encrypt(pt: &[u8]) -> (Vec<u8>, StreamSummary) {
    let mut ct = Vec::new();
    let summary = encrypt_stream(&key(), pt, &mut ct).unwrap();
    (ct, summary)
}

fn decrypt(ct: &[u8], expected: Option<u64>) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::new();
    decrypt_stream(&key(), ct, &mut out, expected).map(|_| out)
}

fn segments(len: usize) -> usize {
    len.div_ceil(SEGMENT_LEN).max(1)
}

#[test]
fn round_trips_at_segment_boundaries() {
    for len in [0, 1, SEGMENT_LEN - 1, SEGMENT_LEN, SEGMENT_LEN + 1, 3 * SEGMENT_LEN, 3 * SEGMENT_LEN + 17] {
        let pt = data(len);
        let (ct, s) = encrypt(&pt);
        assert_eq!(ct.len(), HEADER_LEN + len + TAG_LEN * segments(len), "len {len}");
        assert_eq!(s.plaintext_len, len as u64);
        assert_eq!(s.ciphertext_len, ct.len() as u64);
        assert_eq!(s.ciphertext_sha256.as_slice(), digest::digest(&digest::SHA256, &ct).as_ref());
        assert_eq!(decrypt(&ct, None).unwrap(), pt);
        assert_eq!(decrypt(&ct, Some(ct.len() as u64)).unwrap(), pt);
    }
}

#[test]
fn incremental_api_matches_io_api_in_odd_chunks() {
    let pt = data(2 * SEGMENT_LEN + 5);
    let k = key();
    let mut enc = StreamEncryptor::with_prefix(&k, [9; 7]).unwrap();
    let mut ct = Vec::new();
    for chunk in pt.chunks(1000) {
        ct.extend(enc.push(chunk).unwrap());
    }
    let (tail, summary) = enc.finish().unwrap();
    ct.extend(tail);
    assert_eq!(summary.ciphertext_len, ct.len() as u64);
    let mut dec = StreamDecryptor::new(&k, None).unwrap();
    let mut out = Vec::new();
    for chunk in ct.chunks(7777) {
        out.extend(dec.push(chunk).unwrap());
    }
    out.extend(dec.finish().unwrap());
    assert_eq!(out, pt);
    // Same prefix and data through the io path in one go gives equal bytes.
    let mut enc2 = StreamEncryptor::with_prefix(&k, [9; 7]).unwrap();
    let mut ct2 = enc2.push(&pt).unwrap();
    ct2.extend(enc2.finish().unwrap().0);
    assert_eq!(ct, ct2);
}

#[test]
fn flipped_byte_in_any_segment_or_header() {
    let (ct, _) = encrypt(&data(3 * SEGMENT_LEN + 10));
    for (pos, segment) in [(HEADER_LEN + 5, 0u32), (HEADER_LEN + SEGMENT_CT_LEN + 100, 1), (ct.len() - 1, 3)] {
        let mut bad = ct.clone();
        bad[pos] ^= 0x80;
        assert_eq!(decrypt(&bad, None), Err(SealError::StreamTampered { segment }));
    }
    let mut bad = ct.clone();
    bad[6] ^= 1; // nonce prefix in the header
    assert_eq!(decrypt(&bad, None), Err(SealError::StreamTampered { segment: 0 }));
    let mut bad = ct.clone();
    bad[0] ^= 1; // magic
    assert!(matches!(decrypt(&bad, None), Err(SealError::Malformed(_))));
}

#[test]
fn truncation_detected() {
    let (ct, _) = encrypt(&data(3 * SEGMENT_LEN + 10));
    let len = Some(ct.len() as u64);
    // Cut at a segment boundary: the last segment left is not a final one.
    let cut = &ct[..HEADER_LEN + 2 * SEGMENT_CT_LEN];
    assert_eq!(decrypt(cut, None), Err(SealError::StreamTruncated));
    assert_eq!(decrypt(cut, len), Err(SealError::StreamTruncated));
    // Cut inside a segment: known length tells it from tampering.
    let cut = &ct[..ct.len() - 3];
    assert_eq!(decrypt(cut, len), Err(SealError::StreamTruncated));
    assert_eq!(decrypt(&ct[..HEADER_LEN], None), Err(SealError::StreamTruncated));
    assert_eq!(decrypt(&ct[..5], None), Err(SealError::StreamTruncated));
    assert_eq!(decrypt(&[], None), Err(SealError::StreamTruncated));
    // Dropping a middle segment.
    let mut dropped = ct[..HEADER_LEN + SEGMENT_CT_LEN].to_vec();
    dropped.extend_from_slice(&ct[HEADER_LEN + 2 * SEGMENT_CT_LEN..]);
    assert_eq!(decrypt(&dropped, None), Err(SealError::StreamReordered { expected: 1, found: 2 }));
}

#[test]
fn reordering_detected() {
    let (ct, _) = encrypt(&data(3 * SEGMENT_LEN + 10));
    let seg = |i: usize| &ct[HEADER_LEN + i * SEGMENT_CT_LEN..HEADER_LEN + (i + 1) * SEGMENT_CT_LEN];
    let mut swapped = ct[..HEADER_LEN].to_vec();
    swapped.extend_from_slice(seg(1));
    swapped.extend_from_slice(seg(0));
    swapped.extend_from_slice(&ct[HEADER_LEN + 2 * SEGMENT_CT_LEN..]);
    assert_eq!(decrypt(&swapped, None), Err(SealError::StreamReordered { expected: 0, found: 1 }));
}

#[test]
fn extension_detected() {
    // Exact multiple: appending a copy of the final segment.
    let (ct, _) = encrypt(&data(2 * SEGMENT_LEN));
    let mut ext = ct.clone();
    ext.extend_from_slice(&ct[HEADER_LEN + SEGMENT_CT_LEN..]);
    assert_eq!(decrypt(&ext, None), Err(SealError::StreamExtended));
    // Short final segment plus junk: the envelope's length catches it.
    let (ct, _) = encrypt(&data(SEGMENT_LEN + 10));
    let mut ext = ct.clone();
    ext.extend_from_slice(b"junk");
    assert_eq!(decrypt(&ext, Some(ct.len() as u64)), Err(SealError::StreamExtended));
    assert!(decrypt(&ext, None).is_err());
}

#[test]
fn wrong_key_is_tampering() {
    let (ct, _) = encrypt(&data(10));
    let mut out = Vec::new();
    let other = SymmetricKey::from_bytes(&[1; 32]).unwrap();
    assert_eq!(decrypt_stream(&other, &ct[..], &mut out, None), Err(SealError::StreamTampered { segment: 0 }));
}
