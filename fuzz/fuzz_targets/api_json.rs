//! The FI API's JSON request bodies (`ops-api`), read as the service reads them
//! (`serde_json::from_slice`): no input panics any of them, and every body that reads
//! writes back to JSON that reads as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops_api::clearing::{ClaimBatch, ProofBatch};
use ops_api::{
    DefundRequest, DepositBatchRequest, DepositRequest, FraudProofReport, FundRequest,
    LoginChallengeRequest, LoginRequest, MerchantRequest, RegistrationChallengeRequest,
    RegistrationRequest, RevokeDeviceRequest, SignUpRequest, SpendStatusQuery,
    TerminalChallengeRequest, TerminalRegistration,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads `data` as a `T`; if it reads, checks that it writes and reads back the same.
fn body<T>(data: &[u8])
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let written = serde_json::to_vec(&value);
        assert!(written.is_ok(), "a body that reads must write");
        if let Ok(written) = written {
            let again = serde_json::from_slice::<T>(&written);
            assert_eq!(again.ok().as_ref(), Some(&value), "written JSON reads back");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Every request body of /api/v1 and of the central bank's claim and fraud-proof
    // endpoints (the admin-only bodies the service declares itself are not in ops-api).
    body::<SignUpRequest>(data);
    body::<RegistrationChallengeRequest>(data);
    body::<RegistrationRequest>(data);
    body::<LoginChallengeRequest>(data);
    body::<LoginRequest>(data);
    body::<FundRequest>(data);
    body::<DepositRequest>(data);
    body::<DepositBatchRequest>(data);
    body::<DefundRequest>(data);
    body::<RevokeDeviceRequest>(data);
    body::<FraudProofReport>(data);
    body::<SpendStatusQuery>(data);
    body::<MerchantRequest>(data);
    body::<TerminalChallengeRequest>(data);
    body::<TerminalRegistration>(data);
    body::<ClaimBatch>(data);
    body::<ProofBatch>(data);
});
