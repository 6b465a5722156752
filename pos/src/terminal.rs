//! The terminal's flows in the browser: the till engine (`ops-wallet-engine::till`) over
//! the IndexedDB till store, with the commands it asks for carried out by the terminal's
//! non-extractable key and the FI's API. No screen logic here; the components call these
//! and show the results.

use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ops_browser::fi::{self, FiError};
use ops_browser::terminal_key::TerminalKey;
use ops_browser::till_store::IdbTillStore;
use ops_browser::webauthn::{CreateRequest, GetRequest, create_credential, get_assertion};
use ops_core::Certificate;
use ops_wallet_engine::till::saga::SaleState;
use ops_wallet_engine::till::store::{DeclineStore, QueueStore, TillSagaStore, TillTrustStore};
use ops_wallet_engine::till::{
    Decision, NewSale, Period, QueueEntry, ReceiptSigner, Report, TerminalSignature, TillCommand,
    TillConfig, TillEngine, TillEvent, TillIdentity, TillSagaRecord, TillSagaState, TillStatus,
    bundle_from_api,
};
use ops_wallet_engine::{Assertion, SagaId};

use crate::credentials::{self, Merchant};

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

/// Who this terminal is, as its FI certified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalInfo {
    /// The merchant's name in the terminal's certificate.
    pub merchant: String,
    /// The merchant's account at the FI.
    pub account_id: u64,
    /// The currency its FI issues.
    pub currency: String,
    /// The terminal certificate's id, hex.
    pub cert_id: String,
}

/// What a sync with the FI did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// Uploads answered by the FI.
    pub uploads: usize,
    /// Fraud proofs the bank answered for in this sync.
    pub proofs_reported: usize,
    /// Messages from the flows (items refused, uploads refused).
    pub notices: Vec<String>,
    /// The first failure, if the sync stopped early (nothing is lost: it resumes).
    pub stopped: Option<String>,
}

/// The terminal of this browser profile.
#[derive(Debug)]
pub struct Terminal {
    store: IdbTillStore,
    recovered: Vec<String>,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Terminal {
    /// Opens the till's database and finishes whatever a reload interrupted (a payment
    /// being decided is decided, once; an upload is posted again when online).
    pub async fn open() -> Result<Self, String> {
        let store = IdbTillStore::open_default()
            .await
            .map_err(|e| format!("the terminal's storage cannot be opened: {e}"))?;
        let mut terminal = Self {
            store,
            recovered: Vec::new(),
        };
        terminal.recovered = terminal.recover().await?;
        Ok(terminal)
    }

    fn engine(&self) -> TillEngine<'_, IdbTillStore> {
        TillEngine::new(&self.store, TillConfig::default())
    }

    async fn recover(&self) -> Result<Vec<String>, String> {
        let report = self.engine().recover(now()).await.map_err(text)?;
        let sentences = report.sentences(crate::keypad::format_minor);
        // Receipts are signed now (no network needed); uploads wait for a sync.
        let commands: Vec<TillCommand> = report
            .commands()
            .into_iter()
            .filter(|c| matches!(c, TillCommand::SignReceipt { .. }))
            .collect();
        if !commands.is_empty() {
            self.run(commands).await?;
        }
        Ok(sentences)
    }

    /// What start-up recovery did, in the cashier's words (empty when nothing was
    /// interrupted).
    pub fn recovered(&self) -> &[String] {
        &self.recovered
    }

    /// Who this terminal is, once set up.
    pub async fn info(&self) -> Option<TerminalInfo> {
        let identity = self.store.identity().await.ok().flatten()?;
        let cert = Certificate::from_bytes(&identity.terminal_cert).ok()?;
        let fi = Certificate::from_bytes(&identity.fi_cert).ok()?;
        Some(TerminalInfo {
            merchant: cert.body.name.clone().unwrap_or_default(),
            account_id: identity.account_id,
            currency: fi
                .body
                .limits
                .currency
                .clone()
                .unwrap_or_else(|| "EUR".into()),
            cert_id: cert.id().to_string(),
        })
    }

