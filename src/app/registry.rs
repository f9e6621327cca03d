//! Registration use cases: bidders (self-service, proven by a signature),
//! custodians and staff accounts (by staff), admissions, and a tender's
//! frozen custody policy.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{AppError, AppResult, ErrorKind};
use super::state::AppState;
use super::tenders::visible_tender;
use super::tokens::{new_token, token_hash};
use crate::domain::tender::{SERVER_CUSTODIAN, SealedCustody};
use crate::domain::text::is_key_id;
use crate::domain::{Lines, Role, Tender, Text};
use crate::seal::{BidderPublicKey, Custodian, CustodianPublicKey, register_message, unb64};
use crate::store::{Bidder, CustodianRecord, Staff};

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
    /// Bearer token for releasing shares; only its hash is kept. Registering
    /// the same custodian again issues a new one.
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

/// Registers (or re-registers) a custodian and issues a new release token.
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
    let bytes = unb64(&req.public_key).map_err(|_| AppError::invalid("public_key", "must be base64url"))?;
    CustodianPublicKey::from_bytes(&bytes).map_err(|e| AppError::invalid("public_key", e.to_string()))?;
    Text::check("name", &req.name, 300, Lines::Single)?;
    let rec = CustodianRecord {
        id: id.to_string(),
        name: req.name.trim().to_string(),
        public_key: bytes,
        created_at: state.store.now().await?,
    };
    let custodian = state.store.upsert_custodian(&rec).await?;
    let release_token = new_token().map_err(|_| AppError::internal("random generator failed"))?;
    state.store.set_custodian_token(&custodian.id, &token_hash(&release_token)).await?;
    Ok(RegisteredCustodian { custodian, release_token })
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
        let rec = all.iter().find(|c| &c.id == id).ok_or_else(|| {
            AppError::invalid(format!("custody.custodians[{i}]"), format!("no custodian '{id}' is registered"))
        })?;
        let public_key = CustodianPublicKey::from_bytes(&rec.public_key).map_err(AppError::internal)?;
        // The domain caps custodians far below 255; refuse rather than wrap.
        let index = u8::try_from(i + 1).map_err(|_| AppError::invalid("custody.custodians", "too many custodians"))?;
        custodians.push(Custodian { index, id: id.clone(), public_key });
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
