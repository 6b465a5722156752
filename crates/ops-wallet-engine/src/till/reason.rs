//! Why the till declined a payment, in the words a cashier reads and says to the customer.
//!
//! Every verification rule of the core maps to exactly one reason
//! ([`DeclineReason::from_verify`], an exhaustive match without a wildcard: a new rule in
//! `ops_core::verify::VerifyError` does not compile until it is given a reason here).

use ops_core::verify::VerifyError;
use serde::{Deserialize, Serialize};

/// Why a payment was declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// The request expired before the payment arrived (V2), or the sale expired.
    RequestExpired,
    /// The sale was cancelled.
    SaleCancelled,
    /// The sale is already paid, or being paid, by another payment (V1).
    SaleAlreadyPaid,
    /// The payment is for another amount (V5).
    WrongAmount,
    /// The payment is in another currency (V6).
    WrongCurrency,
    /// The payment answers another request: another sale, or another terminal (V3, V4).
    NotForThisSale,
    /// A certificate the payment relies on is revoked (V16).
    CertificateRevoked,
    /// A certificate was not valid when it was used (V13).
    CertificateExpired,
    /// The money itself (a note) has expired (V14).
    MoneyExpired,
    /// The payment's times do not fit this terminal's clock (V15).
    ClockMismatch,
    /// The terminal's revocation list is too old for this amount (V17).
    CrlTooOld,
    /// The amount is above what may be paid offline (V18).
    AboveOfflineLimit,
    /// The value was already spent: the payment overlaps a spend seen before (V22, V23).
    /// The fraud proof is kept for the bank.
    AlreadySpent,
    /// The payment fails a security check: broken chain, forged or missing signature or
    /// certificate, limits broken (V7, V8, V10–V12, V19–V21).
    Tampered,
    /// The bytes are not a payment.
    Unreadable,
    /// The money went through more wallets than its FI allows offline (V9). Last in the
    /// enum so stored declines keep their encoding; placed with the limits in `ALL`.
    TooManyHops,
    /// The payment takes more from the customer's wallet than its bank allows in one
    /// offline payment (V26). After the older reasons, for the stored encoding.
    AboveWalletLimit,
    /// The payment was approved without the customer's PIN or biometrics and is above what
    /// the wallet's bank allows so (V27).
    NeedsUserVerification,
    /// A payer of the payment is on the terminal's bank's counterparty block list
    /// (PROTOCOL.md §6.1).
    BlockedCounterparty,
}

impl DeclineReason {
    /// Every reason, in report order.
    pub const ALL: [DeclineReason; 19] = [
        Self::RequestExpired,
        Self::SaleCancelled,
        Self::SaleAlreadyPaid,
        Self::WrongAmount,
        Self::WrongCurrency,
        Self::NotForThisSale,
        Self::CertificateRevoked,
        Self::CertificateExpired,
        Self::MoneyExpired,
        Self::ClockMismatch,
        Self::CrlTooOld,
        Self::AboveOfflineLimit,
        Self::TooManyHops,
        Self::AboveWalletLimit,
        Self::NeedsUserVerification,
        Self::BlockedCounterparty,
        Self::AlreadySpent,
        Self::Tampered,
        Self::Unreadable,
    ];

    /// The reason for a failed verification rule. Exhaustive: one reason per rule.
    pub fn from_verify(e: &VerifyError) -> Self {
        match e {
            VerifyError::RequestUsed => Self::SaleAlreadyPaid,
            VerifyError::RequestExpired { .. } => Self::RequestExpired,
            VerifyError::RequestMismatch { .. } => Self::NotForThisSale,
            VerifyError::WrongPayee { .. } => Self::NotForThisSale,
            VerifyError::AmountMismatch { .. } => Self::WrongAmount,
            VerifyError::CurrencyMismatch { .. } => Self::WrongCurrency,
            VerifyError::BrokenChain { .. } => Self::Tampered,
            VerifyError::RangeOutsideNote { .. } => Self::Tampered,
            VerifyError::HopLimitExceeded { .. } => Self::TooManyHops,
            VerifyError::UnknownCertificate(_) => Self::Tampered,
            VerifyError::CertificateChain { .. } => Self::Tampered,
            VerifyError::IssuanceNotAllowed { .. } => Self::Tampered,
            VerifyError::CertificateNotValid { .. } => Self::CertificateExpired,
            VerifyError::NoteExpired { .. } => Self::MoneyExpired,
            VerifyError::TimeOrder { .. } => Self::ClockMismatch,
            VerifyError::Revoked { .. } => Self::CertificateRevoked,
            VerifyError::CrlTooOld { .. } => Self::CrlTooOld,
            VerifyError::AboveFloorLimit { .. } => Self::AboveOfflineLimit,
            VerifyError::IssuanceSignature { .. } => Self::Tampered,
            VerifyError::SpendSignature { .. } => Self::Tampered,
            VerifyError::DuplicateInput { .. } => Self::Tampered,
            VerifyError::DoubleSpendInPayment(_) => Self::AlreadySpent,
            VerifyError::DoubleSpend(_) => Self::AlreadySpent,
            VerifyError::CarriedCrl { .. } => Self::Tampered,
            VerifyError::AbovePayerLimit { .. } => Self::AboveWalletLimit,
            VerifyError::UserVerificationRequired { .. } => Self::NeedsUserVerification,
        }
    }