    /// Registers this terminal for merchant account `account_id` (the account's token
    /// authorizes it) and stores its certificate, the trust bundle and the current CRL.
    /// With `passkey`, the tablet's authenticator holds the key (a passkey registered with
    /// `"terminal": true`; each receipt is one assertion); otherwise a non-extractable
    /// WebCrypto key proves possession over the FI's challenge. Returns the certified
    /// merchant name.
    pub async fn set_up(
        &self,
        account_id: u64,
        token: &str,
        label: Option<String>,
        passkey: bool,
    ) -> Result<String, String> {
        let token = token.trim();
        let account = i64::try_from(account_id)
            .map_err(|_| "the account number is too large; check it".to_owned())?;
        let (terminal_cert, credential_id) = if passkey {
            self.register_passkey(account, token, label.as_deref())
                .await?
        } else {
            (self.register_key(account, token, label).await?, None)
        };
        let cert = Certificate::from_bytes(&terminal_cert)
            .map_err(|e| format!("the bank's certificate is not readable ({e}); try again"))?;
        let api_bundle: ops_api::TrustBundle =
            fi::get(ops_api::paths::TRUST, None).await.map_err(text)?;
        let bundle = bundle_from_api(&api_bundle).map_err(text)?;
        let fi_cert = bundle
            .fis
            .iter()
            .find(|f| Certificate::from_bytes(f).is_ok_and(|c| Some(c.id()) == cert.body.issuer))
            .cloned()
            .ok_or("the bank's trust bundle lacks the certificate of the bank that certified this terminal; try again later")?;
        self.engine()
            .onboard(
                TillIdentity {
                    terminal_cert,
                    fi_cert,
                    credential_id,
                    account_id,
                },
                bundle,
            )
            .await
            .map_err(text)?;
        credentials::save(&Merchant {
            account_id,
            token: token.to_owned(),
        })
        .await?;
        self.fetch_crl().await?;
        Ok(cert.body.name.unwrap_or_default())
    }

    /// The non-extractable WebCrypto key, certified: its certificate's bytes.
    async fn register_key(
        &self,
        account: i64,
        token: &str,
        label: Option<String>,
    ) -> Result<Vec<u8>, String> {
        let key = TerminalKey::load_or_generate().await.map_err(text)?;
        let challenge: ops_api::TerminalChallenge = fi::post(
            ops_api::paths::TERMINAL_CHALLENGE,
            &ops_api::TerminalChallengeRequest {
                account_id: account,
            },
            Some(token),
        )
        .await
        .map_err(text)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(&challenge.challenge)
            .map_err(|_| "the bank's challenge is not readable; try again")?;
        let proof = key.registration_proof(&bytes).await.map_err(text)?;
        let registered: ops_api::TerminalRegistered = fi::post(
            ops_api::paths::TERMINALS,
            &ops_api::TerminalRegistration {
                challenge_id: challenge.challenge_id,
                public_key: ops_core::ids::to_hex(&key.public_key()),
                signature: URL_SAFE_NO_PAD.encode(proof),
                label: label.filter(|l| !l.trim().is_empty()),
            },
            None,
        )
        .await
        .map_err(text)?;
        STANDARD
            .decode(&registered.cert)
            .map_err(|_| "the bank's certificate is not readable; try again".into())
    }

    /// A passkey on the tablet's authenticator, certified as the merchant's terminal: its
    /// certificate's bytes and the credential id.
    async fn register_passkey(
        &self,
        account: i64,
        token: &str,
        label: Option<&str>,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let challenge: ops_api::RegistrationChallenge = fi::post(
            ops_api::paths::REGISTRATION_CHALLENGE,
            &ops_api::RegistrationChallengeRequest {
                account_id: account,
            },
            Some(token),
        )
        .await
        .map_err(text)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(&challenge.challenge)
            .map_err(|_| "the bank's challenge is not readable; try again")?;
        let name = label.unwrap_or("Point of sale");
        let credential = create_credential(&CreateRequest {
            rp_id: &challenge.rp_id,
            rp_name: "OPS demo bank",
            user_id: &account.to_be_bytes(),
            user_name: name,
            user_display_name: name,
            challenge: &bytes,
            require_user_verification: challenge.requires_user_verification(),
            exclude_credentials: &[],
            timeout_ms: 120_000,
        })
        .await
        .map_err(text)?;
        let registered: ops_api::Registered = fi::post(
            ops_api::paths::REGISTRATIONS,
            &ops_api::RegistrationRequest {
                challenge_id: challenge.challenge_id,
                client_data_json: URL_SAFE_NO_PAD.encode(&credential.client_data_json),
                attestation_object: URL_SAFE_NO_PAD.encode(&credential.attestation_object),
                name: None,
                terminal: true,
            },
            None,
        )
        .await
        .map_err(text)?;
        let cert = STANDARD
            .decode(&registered.cert)
            .map_err(|_| "the bank's certificate is not readable; try again")?;
        Ok((cert, Some(credential.credential_id)))
    }

