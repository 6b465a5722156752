//! Issue 11: a lost or replaced device is revoked from the new one. Against the real
//! service on SQLite and on PostgreSQL (one list, both engines): the account's device list,
//! the holder's revocation (CRL, sessions, funding, deposits, defunds), idempotence,
//! concurrent revocations, and what another account can and cannot do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::suite;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{STARTING, Server, join_all, payment};
use ops_api::paths::{account_devices, revoke_device};
use ops_api::{
    DeviceKind, DeviceList, ErrorBody, RevocationReason, RevokeDeviceResponse, RevokedBy,
};
use ops_core::testing::{Device as Wallet, DeviceSigner, SoftAuthenticator, World};
use ops_core::{Certificate, Digest32, Issuance, Payment, SpendBody};
use serde_json::{Value, json};

/// A passkey wallet registered for `account` with its account token (the recovery code):
/// the wallet, its credential id.
async fn passkey(s: &Server, account: i64, token: &str, seed: u64, name: &str) -> (Wallet, String) {
    let origin = format!("http://localhost:{}", s.port);
    let (status, c) = s
        .post_as(
            token,
            "/api/v1/registrations/challenge",
            json!({"account_id": account}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let challenge = URL_SAFE_NO_PAD
        .decode(c["challenge"].as_str().unwrap())
        .unwrap();
    let (cdj, att) = suite::soft_registration(seed, "localhost", &origin, &challenge);
    let (status, reg) = s
        .post(
            "/api/v1/registrations",
            json!({
                "challenge_id": c["challenge_id"],
                "client_data_json": URL_SAFE_NO_PAD.encode(&cdj),
                "attestation_object": URL_SAFE_NO_PAD.encode(&att),
                "name": name,
            }),
        )
        .await;
    assert_eq!(status, 201, "{reg}");
    let cert =
        Certificate::from_bytes(&STANDARD.decode(reg["cert"].as_str().unwrap()).unwrap()).unwrap();
    let wallet = Wallet {
        cert,
        signer: DeviceSigner::WebAuthn(SoftAuthenticator::new(seed, "localhost", &origin)),
    };
    (wallet, reg["credential_id"].as_str().unwrap().to_owned())
}

/// Funds a passkey wallet in a passkey session: (status, body).
async fn fund(s: &Server, session: &str, wallet: &Wallet, amount: u64) -> (u16, Value) {
    s.post_as(
        session,
        ops_api::paths::FUND,
        json!({"device": wallet.id().to_string(), "amount": amount}),
    )
    .await
}

fn notes(v: &Value) -> Vec<Issuance> {
    v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| Issuance::from_bytes(&STANDARD.decode(n.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

/// A one-spend payment of `[from, to)` of `note` by `wallet` to `payee`.
fn pay(
    wallet: &mut Wallet,
    fi: &Certificate,
    note: &Issuance,
    (from, to): (u64, u64),
    payee: ops_core::CertId,
    tag: u8,
) -> Payment {
    let body = SpendBody {
        input: note.note_id(),
        from,
        to,
        payee,
        request: Digest32([tag; 32]),
        time: common::now(),
    };
    let spend = World::spend_by(wallet, body);
    payment(vec![fi.clone(), wallet.cert.clone()], note, vec![spend])
}

async fn deposit_as(
    s: &Server,
    token: &str,
    p: &Payment,
    depositor: ops_core::CertId,
) -> (u16, Value) {
    s.post_as(
        token,
        ops_api::paths::DEPOSITS,
        json!({"payment": STANDARD.encode(p.to_bytes()), "depositor": depositor.to_string()}),
    )
    .await
}

async fn list(s: &Server, token: &str, account: i64) -> DeviceList {
    let (status, v) = s.get_as(token, &account_devices(account)).await;
    assert_eq!(status, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

async fn revoke(s: &Server, token: &str, account: i64, device: &str, reason: &str) -> (u16, Value) {
    s.post_as(
        token,
        &revoke_device(account, device),
        json!({"reason": reason}),
    )
    .await
}

#[track_caller]
fn assert_error(got: (u16, Value), status: u16, code: &str) {
    let body: Result<ErrorBody, _> = serde_json::from_value(got.1.clone());
    assert_eq!(
        (got.0, body.map(|b| b.error.code).ok().as_deref()),
        (status, Some(code)),
        "{}",
        got.1
    );
}

async fn crl(s: &Server) -> ops_api::CrlResponse {
    let (status, v) = s.get(ops_api::paths::CRL).await;
    assert_eq!(status, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

async fn assert_audit_clean(s: &Server) {
    let (status, report) = s.admin_get("/api/v1/audit").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], true, "{report:#}");
    s.assert_conserved(STARTING).await;
}

/// The lost-device path: the recovery code registers a new phone, the new phone lists the
/// devices and revokes the old one; the old one's serial is in the next CRL, its session,
/// funding, deposits and defunds are refused, a payment it made before is still settled.
async fn lost_device_is_revoked_from_the_new_one(s: &Server) {
    let (alice, recovery) = s.sign_up_with_token("alice").await;
    let (shop, _) = s.sign_up_with_token("shop").await;
    let pos = s.device(shop, 301).await;
    let fi = s.fi_cert().await;
    let (mut old, old_credential) = passkey(s, alice, &recovery, 31, "old phone").await;
    let old_session = suite::passkey_login(s, &mut old, &old_credential).await;
    let (status, funded) = fund(s, &old_session, &old, 1_000).await;
    assert_eq!(status, 201, "{funded}");
    let old_notes = notes(&funded);
    // Paid offline before it was lost: the shop deposits later.
    let to_shop = pay(&mut old, &fi, &old_notes[0], (0, 300), pos.id(), 1);
    let defund = pay(&mut old, &fi, &old_notes[0], (300, 400), fi.id(), 2);

    // The phone is lost. The new one is registered with the recovery code.
    let (mut new, new_credential) = passkey(s, alice, &recovery, 32, "new phone").await;
    let new_session = suite::passkey_login(s, &mut new, &new_credential).await;
    let (status, funded) = fund(s, &new_session, &new, 500).await;
    assert_eq!(status, 201, "{funded}");
    let new_notes = notes(&funded);
    // The new phone pays the old one twice; one payment is deposited before the loss.
    let to_old_1 = pay(&mut new, &fi, &new_notes[0], (0, 100), old.id(), 3);
    let to_old_2 = pay(&mut new, &fi, &new_notes[0], (100, 200), old.id(), 4);
    assert_eq!(deposit_as(s, &recovery, &to_old_1, old.id()).await.0, 200);

    // The list, with the recovery code: both phones, neither is the caller.
    let listed = list(s, &recovery, alice).await;
    assert_eq!(listed.account_id, alice);
    let ids: Vec<&str> = listed.devices.iter().map(|d| d.cert_id.as_str()).collect();
    assert_eq!(ids, [old.id().to_string(), new.id().to_string()]);
    for (d, name) in listed.devices.iter().zip(["old phone", "new phone"]) {
        assert_eq!(d.kind, DeviceKind::Passkey);
        assert_eq!(d.self_declared_name.as_deref(), Some(name));
        assert_eq!(d.name, None, "self-service names are never certified");
        assert_eq!((d.backup_eligible, d.synced), (Some(false), Some(false)));
        assert!(!d.current && !d.revoked && d.revocation.is_none(), "{d:?}");
        assert!(d.registered + 60 > common::now());
    }
    assert_eq!(listed.devices[0].serial, old.cert.body.serial);
    // With the new phone's session: it is the caller.
    let listed = list(s, &new_session, alice).await;
    let current: Vec<bool> = listed.devices.iter().map(|d| d.current).collect();
    assert_eq!(current, [false, true]);

    // The new phone revokes the old one.
    let before = crl(s).await;
    assert!(!before.revoked.contains(&old.cert.body.serial));
    let (status, v) = revoke(s, &new_session, alice, &old.id().to_string(), "lost").await;
    assert_eq!(status, 200, "{v}");
    let first: RevokeDeviceResponse = serde_json::from_value(v).unwrap();
    assert!(!first.already_revoked);
    assert_eq!(first.device.cert_id, old.id().to_string());
    assert!(first.device.revoked);
    let record = first.device.revocation.clone().unwrap();
    assert_eq!(record.reason, RevocationReason::Lost);
    assert_eq!(
        record.revoked_by,
        RevokedBy::Device {
            device: new.id().to_string()
        }
    );
    assert!(record.revoked_at + 60 > common::now());

    // The next CRL lists the serial, signed, one version later.
    let after = crl(s).await;
    assert_eq!(after.version, before.version + 1);
    assert!(after.revoked.contains(&old.cert.body.serial));
    let signed = ops_core::Crl::from_bytes(&STANDARD.decode(&after.crl).unwrap()).unwrap();
    assert!(signed.body.revoked.contains(&old.cert.body.serial));

    // The old phone's session opens nothing: the session, the account, the list, a
    // revocation of the new phone.
    let r = s
        .http
        .get(s.url("/api/v1/session"))
        .bearer_auth(&old_session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_error(
        s.get_as(&old_session, &format!("/api/v1/accounts/{alice}"))
            .await,
        403,
        "device_revoked",
    );
    assert_error(
        s.get_as(&old_session, &account_devices(alice)).await,
        403,
        "device_revoked",
    );
    assert_error(
        revoke(s, &old_session, alice, &new.id().to_string(), "stolen").await,
        403,
        "device_revoked",
    );
    let listed = list(s, &recovery, alice).await;
    assert!(!listed.devices[1].revoked, "the new phone is untouched");
    // No funding of the old phone, with any credential.
    let balance = s.balance(alice).await;
    assert_error(fund(s, &old_session, &old, 10).await, 403, "device_revoked");
    assert_error(fund(s, &new_session, &old, 10).await, 403, "device_revoked");
    // No deposits for it, whatever the credential, and no defund of its notes.
    assert_error(
        deposit_as(s, &recovery, &to_old_2, old.id()).await,
        403,
        "device_revoked",
    );
    assert_error(
        deposit_as(s, &old_session, &to_old_2, old.id()).await,
        403,
        "device_revoked",
    );
    assert_error(
        deposit_as(s, &s.admin_token, &to_old_2, old.id()).await,
        403,
        "device_revoked",
    );
    let (status, v) = s
        .post(
            ops_api::paths::DEFUND,
            json!({"payment": STANDARD.encode(defund.to_bytes())}),
        )
        .await;
    assert_error((status, v), 403, "device_revoked");
    assert_eq!(s.balance(alice).await, balance, "nothing moved");
    // What it paid before the loss is still settled for the shop (guaranteed settlement).
    let (status, v) = s.deposit(&to_shop, pos.id()).await;
    assert_eq!((status, v["credited"].as_i64()), (200, Some(300)), "{v}");

    // Again, from the recovery code and with another reason: the first record, nothing new.
    let (status, v) = revoke(s, &recovery, alice, &old.id().to_string(), "stolen").await;
    assert_eq!(status, 200, "{v}");
    let again: RevokeDeviceResponse = serde_json::from_value(v).unwrap();
    assert!(again.already_revoked);
    assert_eq!(again.device.revocation, Some(record.clone()));
    let still = crl(s).await;
    assert_eq!(still.version, after.version);
    assert_eq!(still.revoked, after.revoked);
    let listed = list(s, &recovery, alice).await;
    assert_eq!(listed.devices[0].revocation, Some(record));

    // A device may revoke itself; then its session is refused too.
    let (status, v) = revoke(s, &new_session, alice, &new.id().to_string(), "replaced").await;
    assert_eq!(status, 200, "{v}");
    let own: RevokeDeviceResponse = serde_json::from_value(v).unwrap();
    assert!(own.device.current && own.device.revoked);
    assert_eq!(
        own.device.revocation.map(|r| (r.reason, r.revoked_by)),
        Some((
            RevocationReason::Replaced,
            RevokedBy::Device {
                device: new.id().to_string()
            }
        ))
    );
    assert_error(
        s.get_as(&new_session, &account_devices(alice)).await,
        403,
        "device_revoked",
    );
    assert_eq!(crl(s).await.version, after.version + 1);
    assert_audit_clean(s).await;
}

/// Another account's token or session neither lists nor revokes; an id of another
/// account's device under one's own account is not found; the admin may do both.
async fn strangers_cannot_list_or_revoke(s: &Server) {
    let (alice, alice_token) = s.sign_up_with_token("alice").await;
    let (mallory, mallory_token) = s.sign_up_with_token("mallory").await;
    let alice_pos = s.device(alice, 311).await;
    let alice_phone = alice_pos.id().to_string();
    let (mut phone, credential) = passkey(s, mallory, &mallory_token, 33, "m").await;
    let mallory_session = suite::passkey_login(s, &mut phone, &credential).await;
    let version = crl(s).await.version;

    // Listing another account: 404 as for none; no token: 401.
    for token in [&mallory_token, &mallory_session, &"00".repeat(32)] {
        assert_error(
            s.get_as(token, &account_devices(alice)).await,
            404,
            "no_such_account",
        );
    }
    assert_error(s.get(&account_devices(alice)).await, 401, "auth_required");
    // Revoking in another account.
    for token in [&mallory_token, &mallory_session] {
        assert_error(
            revoke(s, token, alice, &alice_phone, "stolen").await,
            404,
            "no_such_account",
        );
    }
    assert_error(
        s.post(
            &revoke_device(alice, &alice_phone),
            json!({"reason": "lost"}),
        )
        .await,
        401,
        "auth_required",
    );
    // Attack: another account's device under one's own account id.
    for token in [&mallory_token, &mallory_session] {
        let (status, v) = revoke(s, token, mallory, &alice_phone, "stolen").await;
        assert_error((status, v.clone()), 404, "no_such_device");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&account_devices(mallory)),
            "{v}"
        );
    }
    // Unknown device: 404 with a clear body; malformed id and reason: 400.
    let (status, v) = revoke(s, &mallory_token, mallory, &"ab".repeat(16), "lost").await;
    assert_error((status, v.clone()), 404, "no_such_device");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&"ab".repeat(16))
    );
    assert_error(
        revoke(s, &mallory_token, mallory, "not-hex", "lost").await,
        400,
        "malformed_id",
    );
    for reason in ["double_spend", "Lost", ""] {
        assert_error(
            revoke(s, &mallory_token, mallory, &phone.id().to_string(), reason).await,
            400,
            "malformed_json",
        );
    }
    assert_eq!(crl(s).await.version, version, "nothing was revoked");
    let listed = list(s, &alice_token, alice).await;
    assert_eq!(listed.devices.len(), 1);
    assert_eq!(listed.devices[0].kind, DeviceKind::SoftwareKey);
    assert!(!listed.devices[0].revoked && !listed.devices[0].current);
    assert_eq!(
        (
            listed.devices[0].backup_eligible,
            listed.devices[0].self_declared_name.clone()
        ),
        (None, None)
    );

    // The operator lists and revokes; the record names the admin token.
    let listed = list(s, &s.admin_token, alice).await;
    assert_eq!(listed.devices.len(), 1);
    assert_error(
        s.admin_get(&account_devices(999_999)).await,
        404,
        "no_such_account",
    );
    let (status, v) = revoke(s, &s.admin_token, alice, &alice_phone, "stolen").await;
    assert_eq!(status, 200, "{v}");
    let r: RevokeDeviceResponse = serde_json::from_value(v).unwrap();
    assert_eq!(
        r.device.revocation.map(|r| (r.reason, r.revoked_by)),
        Some((RevocationReason::Stolen, RevokedBy::Admin))
    );
    // The account token is recorded as such.
    let (status, v) = revoke(s, &mallory_token, mallory, &phone.id().to_string(), "lost").await;
    assert_eq!(status, 200, "{v}");
    let r: RevokeDeviceResponse = serde_json::from_value(v).unwrap();
    assert_eq!(
        r.device.revocation.map(|r| r.revoked_by),
        Some(RevokedBy::AccountToken)
    );
    assert_eq!(crl(s).await.version, version + 2);
}

/// Attack: the same device revoked by 16 requests at once (token, admin, a session, other
/// reasons): one wins, every answer carries the same record, one CRL entry, one version.
async fn concurrent_revocations_make_one_crl_entry(s: &Server) {
    let (alice, token) = s.sign_up_with_token("alice").await;
    let target = s.device(alice, 321).await;
    let (mut phone, credential) = passkey(s, alice, &token, 34, "p").await;
    let session = suite::passkey_login(s, &mut phone, &credential).await;
    let version = crl(s).await.version;
    let id = target.id().to_string();
    let requests: Vec<_> = (0..16)
        .map(|i| {
            let credential = match i % 3 {
                0 => token.clone(),
                1 => session.clone(),
                _ => s.admin_token.clone(),
            };
            let reason = ["lost", "replaced", "stolen"][i % 3];
            let id = id.clone();
            async move { revoke(s, &credential, alice, &id, reason).await }
        })
        .collect();
    let answers: Vec<RevokeDeviceResponse> = join_all(requests)
        .await
        .into_iter()
        .map(|(status, v)| {
            assert_eq!(status, 200, "{v}");
            serde_json::from_value(v).unwrap()
        })
        .collect();
    let fresh = answers.iter().filter(|a| !a.already_revoked).count();
    assert_eq!(fresh, 1, "exactly one request revoked");
    let record = answers[0].device.revocation.clone().unwrap();
    assert!(
        answers
            .iter()
            .all(|a| a.device.revocation.as_ref() == Some(&record))
    );
    let after = crl(s).await;
    assert_eq!(after.version, version + 1);
    let listed = after
        .revoked
        .iter()
        .filter(|serial| **serial == target.cert.body.serial)
        .count();
    assert_eq!(listed, 1);
    let store = s.store().await;
    let entries: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM crl_entries WHERE cert_id = $1")
            .bind(&id)
            .fetch_one(store.pool())
            .await
            .unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(entries, 1);
}

common::on_both_engines!(
    devices_on_postgres:
    lost_device_is_revoked_from_the_new_one,
    strangers_cannot_list_or_revoke,
    concurrent_revocations_make_one_crl_entry,
);
