//! Protocol core of the OPS offline payment system: messages and their canonical CBOR
//! encoding, plain and WebAuthn ES256 signatures behind one interface, a crypto-provider
//! abstraction, offline payment verification, the range ledger (double-spend memory),
//! and wallet bookkeeping. No I/O: time, randomness and storage are the caller's.
//!
//! The wire formats and the numbered verification rules are specified in
//! `docs/PROTOCOL.md`; its §12 lists the calls apps and the issuer service use:
//!
//! * payee: [`payee::Till`] with a [`verify::Verifier`] (pinned root, known certificates,
//!   [`crl_store::CrlStore`], [`verify::Policy`], a [`provider::CryptoProvider`]);
//! * payer: [`verify::Verifier::check_request`], [`wallet::WalletBook::select`],
//!   [`wallet::OutgoingPayment`] (`reserve → sign → mark_sent`), and
//!   [`webauthn::AssertionWire::from_raw`] to compact browser assertions, one assertion
//!   for all the spends of a payment ([`wallet::OutgoingPayment::batch_challenge`],
//!   [`wallet::OutgoingPayment::sign_batch`], [`batch`]);
//! * FI: [`ledger::RangeLedger`], [`msg::fraud::FraudProof::verify`], logins through the
//!   one assertion check [`webauthn::verify_assertion`] (with a stored sign count), and
//!   registration verification in `registration` (cargo feature `registration`, off in
//!   the apps).

pub mod batch;
pub mod cbor;
pub mod crl_store;
pub mod der;
pub mod error;
pub mod ids;
pub mod ledger;
pub mod msg;
pub mod order;
pub mod payee;
pub mod provider;
#[cfg(feature = "registration")]
pub mod registration;
pub mod risk;
pub mod settlement;
pub mod sig;
pub mod sig_cache;
pub mod verify;
pub mod wallet;
pub mod webauthn;

#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use error::DecodeError;
pub use ids::{CertId, Digest32, Nonce, NoteId, PublicKey};
pub use msg::blocklist::{BlockList, BlockListBody, blocked_payer};
pub use msg::cert::{CertBody, Certificate, Limits, Role};
pub use msg::crl::{Crl, CrlBody};
pub use msg::fraud::FraudProof;
pub use msg::issuance::{Issuance, IssuanceBody};
pub use msg::payment::{Chain, Payment};
pub use msg::receipt::{Receipt, ReceiptBody};
pub use msg::request::PaymentRequest;
pub use msg::spend::{Spend, SpendBody};
pub use provider::{CryptoProvider, P256Provider};
pub use sig::Signature;