    /// Keeps the FI's current CRL. Boxed: set-up and sync both await it, and one copy of
    /// its code serves both (the bundle has a budget).
    fn fetch_crl(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + '_>> {
        Box::pin(self.fetch_crl_now())
    }

    async fn fetch_crl_now(&self) -> Result<(), String> {
        let crl: ops_api::CrlResponse = fi::get(ops_api::paths::CRL, None).await.map_err(text)?;
        // Other FIs' lists, passed on by this FI, then its own: only the own list's failure
        // counts (one call site keeps one copy of the store's code in the bundle).
        let own = STANDARD
            .decode(&crl.crl)
            .map_err(|_| "the revocation list is not readable; try again")?;
        let lists = crl.peers.iter().filter_map(|p| STANDARD.decode(p).ok());
        let mut result = Ok(());
        for bytes in lists.chain([own]) {
            result = self.engine().store_crl(&bytes, now()).await.map(|_| ());
        }
        result.map_err(text)
    }

    async fn fetch_trust(&self) -> Result<(), String> {
        let api: ops_api::TrustBundle = fi::get(ops_api::paths::TRUST, None).await.map_err(text)?;
        let bundle = bundle_from_api(&api).map_err(text)?;
        self.engine()
            .refresh_trust(bundle, now())
            .await
            .map_err(text)
    }

    /// Largest amount the terminal may take offline (`None`: no limit).
    pub async fn offline_limit(&self) -> Option<u64> {
        self.engine().offline_limit().await.ok().flatten()
    }

    /// Starts a sale of `amount` (minor units): returns its id and the request's bytes.
    pub async fn sell(
        &self,
        amount: u64,
        currency: &str,
        reference: Option<String>,
        lifetime: u64,
    ) -> Result<(SagaId, Vec<u8>), String> {
        let out = self
            .engine()
            .new_sale(
                &NewSale {
                    nonce: random()?,
                    amount,
                    currency: currency.to_owned(),
                    reference: reference.filter(|r| !r.trim().is_empty()),
                    lifetime,
                },
                now(),
            )
            .await
            .map_err(text)?;
        let request = out
            .commands
            .into_iter()
            .find_map(|c| match c {
                TillCommand::ShowRequest { bytes, .. } => Some(bytes),
                _ => None,
            })
            .ok_or("the sale started without a request to show; start it again")?;
        Ok((out.record.id, request))
    }

    /// The sale on screen: the newest unfinished one, else `None`.
    pub async fn open_sale(&self) -> Option<TillSagaRecord> {
        let mut open: Vec<TillSagaRecord> = self
            .store
            .unfinished()
            .await
            .ok()?
            .into_iter()
            .filter(|r| matches!(r.state, TillSagaState::Sale(_)))
            .collect();
        ops_core::order::sort_stable_by_key(&mut open, |r| r.created);
        open.pop()
    }

    /// The newest sale approved since `since` (Unix seconds), if any: after a crash the
    /// terminal shows it again (the browser may lose its last localStorage write when
    /// killed; the approval itself is in IndexedDB).
    pub async fn recent_approval(&self, since: u64) -> Option<TillSagaRecord> {
        let sagas = self.store.sagas().await.ok()?;
        sagas
            .into_iter()
            .filter(|r| match &r.state {
                TillSagaState::Sale(
                    SaleState::Approved { approved_at, .. }
                    | SaleState::Completed { approved_at, .. },
                ) => *approved_at >= since,
                _ => false,
            })
            .max_by_key(|r| r.updated)
    }

    /// A sale as stored.
    pub async fn sale(&self, id: &SagaId) -> Result<TillSagaRecord, String> {
        self.engine().saga(id).await.map_err(text)
    }

