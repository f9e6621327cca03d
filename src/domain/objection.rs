//! Objections (异议), confirmations of the record (签字确认) and the host's
//! announcements: what each event publishes and the exact bytes a bidder
//! signs. The transitions that record them are in `objection_session.rs`.
//!
//! Signed statements follow the convention of `seal::statements`:
//! `label ‖ 0x00 ‖ fixed-length fields`, so a signature made for one purpose
//! is useless for any other.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DomainError;
use super::event::{BidderRef, Digest, StaffRef};
use super::session::Stage;
use super::text::{Lines, Text};

/// Longest objection text, in characters.
pub const MAX_OBJECTION_CHARS: usize = 2_000;
/// Longest answer to an objection, in characters.
pub const MAX_ANSWER_CHARS: usize = 2_000;
/// Longest announcement, in characters.
pub const MAX_ANNOUNCEMENT_CHARS: usize = 500;

/// Label of an objection.
pub const LABEL_OBJECTION: &str = "bidroom/v1/objection";
/// Label of a confirmation of the record.
pub const LABEL_RECORD_CONFIRM: &str = "bidroom/v1/record-confirm";
/// Longest question to the host, in characters.
pub const MAX_QUESTION_CHARS: usize = 2_000;
/// Label of a bidder's question to the host.
pub const LABEL_QUESTION: &str = "bidroom/v1/question";
/// Label of a bidder's request to read its own questions.
pub const LABEL_QUESTIONS_READ: &str = "bidroom/v1/questions-read";

fn labeled(label: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = label.as_bytes().to_vec();
    out.push(0);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `"bidroom/v1/objection" ‖ 0x00 ‖ tender (16) ‖ SHA-256(text as UTF-8)
/// (32) ‖ signed at (8, big-endian two's-complement Unix seconds)`: 77 bytes
/// whatever the text's length.
pub fn objection_message(tender: Uuid, text: &str, signed_at: i64) -> Vec<u8> {
    labeled(LABEL_OBJECTION, &[tender.as_bytes(), &sha256(text.as_bytes()), &signed_at.to_be_bytes()])
}

/// `"bidroom/v1/record-confirm" ‖ 0x00 ‖ tender (16) ‖ record hash (32) ‖
/// signed at (8, big-endian)`: 82 bytes; the bidder confirms exactly the
/// record bytes it was shown.
pub fn confirm_message(tender: Uuid, record_hash: &[u8; 32], signed_at: i64) -> Vec<u8> {
    labeled(LABEL_RECORD_CONFIRM, &[tender.as_bytes(), record_hash, &signed_at.to_be_bytes()])
}

/// `"bidroom/v1/question" ‖ 0x00 ‖ tender (16) ‖ SHA-256(text) (32) ‖
/// signed at (8, big-endian)`: 76 bytes, laid out as an objection's.
pub fn question_message(tender: Uuid, text: &str, signed_at: i64) -> Vec<u8> {
    labeled(LABEL_QUESTION, &[tender.as_bytes(), &sha256(text.as_bytes()), &signed_at.to_be_bytes()])
}

/// `"bidroom/v1/questions-read" ‖ 0x00 ‖ tender (16) ‖ signed at (8,
/// big-endian)`: 50 bytes; the bidder asks for its own questions.
pub fn questions_read_message(tender: Uuid, signed_at: i64) -> Vec<u8> {
    labeled(LABEL_QUESTIONS_READ, &[tender.as_bytes(), &signed_at.to_be_bytes()])
}

/// Checks a question's text: the rules of an objection's.
pub fn check_question_text(text: &str) -> Result<(), DomainError> {
    Text::required("text", text, MAX_QUESTION_CHARS, Lines::Multi)
}

/// Checks an objection's text: 1 to 2,000 characters, free text (line
/// breaks allowed), no NUL or other control character.
pub fn check_objection_text(text: &str) -> Result<(), DomainError> {
    Text::required("text", text, MAX_OBJECTION_CHARS, Lines::Multi)
}

/// The record row an objection names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRow {
    /// The bid of the row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub bid_id: Option<Uuid>,
    /// The log index of the row's outcome entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<i64>,
}

/// `objection.raised`: a signed-in bidder objects, on the spot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionRaised {
    /// The objection's id.
    pub objection: Uuid,
    /// Who objects (key id and registered name).
    pub bidder: BidderRef,
    /// The stage it was raised in.
    pub stage: Stage,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The time the bidder signed, Unix seconds.
    pub signed_at: i64,
    /// The objection, as written.
    pub text: String,
    /// The record row it names, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<ObjectionRow>,
    /// The bidder key's signature (r‖s, base64url) over [`objection_message`].
    pub signature: String,
    /// Raised as the bidder's answer to the record (有异议) in confirmation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_record: bool,
}

/// `objection.answered`: the host answers on the spot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionAnswered {
    /// The objection answered.
    pub objection: Uuid,
    /// The answer, as written.
    pub answer: String,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who answered.
    pub by: StaffRef,
}

/// `record.confirmed`: a bidder whose bid was read confirms the record (无异议).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordConfirmed {
    /// Who confirms.
    pub bidder: BidderRef,
    /// The record hash it signed (see `domain::record::record_hash`).
    pub record_hash: Digest,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The time the bidder signed, Unix seconds.
    pub signed_at: i64,
    /// The bidder key's signature (r‖s, base64url) over [`confirm_message`].
    pub signature: String,
}

