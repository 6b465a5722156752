//! `GET /api/v1/accounts/{id}/devices` and `POST /api/v1/accounts/{id}/devices/{device}/revoke`:
//! an account's devices, and revoking one that was lost, replaced or stolen.
//!
//! The signed CRL (`ops_core::CrlBody`) carries revoked serials only, no reason codes: the
//! reason and who revoked are the FI's own record, answered here.

use serde::{Deserialize, Serialize};

/// Why the account holder revokes a device (the body of a revocation request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// The device is lost.
    Lost,
    /// The holder uses another device instead.
    Replaced,
    /// The device was stolen.
    Stolen,
}

/// Why a device's certificate was revoked: the holder's reason, or the FI's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The holder reported the device lost.
    Lost,
    /// The holder replaced the device.
    Replaced,
    /// The holder reported the device stolen.
    Stolen,
    /// Settlement found the device's key signing the same value twice (a fraud case).
    DoubleSpend,
    /// Recorded by other means (e.g. an operator's database entry).
    Other,
}

impl From<RevokeReason> for RevocationReason {
    fn from(r: RevokeReason) -> Self {
        match r {
            RevokeReason::Lost => Self::Lost,
            RevokeReason::Replaced => Self::Replaced,
            RevokeReason::Stolen => Self::Stolen,
        }
    }
}

impl RevocationReason {
    /// Whether the device left its holder's control (lost, replaced, stolen): such a device
    /// can no longer fund, deposit or defund; payments it signed are still settled for
    /// their payees within the CRL window.
    pub fn by_holder(self) -> bool {
        matches!(self, Self::Lost | Self::Replaced | Self::Stolen)
    }
}

/// The body of `POST /api/v1/accounts/{id}/devices/{device}/revoke`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeDeviceRequest {
    /// Why.
    pub reason: RevokeReason,
}

/// Who revoked a device: `{"by": "device", "device": "<cert id>"}`, `{"by":
/// "account_token"}`, `{"by": "admin"}` or `{"by": "settlement"}` (a fraud case).
///
/// Read and written through a flat record ([`RevokedByWire`]) rather than serde's
/// internally tagged enums, which buffer every value through a generic intermediate form
/// (several KB of code in the wallet's bundle for this one type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RevokedByWire", into = "RevokedByWire")]
pub enum RevokedBy {
    /// A passkey session of this device of the account (possibly the revoked one itself).
    Device {
        /// Its certificate id, hex.
        device: String,
    },
    /// The bearer of the account token (the wallet's recovery code).
    AccountToken,
    /// The operator, with the admin token.
    Admin,
    /// The FI's settlement, when it opened a fraud case against the device.
    Settlement,
}

/// Who revoked, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Revoker {
    Device,
    AccountToken,
    Admin,
    Settlement,
}

/// [`RevokedBy`] as on the wire: `by`, and `device` for a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RevokedByWire {
    by: Revoker,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device: Option<String>,
}

impl TryFrom<RevokedByWire> for RevokedBy {
    type Error = &'static str;

    fn try_from(wire: RevokedByWire) -> Result<Self, Self::Error> {
        Ok(match (wire.by, wire.device) {
            (Revoker::Device, Some(device)) => Self::Device { device },
            (Revoker::Device, None) => return Err("`by: device` needs the `device` field"),
            (_, Some(_)) => return Err("only `by: device` has a `device` field"),
            (Revoker::AccountToken, None) => Self::AccountToken,
            (Revoker::Admin, None) => Self::Admin,
            (Revoker::Settlement, None) => Self::Settlement,
        })
    }
}

impl From<RevokedBy> for RevokedByWire {
    fn from(by: RevokedBy) -> Self {
        let (by, device) = match by {
            RevokedBy::Device { device } => (Revoker::Device, Some(device)),
            RevokedBy::AccountToken => (Revoker::AccountToken, None),
            RevokedBy::Admin => (Revoker::Admin, None),
            RevokedBy::Settlement => (Revoker::Settlement, None),
        };
        Self { by, device }
    }
}

/// When, why and by whom a device was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRevocation {
    /// Why.
    pub reason: RevocationReason,
    /// When (Unix seconds).
    pub revoked_at: u64,
    /// Who.
    pub revoked_by: RevokedBy,
}

/// How a device signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A WebAuthn passkey (`POST /api/v1/registrations`).
    Passkey,
    /// A software key certified by the operator (`POST /api/v1/devices`, e.g. a POS).
    SoftwareKey,
}