    /// Payment bytes arrived for `sale` (the instant the last frame was read): decided
    /// with every rule, and an approval stored before it is returned. The receipt is
    /// signed after ([`Self::sign_receipt`] with the returned commands), so the decision
    /// is on screen without waiting for the key.
    pub async fn present(
        &self,
        sale: &SagaId,
        bytes: Vec<u8>,
    ) -> Result<(Decision, Vec<TillCommand>), String> {
        let presented = self
            .engine()
            .present(sale, &bytes, now())
            .await
            .map_err(text)?;
        Ok((presented.decision, presented.commands))
    }

    /// Performs the commands an approval left (the receipt signature) and returns the
    /// signed receipt's bytes, if any.
    pub async fn sign_receipt(
        &self,
        commands: Vec<TillCommand>,
    ) -> Result<Option<Vec<u8>>, String> {
        self.run(commands).await
    }

    /// Signs the receipt of an approved sale whose signature a crash interrupted.
    pub async fn finish_receipt(&self, sale: &SagaId) -> Result<Option<Vec<u8>>, String> {
        let commands = self.engine().resume(sale).await.map_err(text)?;
        self.run(commands).await
    }

    /// The cashier cancels the sale (a payment arriving later is declined).
    pub async fn cancel(&self, sale: &SagaId) -> Result<(), String> {
        self.engine()
            .cancel(sale, now())
            .await
            .map(|_| ())
            .map_err(text)
    }

    /// Closes every request whose time ran out.
    pub async fn expire_due(&self) -> Result<(), String> {
        self.engine()
            .expire_due(now())
            .await
            .map(|_| ())
            .map_err(text)
    }

    /// Online: the current CRL and trust, then every waiting payment uploaded in batches
    /// until none is left. Stops at the first failure; everything stays queued.
    pub async fn sync(&self) -> Synced {
        let mut synced = Synced::default();
        if let Err(e) = self.fetch_crl().await {
            synced.stopped = Some(e);
            return synced;
        }
        if let Err(e) = self.fetch_trust().await {
            synced.stopped = Some(e);
            return synced;
        }
        // Bounded: each upload moves at least one payment out of "pending".
        for _ in 0..64 {
            let out = match self.engine().start_deposit(now()).await {
                Ok(Some(out)) => out,
                Ok(None) => break,
                Err(e) => {
                    synced.stopped = Some(e.to_string());
                    break;
                }
            };
            match self.post_all(out.commands, &mut synced.notices).await {
                Ok(true) => synced.uploads += 1,
                Ok(false) => {
                    synced.stopped = Some(
                        "the bank cannot be reached; nothing is lost: the payments wait and go at the next sync".into(),
                    );
                    break;
                }
                Err(e) => {
                    synced.stopped = Some(e);
                    break;
                }
            }
        }
        if synced.stopped.is_none() {
            match self.report_proofs().await {
                Ok(n) => synced.proofs_reported = n,
                Err(e) => synced.stopped = Some(e),
            }
        }
        synced
    }

