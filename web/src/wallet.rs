//! The wallet's flows in the browser: the engine (`ops-wallet-engine`) over the IndexedDB
//! store, and the commands it asks for carried out with the browser's authenticator and
//! the FI's API. No screen logic here; the components call these and show the results.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ops_browser::wallet_store::IdbWalletStore;
use ops_browser::webauthn::{CreateRequest, GetRequest, create_credential, get_assertion};
use ops_wallet_engine::review::RequestReview;
use ops_wallet_engine::saga::{PayState, ReceiveState, Shown};
use ops_wallet_engine::types::{Identity, Settings, TrustBundle};
use ops_wallet_engine::{Assertion, Command, Config, Engine, Event, HomeSummary, SagaId};
use ops_wallet_engine::{SagaRecord, SagaState};

use crate::fi::{self, FiError};
use crate::session::{self, FiSession};

/// Seconds since the Unix epoch, from the browser's clock.
pub fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b)
        .map_err(|e| format!("this browser gives no random numbers ({e}); use another browser"))?;
    Ok(b)
}

/// The wallet of this browser profile.
#[derive(Debug)]
pub struct Wallet {
    store: IdbWalletStore,
    recovered: Vec<String>,
}

impl Wallet {
    /// Opens the wallet's database and finishes whatever a reload interrupted.
    pub async fn open() -> Result<Self, String> {
        let store = IdbWalletStore::open_default()
            .await
            .map_err(|e| format!("the wallet's storage cannot be opened: {e}"))?;
        let mut wallet = Self {
            store,
            recovered: Vec::new(),
        };
        wallet.recovered = wallet.recover().await?;
        Ok(wallet)
    }

