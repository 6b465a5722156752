//! An account's devices, and the holder's revocation of a lost, replaced or stolen one
//! (issue 11): `GET /api/v1/accounts/{id}/devices` and `POST
//! /api/v1/accounts/{id}/devices/{device}/revoke`. Both need what reading the account needs
//! (the account token, a passkey session of one of its non-revoked devices, or the admin
//! token); both are limited per client address like account reads, and their failed
//! authentications count against the address like those of fund and deposits.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use ops_api::{
    DeviceInfo, DeviceKind, DeviceList, DeviceRevocation, RevocationReason, RevokeDeviceRequest,
    RevokeDeviceResponse, RevokeReason, RevokedBy,
};
use ops_core::Certificate;

use super::accounts::parse_account_id;
use super::auth::{Caller, authorize_account};
use super::{ApiError, AppState, ClientAddr, now, parse_hex, parse_json};
use crate::store::{ListedDevice, Revoked, StoredRevocation};

/// How many times a revocation is retried after losing a race (PostgreSQL deadlock,
/// SQLite busy).
const MAX_ATTEMPTS: usize = 8;

/// `GET /api/v1/accounts/{id}/devices`: the account's devices, revoked ones included,
/// marking the caller's own (for a passkey session).
pub async fn list(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<DeviceList>, ApiError> {
    state.settings.abuse.read(&client)?;
    let id = parse_account_id(&id)?;
    let caller = state
        .settings
        .abuse
        .authenticated(
            &client,
            authorize_account(&state, &headers, id, "listing an account's devices"),
        )
        .await?;
    let devices = state.store.account_devices(id).await?;
    // Only the admin token reaches here for an account that does not exist.
    if devices.is_empty() && state.store.account(id).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_account",
            "no account with this id; sign up with POST /api/v1/accounts",
        ));
    }
    Ok(Json(DeviceList {
        account_id: id,
        devices: devices.iter().map(|d| device_info(d, &caller)).collect(),
    }))
}

/// `POST /api/v1/accounts/{id}/devices/{device}/revoke` with `{"reason": "lost" |
/// "replaced" | "stolen"}`: revokes the device's certificate at once (the next CRL lists
/// its serial; its sessions, funding, deposits and defunds stop). Idempotent: a device
/// revoked before answers its first record with `already_revoked: true`.
pub async fn revoke(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path((id, device)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<RevokeDeviceResponse>, ApiError> {
    state.settings.abuse.read(&client)?;
    let id = parse_account_id(&id)?;
    let caller = state
        .settings
        .abuse
        .authenticated(
            &client,
            authorize_account(&state, &headers, id, "revoking a device"),
        )
        .await?;
    let cert_id = ops_core::CertId(parse_hex::<16>("device", &device)?);
    let req: RevokeDeviceRequest = parse_json(&body)?;
    let reason = stored_reason(req.reason);
    let by = stored_by(&caller);
    let mut attempt = 0;
    let revoked = loop {
        attempt += 1;
        match state
            .store
            .revoke_device(id, &cert_id, reason, &by, now())
            .await
        {
            Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => continue,
            other => break other?,
        }
    };
    let (device, already_revoked) = match revoked {
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_such_device",
                format!(
                    "account {id} has no device {cert_id}; list its devices with GET /api/v1/accounts/{id}/devices"
                ),
            ));
        }
        Some(Revoked::Now(device)) => {
            // Deposits and defunds check the revocations in memory: reload them now.
            state.settler.revocations_changed();
            tracing::info!(
                "device {cert_id} (serial {}) of account {id} revoked ({reason}) by {by}",
                device.serial
            );
            (device, false)
        }
        Some(Revoked::Before(device)) => (device, true),
    };
    Ok(Json(RevokeDeviceResponse {
        account_id: id,
        device: device_info(&device, &caller),
        already_revoked,
    }))
}

