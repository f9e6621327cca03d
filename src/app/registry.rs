//! Registration use cases: bidders (self-service, proven by a signature),
//! custodians and staff accounts (by staff), admissions, and a tender's
//! frozen custody policy.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use super::tenders::visible_tender;
use super::tokens::{new_token, token_hash};
use crate::domain::tender::{BIDDER_CUSTODIAN, SERVER_CUSTODIAN, SealedCustody};
use crate::domain::text::is_key_id;
use crate::domain::{Lines, Role, Tender, Text};
use crate::seal::{
    BidderPublicKey, ChallengePurpose, Custodian, CustodianPublicKey, NONCE_LEN, b64, challenge_info, register_message,
    seal_challenge, unb64,
};
use crate::store::{Bidder, ChallengeUse, CustodianRecord, NewChallenge, Staff};

/// A bidder registering its identity key.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBidder {
    /// Company or person bidding.
    pub name: String,
    /// SEC1 uncompressed P-256 public key, base64url.
    pub public_key: String,
    /// Signature (r‖s, base64url) over `"bidroom/v1/register" ‖ 0x00 ‖ public key`.
    pub proof: String,
}

/// A custodian to register.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCustodian {
    /// Id used in custody policies.
    pub id: String,
    /// Name shown to viewers.
    pub name: String,
    /// HPKE P-256 public key, SEC1 uncompressed, base64url.
    pub public_key: String,
}

/// A registered custodian and its release token, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisteredCustodian {
    /// The custodian.
    pub custodian: CustodianRecord,
    /// Bearer token for releasing shares; only its hash is kept. Shown only
    /// at the first registration; afterwards only the custodian itself gets
    /// a new one (`POST /api/v1/custodians/{id}/token`, with a key proof).
    pub release_token: String,
}

/// A new staff account.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// The created account and its token, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedStaff {
    /// The account.
    pub staff: Staff,
    /// Bearer token; only its hash is kept.
    pub token: String,
}

/// Registers a bidder key; true when it is new (the same key again is not an error).
pub async fn register_bidder(state: &AppState, req: RegisterBidder) -> AppResult<(Bidder, bool)> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 300 {
        return Err(AppError::invalid("name", "must be 1 to 300 characters"));
    }
    Text::parse("name", name, 300)?;
    let bytes = unb64(&req.public_key).map_err(|_| AppError::invalid("public_key", "must be base64url"))?;
    let key = BidderPublicKey::from_bytes(&bytes).map_err(|e| AppError::invalid("public_key", e.to_string()))?;
    let proof = unb64(&req.proof).map_err(|_| AppError::invalid("proof", "must be base64url"))?;
    key.verify(&register_message(key.as_bytes()), &proof).map_err(|_| {
        AppError::new(
            ErrorKind::Unprocessable,
            "bad_signature",
            "the proof is not a signature of the registration statement by this key",
        )
    })?;
    let bidder =
        Bidder { id: key.key_id(), name: name.to_string(), public_key: bytes, created_at: state.store.now().await? };
    Ok(state.store.register_bidder(&bidder).await?)
}

/// A registered bidder's public record.
pub async fn bidder(state: &AppState, id: &str) -> AppResult<Bidder> {
    if !is_key_id(id) {
        return Err(AppError::not_found("bidder"));
    }
    state.store.get_bidder(id).await?.ok_or_else(|| AppError::not_found("bidder"))
}

/// Registers a new custodian and issues its first release token. An id or
/// key already registered is refused (`409 custodian_exists`) and nothing
/// changes: staff cannot rename, re-key or re-token a custodian.
pub async fn register_custodian(
    state: &AppState,
    me: &Staff,
    req: RegisterCustodian,
) -> AppResult<RegisteredCustodian> {
    if !me.role.manages_tenders() {
        return Err(AppError::forbidden("only an officer or admin registers custodians"));
    }
    let id = req.id.trim();
    if id.is_empty()
        || id.len() > 64
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(AppError::invalid("id", "must be 1-64 letters, digits, '-', '_' or '.'"));
    }
    if id == SERVER_CUSTODIAN {
        return Err(AppError::invalid("id", "'server' is the server's own custodian key"));
    }
    if id == BIDDER_CUSTODIAN {
        return Err(AppError::invalid("id", "'bidder' stands for each bid's own bidder in custody policies"));
    }
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name", "must be 1 to 200 characters"));
    }
    let bytes = unb64(&req.public_key).map_err(|_| AppError::invalid("public_key", "must be base64url"))?;
    CustodianPublicKey::from_bytes(&bytes).map_err(|e| AppError::invalid("public_key", e.to_string()))?;
    Text::check("name", name, 200, Lines::Single)?;
    let custodian = CustodianRecord {
        id: id.to_string(),
        name: name.to_string(),
        public_key: bytes,
        created_at: state.store.now().await?,
    };
    let release_token = new_token().map_err(|_| AppError::internal("random generator failed"))?;
    if !state.store.insert_custodian(&custodian, &token_hash(&release_token)).await? {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "custodian_exists",
            format!(
                "a custodian with id '{id}' or this public key is already registered; registered custodians \
                 never change (only the custodian itself can rotate its release token)"
            ),
        ));
    }
    Ok(RegisteredCustodian { custodian, release_token })
}