    fn engine(&self) -> Engine<'_, IdbWalletStore> {
        Engine::new(&self.store, Config::default())
    }

    /// Start-up recovery: every unfinished flow continues (a load posts again with the
    /// same key, so it never funds twice).
    async fn recover(&self) -> Result<Vec<String>, String> {
        let report = self
            .engine()
            .recover(now())
            .await
            .map_err(|e| e.to_string())?;
        // Posts resume now; a payment waiting for approval or to be shown again waits
        // for the Pay screen (no authenticator prompt at start-up).
        let commands: Vec<Command> = report
            .entries
            .iter()
            .cloned()
            .flat_map(|e| e.commands)
            .filter(|c| matches!(c, Command::Post { .. }))
            .collect();
        if !commands.is_empty() && session::load().is_some() {
            // Best effort while offline: the flows stay persisted and resume next time.
            let _ = self.run(commands).await;
        }
        Ok(report.sentences(&crate::amounts::format))
    }

    /// Whether this wallet has a certified device.
    pub async fn onboarded(&self) -> bool {
        self.engine()
            .snapshot()
            .await
            .is_ok_and(|s| s.device.is_some())
    }

    /// What the home screen shows.
    pub async fn summary(&self) -> Result<HomeSummary, String> {
        self.engine()
            .summary(now())
            .await
            .map_err(|e| e.to_string())
    }

    /// Online onboarding at the demo FI that served the app: a new account, then this
    /// device registered on it ([`Self::join`]). Returns what the bank decided, in words.
    pub async fn onboard(&self, name: &str) -> Result<String, String> {
        let err = |e: FiError| e.to_string();
        let account: ops_api::AccountCreated = fi::post(
            ops_api::paths::ACCOUNTS,
            &ops_api::SignUpRequest {
                name: Some(name.to_owned()),
            },
            None,
        )
        .await
        .map_err(err)?;
        self.join(account.id, &account.token, name).await
    }

    /// Registers this device on account `account_id` with its recovery code (the
    /// account token): a passkey on this device's authenticator, the device certificate
    /// and trust bundle stored, a passkey session opened, the current CRL kept. This is
    /// also how a new phone joins an existing account. Returns what the bank decided about
    /// the passkey, in words.
    pub async fn join(
        &self,
        account_id: i64,
        account_token: &str,
        name: &str,
    ) -> Result<String, String> {
        let err = |e: FiError| e.to_string();
        let account_token = account_token.trim().to_owned();
        let challenge: ops_api::RegistrationChallenge = fi::post(
            ops_api::paths::REGISTRATION_CHALLENGE,
            &ops_api::RegistrationChallengeRequest { account_id },
            Some(&account_token),
        )
        .await
        .map_err(err)?;
        let rp_id = challenge.rp_id.clone();
        let bytes = URL_SAFE_NO_PAD
            .decode(&challenge.challenge)
            .map_err(|_| "the bank's challenge is not readable")?;
        let user_id = account_id.to_be_bytes();
        let credential = create_credential(&CreateRequest {
            rp_id: &rp_id,
            rp_name: "OPS demo bank",
            user_id: &user_id,
            user_name: name,
            user_display_name: name,
            challenge: &bytes,
            require_user_verification: challenge.requires_user_verification(),
            exclude_credentials: &[],
            timeout_ms: 120_000,
        })
        .await
        .map_err(|e| e.to_string())?;
        let registered: ops_api::Registered = fi::post(
            ops_api::paths::REGISTRATIONS,
            &ops_api::RegistrationRequest {
                challenge_id: challenge.challenge_id,
                client_data_json: URL_SAFE_NO_PAD.encode(&credential.client_data_json),
                attestation_object: URL_SAFE_NO_PAD.encode(&credential.attestation_object),
                name: None,
                terminal: false,
            },
            None,
        )
        .await
        .map_err(err)?;
        let device_cert = STANDARD
            .decode(&registered.cert)
            .map_err(|_| "the bank's certificate is not readable")?;
        let trust: ops_api::TrustBundle =
            fi::get(ops_api::paths::TRUST, None).await.map_err(err)?;
        let decode = |b: &str| {
            STANDARD
                .decode(b)
                .map_err(|_| "the trust bundle is not readable")
        };
        let fis = trust
            .fis
            .iter()
            .map(|f| decode(f))
            .collect::<Result<Vec<_>, _>>()?;
        self.engine()
            .onboard(
                Identity {
                    device_cert,
                    fi_cert: fis.first().cloned().unwrap_or_default(),
                    credential_id: credential.credential_id.clone(),
                    account_id: u64::try_from(account_id).unwrap_or(0),
                },
                TrustBundle {
                    root: decode(&trust.root)?,
                    fis,
                    blocklist: trust.blocklist.as_deref().and_then(|b| decode(b).ok()),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let session = self.login(&rp_id, &credential.credential_id).await?;
        session::save(&FiSession {
            account_token,
            session,
        });
        self.fetch_crl().await?;
        Ok(passkey_words(&registered))
    }

    /// Opens a passkey session with this device's credential.
    async fn login(&self, rp_id: &str, credential: &[u8]) -> Result<String, String> {
        let err = |e: FiError| e.to_string();
        let id = URL_SAFE_NO_PAD.encode(credential);
        let c: ops_api::LoginChallenge = fi::post(
            ops_api::paths::LOGIN_CHALLENGE,
            &ops_api::LoginChallengeRequest {
                credential_id: id.clone(),
            },
            None,
        )
        .await
        .map_err(err)?;
        let challenge = URL_SAFE_NO_PAD
            .decode(&c.challenge)
            .map_err(|_| "the bank's challenge is not readable")?;
        let a = get_assertion(&GetRequest {
            rp_id,
            challenge: &challenge,
            allow_credentials: &[credential],
            require_user_verification: true,
            timeout_ms: 120_000,
        })
        .await
        .map_err(|e| e.to_string())?;
        let session: ops_api::Session = fi::post(
            ops_api::paths::LOGIN,
            &ops_api::LoginRequest {
                challenge_id: c.challenge_id,
                credential_id: id,
                authenticator_data: URL_SAFE_NO_PAD.encode(&a.authenticator_data),
                client_data_json: URL_SAFE_NO_PAD.encode(&a.client_data_json),
                signature: URL_SAFE_NO_PAD.encode(&a.signature),
            },
            None,
        )
        .await
        .map_err(err)?;
        Ok(session.token)
    }

    /// Keeps the FI's current CRL, and the other FIs' it passes on (a list that does not
    /// verify against the trust bundle is skipped: the FI's own is what must not fail).
    async fn fetch_crl(&self) -> Result<(), String> {
        let crl: ops_api::CrlResponse = fi::get(ops_api::paths::CRL, None)
            .await
            .map_err(|e| e.to_string())?;
        for peer in &crl.peers {
            if let Ok(bytes) = STANDARD.decode(peer) {
                let _ = self.engine().store_crl(&bytes).await;
            }
        }
        let bytes = STANDARD
            .decode(&crl.crl)
            .map_err(|_| "the revocation list is not readable")?;
        self.engine()
            .store_crl(&bytes)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Asks the FI which of the payments this wallet handed over were deposited (at most
    /// `MAX_SPEND_QUERY` spends per sync, oldest first) and marks them.
    async fn check_paid_out(&self) -> Result<(), String> {
        let paid = self
            .engine()
            .paid_out(now(), ops_api::MAX_SPEND_QUERY)
            .await
            .map_err(|e| e.to_string())?;
        let spends: Vec<String> = paid.iter().flat_map(|p| p.spends.clone()).collect();
        if spends.is_empty() {
            return Ok(());
        }
        let answer: ops_api::SpendStatusAnswer = fi::post(
            ops_api::paths::SPEND_STATUS,
            &ops_api::SpendStatusQuery { spends },
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        let done = ops_wallet_engine::paid_out::deposited(&paid, &answer.deposited_at);
        for (paid, at) in done {
            self.engine()
                .mark_deposited(paid, at)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Loads `amount` (minor units) from the account; retried requests never fund twice.
    /// Asks the browser first to keep the wallet's storage (value will live there).
    pub async fn load(&self, amount: u64) -> Result<(), String> {
        let _ = ops_browser::storage::request_persistence().await;
        let key = random::<16>()?;
        let out = self
            .engine()
            .start_fund(&key, amount, now())
            .await
            .map_err(|e| e.to_string())?;
        self.run(out.commands).await.map(|_| ())
    }

    /// Online sync: the current CRL and block list, then a deposit of everything received.
    pub async fn sync(&self) -> Result<String, String> {
        self.fetch_crl().await?;
        let trust: ops_api::TrustBundle = fi::get(ops_api::paths::TRUST, None)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(list) = trust.blocklist.and_then(|b| STANDARD.decode(b).ok()) {
            self.engine()
                .store_blocklist(list)
                .await
                .map_err(|e| e.to_string())?;
        }
        let deposits = self
            .engine()
            .start_deposits(now())
            .await
            .map_err(|e| e.to_string())?;
        for d in deposits {
            self.run(d.commands).await?;
        }
        self.engine()
            .record_sync(now())
            .await
            .map_err(|e| e.to_string())?;
        // Payments handed over that the payee has deposited since: the history says so.
        // Best effort: an FI that does not answer leaves them as they were.
        let _ = self.check_paid_out().await;
        // Notes close to expiry, or many small ones: returned and loaded again (one
        // approval). A refusal leaves the value in the account, never lost.
        let plan = self
            .engine()
            .refresh_plan(now())
            .await
            .map_err(|e| e.to_string())?;
        let Some(plan) = plan else {
            return Ok("Synced with your bank.".into());
        };
        let started = self
            .engine()
            .start_refresh(now())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(out) = started {
            self.run(out.commands).await?;
        }
        Ok(format!(
            "Synced with your bank; {} renewed ({} notes into {}).",
            crate::amounts::format(plan.amount, &plan.currency),
            plan.notes_before,
            plan.notes_after
        ))
    }

    /// Returns `amount` (minor units) to the account (one approval); retried requests
    /// never credit twice.
    pub async fn unload(&self, amount: u64) -> Result<(), String> {
        let currency = self.currency().await;
        let key = random::<16>()?;
        let out = self
            .engine()
            .start_defund(&key, amount, &currency, now())
            .await
            .map_err(|e| e.to_string())?;
        self.run(out.commands).await.map(|_| ())
    }

    /// The account's devices, as the bank lists them.
    pub async fn devices(&self) -> Result<ops_api::DeviceList, String> {
        let (account, session) = self.account().await?;
        fi::get(&ops_api::paths::account_devices(account), Some(&session))
            .await
            .map_err(|e| e.to_string())
    }

    /// Revokes device `cert_id` of this account (a lost or replaced phone).
    pub async fn revoke(&self, cert_id: &str, reason: ops_api::RevokeReason) -> Result<(), String> {
        let (account, session) = self.account().await?;
        let _: ops_api::RevokeDeviceResponse = fi::post(
            &ops_api::paths::revoke_device(account, cert_id),
            &ops_api::RevokeDeviceRequest { reason },
            Some(&session),
        )
        .await
        .map_err(|e| e.to_string())?;
        self.fetch_crl().await
    }

    /// This wallet's account number and passkey session.
    async fn account(&self) -> Result<(i64, String), String> {
        let session = session::load().ok_or(NO_SESSION)?;
        let account = self
            .identity()
            .await
            .map(|i| i.account_id)
            .ok_or("this wallet is not set up yet")?;
        Ok((i64::try_from(account).unwrap_or(0), session.session))
    }

    /// The account number and recovery code a new phone needs to join the account.
    pub async fn recovery(&self) -> Option<(u64, String)> {
        let account = self.identity().await?.account_id;
        Some((account, session::load()?.account_token))
    }

    /// Opens a new passkey session with this device's credential (after signing out, or
    /// when the browser lost its session), keeping the account token if it is still known.
    pub async fn sign_in(&self) -> Result<(), String> {
        let identity = self
            .identity()
            .await
            .ok_or("this wallet is not set up yet: set it up with your bank first")?;
        let snapshot = self.engine().snapshot().await.map_err(|e| e.to_string())?;
        let rp_id = snapshot
            .device
            .as_ref()
            .and_then(|d| d.cert.body.webauthn.as_ref().map(|p| p.rp_id.clone()))
            .unwrap_or_else(|| "localhost".into());
        let session = self.login(&rp_id, &identity.credential_id).await?;
        let account_token = session::load().map(|s| s.account_token).unwrap_or_default();
        if session::save(&FiSession {
            account_token,
            session,
        }) {
            Ok(())
        } else {
            Err("this browser refused to keep the session (private mode?); allow site storage and try again".into())
        }
    }

    async fn identity(&self) -> Option<Identity> {
        use ops_wallet_engine::store::SettingsStore as _;
        self.store.identity().await.ok().flatten()
    }

    /// What start-up recovery did, one sentence per unfinished flow it moved on.
    pub fn recovered(&self) -> &[String] {
        &self.recovered
    }

    /// Shows a request to be paid `amount` (minor units) by another wallet; returns the
    /// receive flow's id and the request's bytes.
    pub async fn receive(&self, amount: u64) -> Result<(SagaId, Vec<u8>), String> {
        let currency = self.currency().await;
        let e = self.engine();
        let ask = e.ask(random::<16>()?, amount, &currency, Some("Wallet".into()));
        let out = e
            .start_receive(&ask, now())
            .await
            .map_err(|e| e.to_string())?;
        let request =
            shown(&out.commands, Shown::Request).ok_or("the wallet made no request; try again")?;
        Ok((out.record.id, request))
    }

    /// Takes the payment `bytes` for the request of receive flow `saga`: verified offline
    /// with the core's verifier and the wallet's ledger, stored, then counted.
    pub async fn accept(&self, saga: &SagaId, bytes: Vec<u8>) -> Result<(), String> {
        let out = self
            .engine()
            .handle(saga, Event::Scanned(bytes), now())
            .await
            .map_err(|e| e.to_string())?;
        self.run(out.commands).await.map(|_| ())
    }

    /// Pays the request `bytes` (one authenticator approval) and returns the payment's
    /// bytes to hand over; a reload shows the same bytes again.
    pub async fn pay(&self, request: &[u8]) -> Result<(SagaId, Vec<u8>), String> {
        let e = self.engine();
        let out = e
            .start_pay(request, now())
            .await
            .map_err(|e| e.to_string())?;
        let id = out.record.id.clone();
        let mut commands = out.commands;
        if let Some(bytes) = shown(&commands, Shown::Payment) {
            return Ok((id, bytes));
        }
        commands.retain(|c| !matches!(c, Command::Show { .. }));
        let shown_now = self.run(commands).await?;
        let payment = shown_now
            .into_iter()
            .find(|(what, _)| *what == Shown::Payment)
            .map(|(_, b)| b)
            .ok_or("the payment was not signed; try again")?;
        self.engine()
            .handle(&id, Event::HandedOver, now())
            .await
            .map_err(|e| e.to_string())?;
        Ok((id, payment))
    }

    /// Checks and describes a request for the payer's confirmation (reserves nothing).
    pub async fn review(&self, request: &[u8]) -> Result<RequestReview, String> {
        self.engine()
            .review(request, now())
            .await
            .map_err(|e| e.to_string())
    }

    /// The newest payment not yet confirmed or cancelled, if any.
    pub async fn open_payment(&self) -> Option<OpenPayment> {
        self.newest(|r| match r.state {
            SagaState::Pay(PayState::Reserved { request, .. }) => Some(OpenPayment {
                saga: r.id,
                request,
                payment: None,
            }),
            SagaState::Pay(
                PayState::Signed {
                    request, payment, ..
                }
                | PayState::HandedOver {
                    request, payment, ..
                },
            ) => Some(OpenPayment {
                saga: r.id,
                request,
                payment: Some(payment),
            }),
            _ => None,
        })
        .await
    }

    /// The request this wallet shows to be paid, if one is open.
    pub async fn open_request(&self) -> Option<(SagaId, Vec<u8>)> {
        self.newest(|r| match r.state {
            SagaState::Receive(ReceiveState::Shown { request }) => Some((r.id, request)),
            _ => None,
        })
        .await
    }

    /// `pick` of the most recently moved flow it accepts.
    async fn newest<T>(&self, pick: impl Fn(SagaRecord) -> Option<T>) -> Option<T> {
        use ops_wallet_engine::store::SagaStore as _;
        let mut sagas = self.store.sagas().await.ok()?;
        ops_core::order::sort_stable_by_key(&mut sagas, |r| std::cmp::Reverse(r.updated));
        sagas.into_iter().find_map(pick)
    }

    /// Feeds `event` to flow `saga` and carries out what it asks (cancel, confirm, a
    /// receipt).
    pub async fn tell(&self, saga: &SagaId, event: Event) -> Result<(), String> {
        let out = self
            .engine()
            .handle(saga, event, now())
            .await
            .map_err(|e| e.to_string())?;
        let posts: Vec<Command> = out
            .commands
            .into_iter()
            .filter(|c| !matches!(c, Command::Show { .. }))
            .collect();
        if posts.is_empty() {
            return Ok(());
        }
        self.run(posts).await.map(|_| ())
    }

    /// The wallet's settings (QR preset, camera, last sync).
    pub async fn settings(&self) -> Settings {
        use ops_wallet_engine::store::SettingsStore as _;
        self.store.settings().await.unwrap_or_default()
    }

    /// Saves the wallet's settings.
    pub async fn save_settings(&self, settings: Settings) -> Result<(), String> {
        use ops_wallet_engine::store::{Batch, SettingsWrite, WalletStore as _, Write};
        let mut batch = Batch::new();
        batch.push(Write::Settings(SettingsWrite::SetSettings(settings)));
        self.store
            .apply(batch)
            .await
            .map_err(|e| format!("the settings could not be saved: {e}"))
    }

    /// Whether this device's own certificate is on a revocation list the wallet holds.
    pub async fn revoked(&self) -> bool {
        self.engine()
            .snapshot()
            .await
            .ok()
            .and_then(|s| s.device.as_ref().map(|d| s.crls.is_revoked(&d.cert)))
            .unwrap_or(false)
    }

    /// This device's certificate in one sentence: who certified it, until when, and the
    /// most it may hold.
    pub async fn device_words(&self) -> String {
        let Ok(snap) = self.engine().snapshot().await else {
            return String::new();
        };
        let Some(d) = snap.device else {
            return "Not set up yet.".into();
        };
        let fi = d.fi.body.name.clone().unwrap_or_else(|| "your bank".into());
        let until = date(d.cert.body.not_after);
        let currency =
            d.fi.body
                .limits
                .currency
                .clone()
                .unwrap_or_else(|| "EUR".into());
        let limit = d
            .cert
            .body
            .limits
            .max_outstanding
            .map(|m| {
                format!(
                    " It may hold at most {}.",
                    crate::amounts::format(m, &currency)
                )
            })
            .unwrap_or_default();
        let synced = if d.cert.body.webauthn.as_ref().is_some_and(|w| w.synced) {
            " Its passkey is synced to your other devices, so the bank set a lower limit."
        } else {
            ""
        };
        format!("Certified by {fi} until {until}.{limit}{synced}")
    }

    /// Every flow's history entry.
    pub async fn history(&self) -> Result<Vec<ops_wallet_engine::types::HistoryEntry>, String> {
        use ops_wallet_engine::store::HistoryStore as _;
        self.store.history().await.map_err(|e| e.to_string())
    }

    /// The currency of this wallet's FI.
    pub async fn currency(&self) -> String {
        self.engine()
            .snapshot()
            .await
            .ok()
            .and_then(|s| s.device.and_then(|d| d.fi.body.limits.currency))
            .unwrap_or_else(|| "EUR".into())
    }

    /// Carries out the engine's commands until the flows stop asking; returns what the
    /// flows asked to show; the first refusal the engine reports becomes the error.
    async fn run(&self, commands: Vec<Command>) -> Result<Vec<(Shown, Vec<u8>)>, String> {
        // Only posting to the bank needs the session: signing and showing a payment work
        // offline even where the browser lost it (a crash before its storage was written).
        let session = session::load();
        let snapshot = self.engine().snapshot().await.map_err(|e| e.to_string())?;
        let rp_id = snapshot
            .device
            .as_ref()
            .and_then(|d| d.cert.body.webauthn.as_ref().map(|p| p.rp_id.clone()))
            .unwrap_or_else(|| "localhost".into());
        let mut queue = commands;
        let mut notice = None;
        let mut shown_items = Vec::new();
        while let Some(c) = queue.pop() {
            let (saga, event) = match c {
                Command::Sign { saga, items } => {
                    let mut assertions = Vec::with_capacity(items.len());
                    for it in &items {
                        let a = get_assertion(&GetRequest {
                            rp_id: &rp_id,
                            challenge: &it.challenge,
                            allow_credentials: &[it.credential_id.as_slice()],
                            require_user_verification: it.user_verification,
                            timeout_ms: 120_000,
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                        assertions.push(Assertion {
                            authenticator_data: a.authenticator_data,
                            client_data_json: a.client_data_json,
                            signature_der: a.signature,
                        });
                    }
                    (saga, Event::Signed(assertions))
                }
                Command::Post {
                    saga,
                    path,
                    body,
                    idempotency_key,
                } => {
                    // The flow keeps its request; it is posted once the wallet signs in.
                    let Some(session) = &session else {
                        return Err(NO_SESSION.into());
                    };
                    match fi::send(
                        "POST",
                        &path,
                        Some(&body),
                        Some(&session.session),
                        Some(&idempotency_key),
                    )
                    .await
                    {
                        Ok((status, body)) => (saga, Event::Http { status, body }),
                        Err(_) => (saga, Event::Unreachable),
                    }
                }
                Command::Notify { message, .. } => {
                    notice = Some(message);
                    continue;
                }
                Command::Show { what, bytes, .. } => {
                    shown_items.push((what, bytes));
                    continue;
                }
            };
            let unreachable = event == Event::Unreachable;
            let out = self
                .engine()
                .handle(&saga, event, now())
                .await
                .map_err(|e| e.to_string())?;
            if unreachable {
                // The flow keeps its request and posts it again at the next start or sync.
                return Err(
                    "the bank cannot be reached; nothing is lost: the wallet retries when you are online".into(),
                );
            }
            queue.extend(out.commands);
        }
        match notice {
            Some(message) => Err(message),
            None => Ok(shown_items),
        }
    }
}

/// What the wallet says when a flow must talk to the bank and this browser has no session.
const NO_SESSION: &str = "this wallet has no session with its bank: use \"Sign in to my bank\" in Settings (nothing is lost: the wallet sends this once you have signed in)";

/// A payment that is not finished: waiting for approval (`payment: None`) or signed and
/// shown until the payee confirms (the same bytes after any reload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPayment {
    /// Its flow.
    pub saga: SagaId,
    /// The request it pays.
    pub request: Vec<u8>,
    /// The signed payment, once approved.
    pub payment: Option<Vec<u8>>,
}

/// A Unix time in ISO 8601 (UTC), "2027-12-01T14:05:00.000Z".
fn iso(unix: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    String::from(d.to_iso_string())
}

/// A Unix time as a calendar date (UTC), "2027-12-01".
pub fn date(unix: u64) -> String {
    iso(unix).chars().take(10).collect()
}

/// What the bank decided about this device's passkey, in plain words.
fn passkey_words(registered: &ops_api::Registered) -> String {
    let currency = "EUR";
    let limit = crate::amounts::format(registered.max_outstanding, currency);
    let full = crate::amounts::format(registered.device_bound_max_outstanding, currency);
    if registered.synced {
        format!(
            "This wallet is set up. Your passkey is synced to your other devices, so your bank lets this wallet hold at most {limit} offline (a security key or a passkey that stays on this phone allows {full}). Add money while online."
        )
    } else {
        format!("This wallet is set up and may hold up to {limit} offline. Add money while online.")
    }
}

/// A Unix time as date and time (UTC), "2027-12-01 14:05 UTC".
pub fn date_time(unix: u64) -> String {
    let iso = iso(unix);
    format!(
        "{} {} UTC",
        iso.get(..10).unwrap_or(""),
        iso.get(11..16).unwrap_or("")
    )
}

/// The bytes a command list asks to show as `what`.
fn shown(commands: &[Command], what: Shown) -> Option<Vec<u8>> {
    commands.iter().find_map(|c| match c {
        Command::Show { what: w, bytes, .. } if *w == what => Some(bytes.clone()),
        _ => None,
    })
}

pub use ops_transport_web::transfer::{from_text, to_text};

/// What the payer confirms: amount, currency, and who asks (as certified or self-declared).
pub fn describe_request(bytes: &[u8]) -> Result<String, String> {
    let r = ops_core::PaymentRequest::from_bytes(bytes)
        .map_err(|e| format!("this is not a payment request ({e}); ask the payee for a new one"))?;
    let who = r
        .label
        .clone()
        .unwrap_or_else(|| "a payee who gave no name".into());
    Ok(format!(
        "Pay {} to {who}",
        crate::amounts::format(r.amount, &r.currency)
    ))
}
