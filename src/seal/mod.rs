//! The sealing core: split-key envelopes, byte for byte as in
//! `docs/PROTOCOL.md`. Pure crypto: no network, no database; streams are
//! `std::io` readers/writers or push-style encryptors handed in by callers.
//!
//! Bidder: [`BidSealer`] (or [`seal_bid`] without documents) → [`SealedBid`].
//! Server on submission: [`verify_signature`], [`Envelope::parse`],
//! [`Envelope::check_submission`], [`verify_blob`].
//! Custodian at opening: [`open_share`]. Anyone: [`verify_share`],
//! [`rebuild_key`], [`form_key`], [`open_form`]. Staff: [`open_manifest`],
//! [`decrypt_document`] / [`document_decryptor`].
//!
//! Async callers never block here: documents are sealed with
//! [`BidSealer::begin_document`] → [`StreamEncryptor::push`] /
//! [`StreamEncryptor::finish`] → [`BidSealer::finish_document`], and opened
//! with [`document_decryptor`] → [`StreamDecryptor::push`] /
//! [`StreamDecryptor::finish`]; memory stays at about two 64 KiB segments.

mod aead;
mod binding;
mod challenge;
mod encoding;
mod envelope;
mod error;
mod form;
mod hpke;
mod kdf;
mod keyfile;
mod keys;
mod open;
mod rng;
mod sealer;
mod shamir;
mod statements;
mod stream;

#[cfg(test)]
mod envelope_tests;
#[cfg(test)]
mod example;

pub use binding::{Binding, VERSION_LABEL};
pub use challenge::{CHALLENGE_LABEL, ChallengePurpose, NONCE_LEN, answer_challenge, challenge_info, seal_challenge};
pub use encoding::{b64, unb64};
pub use envelope::{
    BIDDER_CUSTODIAN, BlobRef, Custodian, CustodyPolicy, DocumentRef, ENVELOPE_TYPE, Envelope, ShareEntry, Suite,
    share_aad, share_commitment, share_info, verify_blob, verify_signature,
};
pub use error::SealError;
pub use form::{open_form_raw, seal_form};
pub use hpke::{CustodianPublicKey, CustodianSecretKey, open_with, seal_to};
pub use kdf::{SymmetricKey, form_key};
pub use keyfile::{DEFAULT_ITERATIONS, KeyFile, KeyKind};
pub use keys::{BidderKey, BidderPublicKey, SIGNATURE_LEN, key_id};
pub use open::{
    check_form_key, decrypt_document, document_decryptor, open_form, open_manifest, open_share, rebuild_key,
    verify_share,
};
pub use sealer::{BidSealer, Manifest, ManifestEntry, SealedBid, seal_bid};
pub use shamir::{BidKey, Share, combine, split};
pub use statements::{
    bidder_release_message, decryption_key_message, register_message, room_sign_in_message, withdraw_message,
};
pub use stream::{SEGMENT_LEN, StreamDecryptor, StreamEncryptor, StreamSummary, decrypt_stream, encrypt_stream};
