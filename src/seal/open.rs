//! The opening side: custodians open shares, anyone checks released
//! shares, rebuilds K, checks and decrypts the form; staff decrypt documents.

use std::io::{Read, Write};

use ring::digest;

use super::binding::LABEL_MANIFEST_AAD;
use super::envelope::{Envelope, share_aad, share_commitment, share_info};
use super::sealer::Manifest;
use super::{BidKey, CustodianSecretKey, SealError, Share, StreamDecryptor, SymmetricKey, aead, hpke, kdf, shamir};

/// Custodian side: decrypt the share sealed to custodian `index` and check
/// it against its commitment.
///
/// A share that decrypts but does not match its commitment was sealed
/// wrong by the bidder (the envelope is signed) and is reported as
/// [`SealError::ShareCommitmentMismatch`] all the same: the custodian
/// publishes the result either way.
pub fn open_share(envelope: &Envelope, index: u8, key: &CustodianSecretKey) -> Result<Share, SealError> {
    let fail = SealError::ShareDecryptFailed { custodian: index };
    let entry = envelope.shares.iter().find(|s| s.index == index).ok_or_else(|| fail.clone())?;
    let custodian = envelope.custody.custodians.iter().find(|c| c.index == index).ok_or_else(|| fail.clone())?;
    if custodian.public_key != Some(key.public_key()) {
        return Err(fail);
    }
    let b = envelope.binding();
    let pt = hpke::open_with(key, &entry.enc, &share_info(&b, index), &share_aad(&key.public_key()), &entry.ct)
        .ok_or_else(|| fail.clone())?;
    // A share for another x in this slot would be checked against the
    // wrong commitment, so it is refused here.
    let share = Share::from_bytes(&pt)
        .ok()
        .filter(|s| s.x == index)
        .ok_or(SealError::ShareCommitmentMismatch { custodian: index })?;
    verify_share(envelope, &share)?;
    Ok(share)
}

/// Check a released share against its commitment (x is the custodian
/// index). A mismatch is the releasing custodian's fault.
pub fn verify_share(envelope: &Envelope, share: &Share) -> Result<(), SealError> {
    let mismatch = SealError::ShareCommitmentMismatch { custodian: share.x };
    let entry = envelope.shares.iter().find(|s| s.index == share.x).ok_or_else(|| mismatch.clone())?;
    let expected = share_commitment(&envelope.binding(), share.x, &share.to_bytes());
    if expected != entry.commitment {
        return Err(mismatch);
    }
    Ok(())
}

/// Rebuild K from released shares: each must match its commitment, at
/// least k distinct ones are needed, and the result must match the key
/// commitment (otherwise the bidder sealed inconsistent shares).
///
/// With more than k shares, one off the bidder's polynomial would spoil an
/// interpolation over all of them although some k of them rebuild K; so
/// every k-subset is tried (at most C(16, 8) = 12,870) before the bid is
/// called inconsistent. K is unique given its commitment, so which subset
/// rebuilds it does not matter. An `Err(KeyCommitmentMismatch)` therefore
/// means no k of the shares rebuild K: publishing them reveals no key.
pub fn rebuild_key(envelope: &Envelope, shares: &[Share]) -> Result<BidKey, SealError> {
    for s in shares {
        verify_share(envelope, s)?;
    }
    let mut distinct: Vec<Share> = Vec::with_capacity(shares.len());
    for s in shares {
        if !distinct.iter().any(|d| d.x == s.x) {
            distinct.push(s.clone());
        }
    }
    let need = usize::from(envelope.custody.threshold);
    if distinct.len() < need {
        return Err(SealError::NotEnoughShares { have: distinct.len(), need });
    }
    let matches = |subset: &[Share]| -> Option<BidKey> {
        let key = shamir::combine(subset).ok()?;
        (super::envelope::key_commitment(&envelope.binding(), &key) == envelope.key_commitment).then_some(key)
    };
    if let Some(key) = matches(&distinct) {
        return Ok(key);
    }
    if distinct.len() > need {
        let mut pick: Vec<usize> = (0..need).collect();
        loop {
            let subset: Vec<Share> = pick.iter().map(|&i| distinct[i].clone()).collect();
            if let Some(key) = matches(&subset) {
                return Ok(key);
            }
            if !next_combination(&mut pick, distinct.len()) {
                break;
            }
        }
    }
    Err(SealError::KeyCommitmentMismatch)
}

