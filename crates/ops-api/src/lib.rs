//! The FI's HTTP contract under `/api/v1` as code: the request bodies, the answers and the
//! error body that the service (`ops-issuer`), the wallet's engine and the tests share, so
//! the two sides of the wire cannot drift apart (`docs/API.md` describes each endpoint).
//! Plain serde types with no I/O; they build for wasm32.
//!
//! Protocol messages travel as standard base64 of their canonical bytes; ids as lowercase
//! hex; amounts in minor units.

pub mod banks;
pub mod clearing;
pub mod deposit;
pub mod devices;
pub mod error;
pub mod fraud;
pub mod fund;
pub mod onboarding;
pub mod spends;
pub mod terminals;
pub mod trust;

pub use banks::{Bank, Banks};
pub use deposit::{
    BatchItem, DefundRequest, DepositBatchRequest, DepositBatchResponse, DepositOutcome,
    DepositRequest, DepositStatus,
};
pub use devices::{
    DeviceInfo, DeviceKind, DeviceList, DeviceRevocation, RevocationReason, RevokeDeviceRequest,
    RevokeDeviceResponse, RevokeReason, RevokedBy,
};
pub use error::{ErrorBody, ErrorDetail};
pub use fraud::{FraudProofAnswer, FraudProofReport};
pub use fund::{FundRequest, FundResponse, IDEMPOTENCY_KEY_HEADER};
pub use onboarding::{
    AccountCreated, LoginChallenge, LoginChallengeRequest, LoginRequest, Registered,
    RegistrationChallenge, RegistrationChallengeRequest, RegistrationRequest, Session,
    SignUpRequest,
};
pub use spends::{MAX_SPEND_QUERY, SpendStatusAnswer, SpendStatusQuery};
pub use terminals::{
    MerchantRequest, MerchantResponse, TERMINAL_PROOF_PREFIX, TerminalChallenge,
    TerminalChallengeRequest, TerminalRegistered, TerminalRegistration,
};
pub use trust::{CrlResponse, TrustBundle};

/// The endpoints' paths.
pub mod paths {
    /// `POST` (signed by the central bank): claims on this FI's notes that other FIs'
    /// merchants deposited.
    pub const CLEARING_CLAIMS: &str = "/api/v1/clearing/claims";
    /// `POST` (admin): forward pending claims to the central bank now.
    pub const CLEARING_RUN: &str = "/api/v1/clearing/run";
    /// `GET` (admin): this FI's clearing state.
    pub const CLEARING: &str = "/api/v1/clearing";
    /// `POST` (signed by an FI), central bank: claims to forward to their issuers.
    pub const CB_CLAIMS: &str = "/cb/v1/claims";
    /// `POST` (admin), central bank: close a clearing cycle and net the positions.
    pub const CB_CYCLES: &str = "/cb/v1/cycles";
    /// `GET`, central bank: the FIs' reserve balances.
    pub const CB_RESERVES: &str = "/cb/v1/reserves";
    /// `POST` (signed by an FI), central bank: fraud proofs against other FIs' devices.
    pub const CB_FRAUD_PROOFS: &str = "/cb/v1/fraud-proofs";
    /// `GET`, central bank: the root CRL and every member FI's latest CRL.
    pub const CB_CRLS: &str = "/cb/v1/crls";
    /// `GET`, central bank: the audit of claims, cycles and reserves.
    pub const CB_AUDIT: &str = "/cb/v1/audit";
    /// `POST`: fund a device from its account.
    pub const FUND: &str = "/api/v1/fund";
    /// `POST`: deposit a payment received offline.
    pub const DEPOSITS: &str = "/api/v1/deposits";
    /// `POST`: deposit up to 256 payments at once.
    pub const DEPOSITS_BATCH: &str = "/api/v1/deposits/batch";
    /// `POST`: return unspent value to the account.
    pub const DEFUND: &str = "/api/v1/defund";
    /// `GET`: the trust bundle.
    pub const TRUST: &str = "/api/v1/trust";
    /// `GET`: the banks a user can choose (this FI and the other members it knows).
    pub const BANKS: &str = "/api/v1/banks";
    /// `GET`: this FI's signed CRL.
    pub const CRL: &str = "/api/v1/crl";
    /// `POST`: the demo sign-up; `GET {ACCOUNTS}/{id}`: one account.
    pub const ACCOUNTS: &str = "/api/v1/accounts";
    /// `POST`: a registration challenge for a new device of an account.
    pub const REGISTRATION_CHALLENGE: &str = "/api/v1/registrations/challenge";
    /// `POST`: register a passkey and get the device certificate.
    pub const REGISTRATIONS: &str = "/api/v1/registrations";
    /// `POST`: a login challenge for a registered credential.
    pub const LOGIN_CHALLENGE: &str = "/api/v1/login/challenge";
    /// `POST`: open a passkey session.
    pub const LOGIN: &str = "/api/v1/login";
    /// `POST`: a challenge for registering a merchant's terminal.
    pub const TERMINAL_CHALLENGE: &str = "/api/v1/terminals/challenge";
    /// `POST`: register a merchant's terminal key.
    pub const TERMINALS: &str = "/api/v1/terminals";
    /// `POST`: report a fraud proof a payee kept.
    pub const FRAUD_PROOFS: &str = "/api/v1/fraud-proofs";
    /// `POST`: whether spends were deposited (no account: a spend id is the capability).
    pub const SPEND_STATUS: &str = "/api/v1/spends/status";

    /// `POST` (admin): the certified merchant name of account `account_id`.
    pub fn merchant(account_id: i64) -> String {
        format!("{ACCOUNTS}/{account_id}/merchant")
    }

    /// `GET`: the devices of account `account_id`.
    pub fn account_devices(account_id: i64) -> String {
        format!("{ACCOUNTS}/{account_id}/devices")
    }

    /// `POST`: revoke device `cert_id` (hex) of account `account_id`.
    pub fn revoke_device(account_id: i64, cert_id: &str) -> String {
        format!("{ACCOUNTS}/{account_id}/devices/{cert_id}/revoke")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn device_paths() {
            assert_eq!(super::account_devices(7), "/api/v1/accounts/7/devices");
            assert_eq!(
                super::revoke_device(7, "ab"),
                "/api/v1/accounts/7/devices/ab/revoke"
            );
        }
    }
}