/// How a holder's reason is stored (`crl_entries.reason`, beside settlement's `double
/// spend`).
fn stored_reason(reason: RevokeReason) -> &'static str {
    match reason {
        RevokeReason::Lost => "lost",
        RevokeReason::Replaced => "replaced",
        RevokeReason::Stolen => "stolen",
    }
}

/// How the caller is stored as the revoker (`crl_entries.revoked_by`).
fn stored_by(caller: &Caller) -> String {
    match caller {
        Caller::Admin => "admin".into(),
        Caller::AccountToken => "account_token".into(),
        Caller::Session { device } => format!("device:{device}"),
    }
}

/// A stored revocation as the API answers it. A reason or revoker not written by this
/// service (e.g. by hand in the database) is `other` / the operator's.
fn revocation(r: &StoredRevocation) -> DeviceRevocation {
    let reason = match r.reason.as_str() {
        "lost" => RevocationReason::Lost,
        "replaced" => RevocationReason::Replaced,
        "stolen" => RevocationReason::Stolen,
        "double spend" => RevocationReason::DoubleSpend,
        _ => RevocationReason::Other,
    };
    let revoked_by = match r.revoked_by.as_str() {
        "account_token" => RevokedBy::AccountToken,
        "settlement" => RevokedBy::Settlement,
        by => match by.strip_prefix("device:") {
            Some(device) => RevokedBy::Device {
                device: device.to_owned(),
            },
            None => RevokedBy::Admin,
        },
    };
    DeviceRevocation {
        reason,
        revoked_at: u64::try_from(r.revoked_at).unwrap_or(0),
        revoked_by,
    }
}

/// A stored device as the API answers it, for `caller`.
fn device_info(d: &ListedDevice, caller: &Caller) -> DeviceInfo {
    let name = match Certificate::from_bytes(&d.cert) {
        Ok(cert) => cert.body.name,
        Err(e) => {
            tracing::error!(
                "device {}: stored certificate does not decode: {e}",
                d.cert_id
            );
            None
        }
    };
    DeviceInfo {
        cert_id: d.cert_id.to_string(),
        serial: u64::try_from(d.serial).unwrap_or(0),
        kind: if d.passkey {
            DeviceKind::Passkey
        } else {
            DeviceKind::SoftwareKey
        },
        name,
        self_declared_name: d.label.clone(),
        registered: u64::try_from(d.created).unwrap_or(0),
        backup_eligible: d.backup.map(|b| b.eligible),
        synced: d.backup.map(|b| b.backed_up),
        current: matches!(caller, Caller::Session { device } if *device == d.cert_id),
        revoked: d.revoked,
        revocation: d.revocation.as_ref().map(revocation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_revocations_read_back() {
        let r = |reason: &str, by: &str| {
            revocation(&StoredRevocation {
                reason: reason.into(),
                revoked_at: 5,
                revoked_by: by.into(),
            })
        };
        assert_eq!(
            r("double spend", "settlement"),
            DeviceRevocation {
                reason: RevocationReason::DoubleSpend,
                revoked_at: 5,
                revoked_by: RevokedBy::Settlement
            }
        );
        let by_device = r(
            stored_reason(RevokeReason::Lost),
            &stored_by(&Caller::Session {
                device: ops_core::CertId([0xab; 16]),
            }),
        );
        assert_eq!(by_device.reason, RevocationReason::Lost);
        assert_eq!(
            by_device.revoked_by,
            RevokedBy::Device {
                device: "ab".repeat(16)
            }
        );
        assert_eq!(
            r("stolen", &stored_by(&Caller::AccountToken)).revoked_by,
            RevokedBy::AccountToken
        );
        assert_eq!(r("replaced", "admin").revoked_by, RevokedBy::Admin);
        assert_eq!(r("typed by hand", "dba").reason, RevocationReason::Other);
        assert_eq!(r("typed by hand", "dba").revoked_by, RevokedBy::Admin);
    }
}
