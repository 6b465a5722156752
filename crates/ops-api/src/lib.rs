//! The FI's HTTP contract under `/api/v1` as code: the request bodies, the answers and the
//! error body that the service (`ops-issuer`), the wallet's engine and the tests share, so
//! the two sides of the wire cannot drift apart (`docs/API.md` describes each endpoint).
//! Plain serde types with no I/O; they build for wasm32.
//!
//! Protocol messages travel as standard base64 of their canonical bytes; ids as lowercase
//! hex; amounts in minor units.

pub mod deposit;
pub mod error;
pub mod fund;
pub mod trust;

pub use deposit::{
    BatchItem, DefundRequest, DepositBatchRequest, DepositBatchResponse, DepositOutcome,
    DepositRequest, DepositStatus,
};
pub use error::{ErrorBody, ErrorDetail};
pub use fund::{FundRequest, FundResponse, IDEMPOTENCY_KEY_HEADER};
pub use trust::{CrlResponse, TrustBundle};

/// The endpoints' paths.
pub mod paths {
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
    /// `GET`: this FI's signed CRL.
    pub const CRL: &str = "/api/v1/crl";
}