/// Steps `pick` (strictly increasing indices below `n`) to the next
/// combination in lexicographic order; `false` after the last.
fn next_combination(pick: &mut [usize], n: usize) -> bool {
    let k = pick.len();
    let Some(i) = (0..k).rev().find(|&i| pick[i] < n - k + i) else { return false };
    pick[i] += 1;
    for j in i + 1..k {
        pick[j] = pick[j - 1] + 1;
    }
    true
}

/// Check a (published) form key against the envelope's commitment.
pub fn check_form_key(envelope: &Envelope, form_key: &SymmetricKey) -> Result<(), SealError> {
    if super::envelope::form_key_commitment(&envelope.binding(), form_key) != envelope.form_key_commitment {
        return Err(SealError::FormKeyCommitmentMismatch);
    }
    Ok(())
}

/// Decrypt the form: checks the form key commitment, the ciphertext hash
/// and length, then authenticates and decrypts. Anyone can run this from
/// public data after the opening.
pub fn open_form(envelope: &Envelope, form_key: &SymmetricKey, ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
    check_form_key(envelope, form_key)?;
    super::envelope::verify_blob(&envelope.form, ciphertext)?;
    super::open_form_raw(&envelope.binding(), form_key, ciphertext)
}

/// Decrypt the document manifest (names and media types) with K.
pub fn open_manifest(envelope: &Envelope, key: &BidKey) -> Result<Manifest, SealError> {
    let b = envelope.binding();
    let mkey = kdf::manifest_key(&b, &kdf::documents_key(&b, key)?)?;
    let pt = aead::open(mkey.as_bytes(), &b.labeled(LABEL_MANIFEST_AAD, &[]), &envelope.manifest)
        .ok_or_else(|| SealError::malformed("manifest does not decrypt"))?;
    serde_json::from_slice(&pt).map_err(|e| SealError::malformed(e.to_string()))
}

/// An incremental decryptor for document `index`, expecting the length
/// recorded in the envelope. The caller should also hash the ciphertext
/// (or use [`decrypt_document`]).
pub fn document_decryptor(envelope: &Envelope, key: &BidKey, index: u32) -> Result<StreamDecryptor, SealError> {
    let doc =
        envelope.documents.iter().find(|d| d.index == index).ok_or_else(|| SealError::malformed("no such document"))?;
    let b = envelope.binding();
    let dkey = kdf::document_key(&b, &kdf::documents_key(&b, key)?, index)?;
    StreamDecryptor::new(&dkey, Some(doc.length))
}

/// Decrypt document `index` from `reader` to `writer` in constant memory,
/// checking the stream and the envelope's hash; returns the plaintext length.
pub fn decrypt_document<R: Read, W: Write>(
    envelope: &Envelope,
    key: &BidKey,
    index: u32,
    mut reader: R,
    mut writer: W,
) -> Result<u64, SealError> {
    let mut dec = document_decryptor(envelope, key, index)?;
    let expected = envelope
        .documents
        .iter()
        .find(|d| d.index == index)
        .map(|d| d.sha256)
        .ok_or_else(|| SealError::malformed("no such document"))?;
    let mut hash = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; super::stream::SEGMENT_CT_LEN];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        let pt = dec.push(&buf[..n])?;
        total += pt.len() as u64;
        writer.write_all(&pt)?;
    }
    let pt = dec.finish()?;
    if hash.finish().as_ref() != expected.as_slice() {
        return Err(SealError::CiphertextHashMismatch);
    }
    total += pt.len() as u64;
    writer.write_all(&pt)?;
    writer.flush()?;
    Ok(total)
}