/// `announcement.posted`: the host tells the room something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementPosted {
    /// The announcement's id.
    pub announcement: Uuid,
    /// Its text.
    pub text: String,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who posted it.
    pub by: StaffRef,
    /// The bidder's question it answers, quoted (the asker stays unnamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<QuotedQuestion>,
}

/// A private question made public by the announcement answering it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotedQuestion {
    /// The question's id.
    pub question: Uuid,
    /// Its text, as asked.
    pub text: String,
    /// When it was asked (server time).
    #[serde(with = "time::serde::rfc3339")]
    pub asked_at: OffsetDateTime,
}

/// How a bidder of the record answered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// 无异议: signed the record hash.
    Confirmed,
    /// 有异议: raised an objection instead.
    Objected,
    /// Did nothing within the stage.
    DidNotRespond,
}

/// One bidder's answer to the record, as `session.ended` fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BidderResponse {
    /// The bidder's key id.
    pub bidder: String,
    /// Its registered name, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// What it did.
    pub response: Response,
}

/// `session.ended`: the session closed normally and its final record is
/// sealed; the hash covers every event of the tender before this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// SHA-256 of the final record's canonical bytes (`domain::record`).
    pub final_hash: Digest,
    /// The record hash the bidders were asked to confirm.
    pub record_hash: Digest,
    /// The last sequence number the final record covers (this event's minus one).
    pub through_seq: i64,
    /// Every bidder of the record and its answer.
    pub responses: Vec<BidderResponse>,
    /// Do the terms count silence as acceptance (the Chinese practice)?
    pub silence_is_acceptance: bool,
    /// Server time.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The host who ended it (`null`: the confirmation time ran out).
    pub by: Option<StaffRef>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::{BidderPublicKey, unb64};

    const TENDER: Uuid = Uuid::from_u128(0x0191_0000_0000_7000_8000_0000_0000_0001);

    /// The vector of PROTOCOL.md ("Objections and confirmations").
    #[test]
    fn objection_message_matches_the_documented_vector() {
        let msg = objection_message(TENDER, "唱标价格与投标文件不符", 1_796_112_000);
        assert_eq!(msg.len(), 77);
        assert_eq!(&msg[..21], b"bidroom/v1/objection\0");
        assert_eq!(&msg[21..37], TENDER.as_bytes());
        assert_eq!(&msg[37..69], &sha256("唱标价格与投标文件不符".as_bytes()));
        assert_eq!(&msg[69..], &1_796_112_000i64.to_be_bytes());
        assert_eq!(hex::encode(&msg), OBJECTION_HEX);
    }

    #[test]
    fn question_messages_are_fixed_length() {
        let msg = question_message(TENDER, "开标时间是否顺延？", 7);
        assert_eq!(msg.len(), 76);
        assert_eq!(&msg[..20], b"bidroom/v1/question\0");
        let read = questions_read_message(TENDER, 7);
        assert_eq!(read.len(), 50);
        assert_eq!(&read[..26], b"bidroom/v1/questions-read\0");
        assert_eq!(&read[42..], &7i64.to_be_bytes());
    }

    #[test]
    fn confirm_message_is_fixed_length() {
        let msg = confirm_message(TENDER, &[7; 32], -1);
        assert_eq!(msg.len(), 82);
        assert_eq!(&msg[..26], b"bidroom/v1/record-confirm\0");
        assert_eq!(&msg[74..], &[0xff; 8]);
    }

    #[test]
    fn documented_signature_verifies() {
        let key = BidderPublicKey::from_bytes(&unb64(VECTOR_KEY).unwrap()).unwrap();
        let msg = objection_message(TENDER, "唱标价格与投标文件不符", 1_796_112_000);
        key.verify(&msg, &unb64(VECTOR_SIG).unwrap()).unwrap();
        let other = objection_message(TENDER, "唱标价格与投标文件相符", 1_796_112_000);
        assert!(key.verify(&other, &unb64(VECTOR_SIG).unwrap()).is_err(), "the text is signed");
    }

    #[test]
    fn text_rules() {
        assert!(check_objection_text("").is_err());
        assert!(check_objection_text("  \n").is_err());
        assert!(check_objection_text("a\0b").is_err());
        assert!(check_objection_text("a\u{7}b").is_err());
        assert!(check_objection_text("第一行\n第二行").is_ok());
        assert!(check_objection_text(&"异".repeat(2_000)).is_ok());
        assert!(check_objection_text(&"异".repeat(2_001)).is_err());
    }

    const OBJECTION_HEX: &str = "626964726f6f6d2f76312f6f626a656374696f6e000191000000007000800000000000000196f640371de098796d25971b31a086f41e7fad2a381cb8a0f9453dc340287e1a000000006b0e7e80";
    const VECTOR_KEY: &str = "BEPCk55o1szKkWVqQGMs4TdUY3oLuavTYGsAGNvoBACej3EWc8FCcdmwmxgYQaAgPyGfCw8lrFgsJl19gFa0WXg";
    const VECTOR_SIG: &str = "8srHZOMewcTbI3XuK2Ab8hmK7tmznK31USvHPykZ4SvpAN1b_FzyOTCB-2wehE6LiIXyiMzXa2x0XCCLRiOHvw";
}