/// How long a challenge can be answered.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Live (unused, unexpired) challenges a custodian may have at once.
pub const MAX_OUTSTANDING_CHALLENGES: i64 = 8;
/// Challenges a custodian may be issued per minute.
pub const MAX_CHALLENGES_PER_MINUTE: i64 = 20;

/// A request for a challenge.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// `rotate` (a new release token) or `release` (shares of `tender`).
    #[schema(value_type = String)]
    pub purpose: ChallengePurpose,
    /// The tender, for `release` (and only then).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub tender: Option<Uuid>,
}

/// A challenge: a random 32-byte nonce HPKE-sealed to the custodian's key.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Challenge {
    /// Id to answer with.
    #[schema(value_type = String, format = Uuid)]
    pub challenge_id: Uuid,
    /// HPKE encapsulated key (65 bytes), base64url.
    pub enc: String,
    /// HPKE ciphertext of the nonce (48 bytes), base64url.
    pub ciphertext: String,
    /// It cannot be answered after this.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: time::OffsetDateTime,
}

/// An answer to a challenge: the opened nonce.
#[derive(Deserialize, Serialize, utoipa::ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct ChallengeAnswer {
    /// The challenge answered.
    #[schema(value_type = String, format = Uuid)]
    pub challenge_id: Uuid,
    /// The 32-byte nonce it sealed, base64url.
    pub response: String,
}

/// A new release token, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RotatedToken {
    /// The custodian.
    pub custodian: CustodianRecord,
    /// The new release token; the old one no longer works.
    pub release_token: String,
}

/// Issues a challenge sealed to a custodian's registered key (public: only
/// the key's holder can answer; rate-limited per custodian).
pub async fn challenge(state: &AppState, custodian: &str, req: ChallengeRequest) -> AppResult<Challenge> {
    let rec = state.store.get_custodian(custodian).await?.ok_or_else(|| AppError::not_found("custodian"))?;
    if rec.id == SERVER_CUSTODIAN {
        return Err(AppError::forbidden("the server's own key releases inside the server"));
    }
    match (req.purpose, req.tender) {
        (ChallengePurpose::Rotate, None) => {}
        (ChallengePurpose::Release, Some(t)) => {
            let tender = visible_tender(state, t, None).await?.tender;
            if !tender.custody.custodians.iter().any(|c| c == &rec.id) {
                return Err(AppError::forbidden(format!("'{}' is not a custodian of this tender", rec.id)));
            }
        }
        (ChallengePurpose::Rotate, Some(_)) => {
            return Err(AppError::invalid("tender", "a rotation challenge names no tender"));
        }
        (ChallengePurpose::Release, None) => {
            return Err(AppError::invalid("tender", "a release challenge names its tender"));
        }
    }
    let pk = CustodianPublicKey::from_bytes(&rec.public_key).map_err(AppError::internal)?;
    let mut nonce = [0u8; NONCE_LEN];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
        .map_err(|_| AppError::internal("random generator failed"))?;
    let info = challenge_info(&rec.id, req.purpose, req.tender);
    let (enc, ciphertext) = seal_challenge(&pk, &info, &nonce).map_err(AppError::internal)?;
    let new = NewChallenge {
        id: Uuid::new_v4(),
        custodian: rec.id.clone(),
        purpose: req.purpose.as_str(),
        tender: req.tender.map(|t| t.to_string()).unwrap_or_default(),
        nonce_hash: token_hash_bytes(&nonce),
        ttl_secs: CHALLENGE_TTL_SECS,
    };
    let expires_at =
        state.store.issue_challenge(&new, MAX_OUTSTANDING_CHALLENGES, MAX_CHALLENGES_PER_MINUTE).await?.ok_or_else(
            || {
                AppError::new(
                    ErrorKind::TooMany,
                    "too_many_challenges",
                    format!(
                        "at most {MAX_OUTSTANDING_CHALLENGES} open challenges and {MAX_CHALLENGES_PER_MINUTE} a minute \
                     per custodian; answer one or wait"
                    ),
                )
            },
        )?;
    Ok(Challenge { challenge_id: new.id, enc: b64(&enc), ciphertext: b64(&ciphertext), expires_at })
}

/// SHA-256 of a nonce, as stored.
fn token_hash_bytes(nonce: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, nonce).as_ref().to_vec()
}

/// The stored form of an answer, for the store to match and use up.
pub(crate) fn answer_use<'a>(
    custodian: &'a str,
    purpose: ChallengePurpose,
    tender: Option<Uuid>,
    answer: &ChallengeAnswer,
) -> AppResult<ChallengeUse<'a>> {
    let nonce = unb64(&answer.response).map_err(|_| AppError::invalid("response", "must be base64url"))?;
    if nonce.len() != NONCE_LEN {
        return Err(AppError::invalid("response", format!("must be the {NONCE_LEN}-byte nonce")));
    }
    Ok(ChallengeUse {
        id: answer.challenge_id,
        custodian,
        purpose: purpose.as_str(),
        tender: tender.map(|t| t.to_string()).unwrap_or_default(),
        nonce_hash: token_hash_bytes(&nonce),
    })
}