    /// A stable name (CSV, JSON, logs).
    pub fn code(self) -> &'static str {
        match self {
            Self::RequestExpired => "request_expired",
            Self::SaleCancelled => "sale_cancelled",
            Self::SaleAlreadyPaid => "sale_already_paid",
            Self::WrongAmount => "wrong_amount",
            Self::WrongCurrency => "wrong_currency",
            Self::NotForThisSale => "not_for_this_sale",
            Self::CertificateRevoked => "certificate_revoked",
            Self::CertificateExpired => "certificate_expired",
            Self::MoneyExpired => "money_expired",
            Self::ClockMismatch => "clock_mismatch",
            Self::CrlTooOld => "crl_too_old",
            Self::AboveOfflineLimit => "above_offline_limit",
            Self::AlreadySpent => "already_spent",
            Self::Tampered => "tampered",
            Self::Unreadable => "unreadable",
            Self::TooManyHops => "too_many_hops",
            Self::AboveWalletLimit => "above_wallet_limit",
            Self::NeedsUserVerification => "needs_user_verification",
            Self::BlockedCounterparty => "blocked_counterparty",
        }
    }

    /// What the cashier reads: what went wrong.
    pub fn cashier(self) -> &'static str {
        match self {
            Self::RequestExpired => "The payment request expired before the payment arrived.",
            Self::SaleCancelled => "This sale was cancelled.",
            Self::SaleAlreadyPaid => "This sale is already paid with another payment.",
            Self::WrongAmount => "The payment is for a different amount than this sale.",
            Self::WrongCurrency => "The payment is in a different currency than this sale.",
            Self::NotForThisSale => {
                "The payment is for another sale or another terminal, not for the code on this screen."
            }
            Self::CertificateRevoked => {
                "The customer's wallet, or the bank behind its money, has been blocked."
            }
            Self::CertificateExpired => {
                "A certificate in the payment was not valid when it was used."
            }
            Self::MoneyExpired => "The digital money in this payment has expired.",
            Self::ClockMismatch => {
                "The payment's time does not fit this terminal's clock (one of the two clocks is wrong)."
            }
            Self::CrlTooOld => {
                "This terminal has not been online recently enough to take this amount offline."
            }
            Self::AboveOfflineLimit => "This amount is above the limit for offline payments.",
            Self::AlreadySpent => {
                "This money was already spent: the payment copies value seen before. The evidence is kept for the bank."
            }
            Self::Tampered => "The payment failed the security checks (damaged or forged).",
            Self::Unreadable => "What was scanned is not a readable payment.",
            Self::TooManyHops => "This money has changed hands too many times to be taken offline.",
            Self::AboveWalletLimit => {
                "This amount is above what the customer's wallet may pay in one offline payment."
            }
            Self::NeedsUserVerification => {
                "The payment was approved without the customer's PIN or fingerprint, and this amount needs one."
            }
            Self::BlockedCounterparty => "Our bank does not allow payments from this wallet.",
        }
    }

    /// What the cashier tells the customer: what to do next.
    pub fn customer(self) -> &'static str {
        match self {
            Self::RequestExpired => {
                "This request has expired. I will start a new one: please pay again."
            }
            Self::SaleCancelled => {
                "That sale was cancelled, so this shop did not take your payment."
            }
            Self::SaleAlreadyPaid => {
                "This sale is already paid. Your payment was not taken by this shop."
            }
            Self::WrongAmount => {
                "Your wallet paid a different amount. Please scan the code again and pay the amount shown."
            }
            Self::WrongCurrency => {
                "Your money is in another currency than this sale. Please pay another way."
            }
            Self::NotForThisSale => {
                "Your wallet paid another request. Please scan the code on this screen and pay again."
            }
            Self::CertificateRevoked => {
                "Your wallet has been blocked by your bank. Please contact your bank and pay another way."
            }
            Self::CertificateExpired => {
                "Your wallet needs to be renewed: go online so your bank can update it, or pay another way."
            }
            Self::MoneyExpired => {
                "Some money in your wallet has expired. Go online and sync your wallet, then pay again."
            }
            Self::ClockMismatch => "Please check the date and time on your phone, then pay again.",
            Self::CrlTooOld => {
                "This terminal must go online before it can take this amount. Please pay a smaller amount or another way."
            }
            Self::AboveOfflineLimit => {
                "This amount is too large for an offline payment. Please pay another way."
            }
            Self::AlreadySpent => {
                "Your wallet tried to pay with money that was already spent. Please contact your bank."
            }
            Self::Tampered => {
                "Your payment could not be verified. Please try again; if it fails again, pay another way."
            }
            Self::Unreadable => "The terminal could not read your payment. Please show it again.",
            Self::TooManyHops => {
                "This money has passed through too many wallets. Please pay with other money, or deposit it at your bank first."
            }
            Self::AboveWalletLimit => {
                "Your bank limits how much your wallet pays at once offline. Please pay in smaller parts or another way."
            }
            Self::NeedsUserVerification => {
                "Please pay again and approve with your PIN or fingerprint."
            }
            Self::BlockedCounterparty => {
                "This shop cannot take payments from your wallet. Please pay another way."
            }
        }
    }

    /// Whether a fraud proof was kept for the bank.
    pub fn keeps_evidence(self) -> bool {
        self == Self::AlreadySpent
    }
}

impl core::fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.cashier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_distinct_words() {
        let mut codes: Vec<_> = DeclineReason::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), DeclineReason::ALL.len());
        for r in DeclineReason::ALL {
            assert!(r.cashier().ends_with('.') && r.customer().ends_with('.'));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.code()));
            assert_eq!(serde_json::from_str::<DeclineReason>(&json).unwrap(), r);
        }
    }
}