    /// Reports every kept fraud proof the bank has not answered for yet
    /// (`POST /api/v1/fraud-proofs`); returns how many it answered for.
    async fn report_proofs(&self) -> Result<usize, String> {
        let done = crate::settings::reported_proofs().await;
        let kept = self.store.fraud_proofs().await.map_err(text)?;
        let mut answered = 0;
        for proof in kept {
            let id = proof.id.to_string();
            if done.contains(&id) {
                continue;
            }
            let body = serde_json::to_string(&ops_api::FraudProofReport {
                proof: STANDARD.encode(&proof.bytes),
            })
            .map_err(text)?;
            match fi::send(
                "POST",
                ops_api::paths::FRAUD_PROOFS,
                Some(&body),
                None,
                None,
            )
            .await
            {
                // Opened, known, or refused for good (kept here for the reports either
                // way): the bank has answered.
                Ok((200 | 201 | 422, _)) => {
                    crate::settings::mark_reported(&id).await;
                    answered += 1;
                }
                Ok((status, answer)) => return Err(fi::refusal(status, &answer).to_string()),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(answered)
    }

    /// Posts an upload and feeds the answers back; `false` when the FI was unreachable.
    async fn post_all(
        &self,
        commands: Vec<TillCommand>,
        notices: &mut Vec<String>,
    ) -> Result<bool, String> {
        let merchant = credentials::load().await.ok_or(
            "this terminal has no merchant sign-in: set it up again with the account token",
        )?;
        let mut queue = commands;
        while let Some(c) = queue.pop() {
            match c {
                TillCommand::Post {
                    saga,
                    path,
                    body,
                    idempotency_key,
                } => {
                    let answer = fi::send(
                        "POST",
                        &path,
                        Some(&body),
                        Some(&merchant.token),
                        Some(&idempotency_key),
                    )
                    .await;
                    let event = match &answer {
                        Ok((status, body)) => TillEvent::Http {
                            status: *status,
                            body: body.clone(),
                        },
                        Err(FiError::Unreachable(_)) | Err(_) => TillEvent::Unreachable,
                    };
                    let out = self
                        .engine()
                        .handle(&saga, event, now())
                        .await
                        .map_err(text)?;
                    if answer.is_err() {
                        return Ok(false);
                    }
                    // A 5xx keeps the upload posting: try again at the next sync.
                    if let Ok((status, _)) = answer
                        && (status >= 500 || status == 408 || status == 429)
                    {
                        return Ok(false);
                    }
                    queue.extend(out.commands);
                }
                TillCommand::Notify { message, .. } => notices.push(message),
                _ => {}
            }
        }
        Ok(true)
    }

    /// Performs the commands of a sale: signs a receipt with the terminal's key and
    /// returns the receipt bytes to show.
    async fn run(&self, commands: Vec<TillCommand>) -> Result<Option<Vec<u8>>, String> {
        let mut queue = commands;
        let mut receipt = None;
        while let Some(c) = queue.pop() {
            match c {
                TillCommand::SignReceipt { sale, body, signer } => {
                    let event = match signer {
                        ReceiptSigner::Software => match TerminalKey::load_or_generate().await {
                            Ok(key) => match key.sign(&body).await {
                                Ok(sig) => {
                                    TillEvent::ReceiptSigned(TerminalSignature::Es256(sig.to_vec()))
                                }
                                Err(_) => TillEvent::NoReceipt,
                            },
                            Err(_) => TillEvent::NoReceipt,
                        },
                        // One assertion over SHA-256 of the body; a refused prompt
                        // goes on without a receipt (the sale stays approved).
                        ReceiptSigner::WebAuthn(item) => match get_assertion(&GetRequest {
                            rp_id: &item.rp_id,
                            challenge: &item.challenge,
                            allow_credentials: &[item.credential_id.as_slice()],
                            require_user_verification: item.user_verification,
                            timeout_ms: 60_000,
                        })
                        .await
                        {
                            Ok(a) => {
                                TillEvent::ReceiptSigned(TerminalSignature::WebAuthn(Assertion {
                                    authenticator_data: a.authenticator_data,
                                    client_data_json: a.client_data_json,
                                    signature_der: a.signature,
                                }))
                            }
                            Err(_) => TillEvent::NoReceipt,
                        },
                    };
                    let out = self
                        .engine()
                        .handle(&sale, event, now())
                        .await
                        .map_err(text)?;
                    queue.extend(out.commands);
                }
                TillCommand::ShowReceipt { bytes, .. } => receipt = Some(bytes),
                _ => {}
            }
        }
        Ok(receipt)
    }

    /// Every accepted payment with its deposit status, newest first.
    pub async fn queue(&self) -> Result<Vec<QueueEntry>, String> {
        let mut q = self.store.queue().await.map_err(text)?;
        ops_core::order::sort_stable_by_key(&mut q, |e| std::cmp::Reverse(e.accepted_at));
        Ok(q)
    }

    /// The status line: contact with the FI, what awaits deposit.
    pub async fn status(&self) -> Result<TillStatus, String> {
        self.engine().status(now()).await.map_err(text)
    }

    /// The report of `period`.
    pub async fn report(&self, period: Period) -> Result<Report, String> {
        self.engine().report(period).await.map_err(text)
    }

    /// The rows of `period` as CSV.
    pub async fn export_csv(&self, period: Period) -> Result<String, String> {
        self.engine().export_csv(period).await.map_err(text)
    }

    /// The report and rows of `period` as JSON.
    pub async fn export_json(&self, period: Period) -> Result<String, String> {
        self.engine().export_json(period).await.map_err(text)
    }
}