/// The refusal of an answer that does not match a live challenge.
pub(crate) fn bad_proof() -> AppError {
    AppError::new(
        ErrorKind::Forbidden,
        "bad_proof",
        "the answer does not match a live challenge of this custodian for this purpose (unknown, expired, \
         already used, or not opened with the registered key)",
    )
}

/// The custodian itself rotates its release token by answering a `rotate`
/// challenge; the old token stops working. Staff have no way to do this.
pub async fn rotate_token(state: &AppState, custodian: &str, answer: ChallengeAnswer) -> AppResult<RotatedToken> {
    let rec = state.store.get_custodian(custodian).await?.ok_or_else(|| AppError::not_found("custodian"))?;
    let proof = answer_use(&rec.id, ChallengePurpose::Rotate, None, &answer)?;
    let release_token = new_token().map_err(|_| AppError::internal("random generator failed"))?;
    let Some(events) = state.store.rotate_custodian_token(&proof, &token_hash(&release_token)).await? else {
        return Err(bad_proof());
    };
    tracing::info!(custodian = %rec.id, challenge = %answer.challenge_id, "custodian rotated its release token");
    state.after_change(&events);
    Ok(RotatedToken { custodian: rec, release_token })
}

/// All custodians (public: their keys are what bids are sealed to).
pub async fn custodians(state: &AppState) -> AppResult<Vec<CustodianRecord>> {
    Ok(state.store.list_custodians().await?)
}

/// Resolves a tender's custody policy to the registered public keys.
pub async fn resolve_custody(state: &AppState, tender: &Tender) -> AppResult<SealedCustody> {
    let all = state.store.list_custodians().await?;
    let mut custodians = Vec::with_capacity(tender.custody.custodians.len());
    for (i, id) in tender.custody.custodians.iter().enumerate() {
        // The domain caps custodians far below 255; refuse rather than wrap.
        let index = u8::try_from(i + 1).map_err(|_| AppError::invalid("custody.custodians", "too many custodians"))?;
        if id == BIDDER_CUSTODIAN {
            // Each bid fills this slot with its own bidder's decryption key.
            custodians.push(Custodian { index, id: id.clone(), public_key: None });
            continue;
        }
        let rec = all.iter().find(|c| &c.id == id).ok_or_else(|| {
            AppError::invalid(format!("custody.custodians[{i}]"), format!("no custodian '{id}' is registered"))
        })?;
        let public_key = CustodianPublicKey::from_bytes(&rec.public_key).map_err(AppError::internal)?;
        custodians.push(Custodian { index, id: id.clone(), public_key: Some(public_key) });
    }
    Ok(SealedCustody { threshold: tender.custody.threshold, custodians })
}

/// The custody policy bids must be sealed to, fixed at publish.
pub async fn custody(state: &AppState, id: Uuid) -> AppResult<SealedCustody> {
    let t = visible_tender(state, id, None).await?;
    t.tender.custody_keys.ok_or_else(|| AppError::not_found("custody policy"))
}

/// Admits a bidder to a tender with approved registration (officer, admin).
pub async fn admit(state: &AppState, me: &Staff, id: Uuid, bidder: &str) -> AppResult<()> {
    if !matches!(me.role, Role::Admin | Role::Officer) {
        return Err(AppError::forbidden("only an officer or admin admits bidders"));
    }
    visible_tender(state, id, Some(me)).await?;
    if !is_key_id(bidder) || state.store.get_bidder(bidder).await?.is_none() {
        return Err(AppError::invalid("bidder", "no such registered bidder"));
    }
    state.store.admit_bidder(id, bidder).await?;
    Ok(())
}

fn require_admin(staff: &Staff) -> AppResult<()> {
    if staff.role.manages_staff() {
        Ok(())
    } else {
        Err(AppError::forbidden("only an admin can manage staff accounts"))
    }
}

/// Creates a staff account (admin); its token is shown once.
pub async fn create_staff(state: &AppState, me: &Staff, req: NewStaff) -> AppResult<CreatedStaff> {
    require_admin(me)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name", "must be 1 to 200 characters"));
    }
    Text::parse("name", name, 200)?;
    let token = new_token().map_err(|_| AppError::internal("random generator failed"))?;
    let staff =
        Staff { id: Uuid::now_v7(), name: name.to_string(), role: req.role, created_at: state.store.now().await? };
    state.store.insert_staff(&staff, &token_hash(&token)).await?;
    Ok(CreatedStaff { staff, token })
}

/// Staff accounts (admin).
pub async fn staff(state: &AppState, me: &Staff) -> AppResult<Vec<Staff>> {
    require_admin(me)?;
    Ok(state.store.list_staff().await?)
}