/// One device of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Its certificate id, hex (the id the other endpoints take).
    pub cert_id: String,
    /// Its certificate serial (the number the CRL lists).
    pub serial: u64,
    /// Passkey or software key.
    pub kind: DeviceKind,
    /// The name certified in its certificate (admin registrations only).
    #[serde(default)]
    pub name: Option<String>,
    /// The name the holder gave it at registration, never certified.
    #[serde(default)]
    pub self_declared_name: Option<String>,
    /// When it was registered (Unix seconds).
    pub registered: u64,
    /// The passkey's backup eligibility (WebAuthn BE flag) at registration; `null` when
    /// unknown (software keys, or registered before this was recorded).
    #[serde(default)]
    pub backup_eligible: Option<bool>,
    /// Whether the passkey was backed up / synced (WebAuthn BS flag) at registration;
    /// `null` when unknown.
    #[serde(default)]
    pub synced: Option<bool>,
    /// Whether this is the device of the passkey session that asked.
    #[serde(default)]
    pub current: bool,
    /// Whether its certificate is revoked.
    pub revoked: bool,
    /// When, why and by whom, if revoked.
    #[serde(default)]
    pub revocation: Option<DeviceRevocation>,
}

/// The answer of `GET /api/v1/accounts/{id}/devices`: every device of the account, by
/// serial (registration order), revoked ones included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    /// The account.
    pub account_id: i64,
    /// Its devices.
    pub devices: Vec<DeviceInfo>,
}

/// The answer of a revocation (`200`, also when the device was revoked before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeDeviceResponse {
    /// The account.
    pub account_id: i64,
    /// The device, with its revocation record (the first one, if it was revoked before).
    pub device: DeviceInfo,
    /// Whether the device was revoked before this request (nothing changed).
    pub already_revoked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_by_keeps_its_flat_wire_shape() {
        for (by, json) in [
            (
                RevokedBy::Device {
                    device: "3c".into(),
                },
                r#"{"by":"device","device":"3c"}"#,
            ),
            (RevokedBy::AccountToken, r#"{"by":"account_token"}"#),
            (RevokedBy::Admin, r#"{"by":"admin"}"#),
            (RevokedBy::Settlement, r#"{"by":"settlement"}"#),
        ] {
            assert_eq!(serde_json::to_string(&by).unwrap(), json);
            assert_eq!(serde_json::from_str::<RevokedBy>(json).unwrap(), by);
        }
        for bad in [
            r#"{"by":"device"}"#,
            r#"{"by":"admin","device":"3c"}"#,
            r#"{"by":"x"}"#,
        ] {
            assert!(serde_json::from_str::<RevokedBy>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_revocation_request_names_a_holder_reason_only() {
        let ok: Result<RevokeDeviceRequest, _> =
            serde_json::from_value(serde_json::json!({"reason": "replaced"}));
        assert_eq!(ok.ok().map(|r| r.reason), Some(RevokeReason::Replaced));
        for bad in [
            serde_json::json!({"reason": "double_spend"}),
            serde_json::json!({"reason": "Lost"}),
            serde_json::json!({}),
            serde_json::json!({"reason": "lost", "extra": 1}),
        ] {
            assert!(serde_json::from_value::<RevokeDeviceRequest>(bad).is_err());
        }
        assert!(RevocationReason::from(RevokeReason::Stolen).by_holder());
        assert!(!RevocationReason::DoubleSpend.by_holder());
    }

    #[test]
    fn a_revoke_answer_has_the_documented_shape() {
        let v = serde_json::json!({"account_id": 1, "already_revoked": false, "device": {
            "cert_id": "ab", "serial": 1000, "kind": "passkey", "name": null,
            "self_declared_name": "old phone", "registered": 1, "backup_eligible": false,
            "synced": false, "current": false, "revoked": true, "revocation": {
                "reason": "lost", "revoked_at": 2,
                "revoked_by": {"by": "device", "device": "cd"}}}});
        let r: Result<RevokeDeviceResponse, _> = serde_json::from_value(v.clone());
        let r = r.ok();
        let revocation = r.as_ref().and_then(|r| r.device.revocation.clone());
        assert_eq!(
            revocation.map(|x| x.revoked_by),
            Some(RevokedBy::Device {
                device: "cd".into()
            })
        );
        assert_eq!(r.map(|r| serde_json::to_value(r).ok()), Some(Some(v)));
        let by: Result<RevokedBy, _> = serde_json::from_value(serde_json::json!({"by": "admin"}));
        assert_eq!(by.ok(), Some(RevokedBy::Admin));
    }
}
