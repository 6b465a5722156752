//! What the POS shows, as plain functions of the till's stored state (tested natively):
//! which sale screen a stored sale comes back as after a reload, the words of a deposit
//! status and of the status line.

use ops_wallet_engine::SagaId;
use ops_wallet_engine::till::saga::SaleState;
use ops_wallet_engine::till::{
    Approval, Decline, DepositStatus, TillSagaRecord, TillSagaState, TillStatus, short_id,
};

use crate::keypad::format_minor;

/// Where a sale stands on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleScreen {
    /// No sale: the keypad.
    Keypad,
    /// The request is shown; the terminal waits for the payment.
    Request {
        /// The sale.
        sale: SagaId,
        /// The request's bytes (the same after every reload).
        request: Vec<u8>,
        /// Amount in minor units.
        amount: u64,
        /// Currency.
        currency: String,
        /// When the request expires (Unix seconds).
        expires: u64,
        /// The reference, if any.
        reference: Option<String>,
    },
    /// Payment bytes are frozen and being decided.
    Deciding {
        /// The sale.
        sale: SagaId,
    },
    /// Approved: stored and queued for deposit.
    Approved {
        /// What was approved.
        approval: Approval,
        /// The signed receipt to show, once signed.
        receipt: Option<Vec<u8>>,
    },
    /// Declined; the sale's request stays open unless it expired or was cancelled.
    Declined {
        /// Why.
        decline: Decline,
        /// The sale, when its request is still open (try again).
        open: Option<SagaId>,
    },
}

/// The sale screen for a stored sale (`None`: the keypad). An open request comes back
/// as shown; a frozen payment as being decided; an approved sale stays approved.
pub fn sale_screen(record: Option<&TillSagaRecord>) -> SaleScreen {
    let Some(record) = record else {
        return SaleScreen::Keypad;
    };
    let TillSagaState::Sale(state) = &record.state else {
        return SaleScreen::Keypad;
    };
    match state {
        SaleState::Open { request } => request_screen(&record.id, request),
        SaleState::Deciding { .. } => SaleScreen::Deciding {
            sale: record.id.clone(),
        },
        SaleState::Approved {
            payment,
            amount,
            currency,
            approved_at,
            ..
        }
        | SaleState::Completed {
            payment,
            amount,
            currency,
            approved_at,
            ..
        } => SaleScreen::Approved {
            approval: Approval {
                sale: record.id.clone(),
                payment: *payment,
                short_id: short_id(payment),
                amount: *amount,
                currency: currency.clone(),
                at: *approved_at,
            },
            receipt: match state {
                SaleState::Completed { receipt, .. } => receipt.clone(),
                _ => None,
            },
        },
        SaleState::Cancelled { .. } | SaleState::Expired { .. } => SaleScreen::Keypad,
    }
}

/// The request screen for `request` of `sale`; the keypad if the bytes do not decode
/// (they were decoded before they were stored, so this does not happen).
pub fn request_screen(sale: &SagaId, request: &[u8]) -> SaleScreen {
    match ops_core::PaymentRequest::from_bytes(request) {
        Ok(r) => SaleScreen::Request {
            sale: sale.clone(),
            request: request.to_vec(),
            amount: r.amount,
            currency: r.currency.clone(),
            expires: r.expires,
            reference: r.label.clone(),
        },
        Err(_) => SaleScreen::Keypad,
    }
}

/// "4:59", "0:07": what is left of a request, or "expired".
pub fn time_left(expires: u64, now: u64) -> String {
    if now >= expires {
        return "expired".into();
    }
    let left = expires - now;
    format!("{}:{:02}", left / 60, left % 60)
}

/// A deposit status in the merchant's words.
pub fn deposit_words(status: &DepositStatus) -> String {
    match status {
        DepositStatus::Pending => "waiting to be deposited".into(),
        DepositStatus::Posting { .. } => "being deposited (the bank's answer is awaited)".into(),
        DepositStatus::Credited { .. } => "credited to your account".into(),
        DepositStatus::Refused { message, .. } => format!("refused by the bank: {message}"),
        DepositStatus::Disputed { .. } => {
            "held by the bank for review (the payer spent this money twice); asked again at each sync".into()
        }
    }
}

/// "3 hours", "12 minutes", "40 seconds", "2 days".
pub fn duration_words(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The status line: how long the terminal has been offline and what awaits deposit.
pub fn status_words(status: &TillStatus) -> String {
    let contact = match status.offline_for {
        None => "Not in contact with the bank since set-up.".to_owned(),
        Some(s) if s < 60 => "In contact with the bank just now.".to_owned(),
        Some(s) => format!("Last contact with the bank {} ago.", duration_words(s)),
    };
    let awaiting = if status.awaiting.is_empty() {
        "Nothing awaits deposit.".to_owned()
    } else {
        let parts: Vec<String> = status
            .awaiting
            .iter()
            .map(|t| {
                format!(
                    "{} in {} payment{}",
                    format_minor(t.amount, &t.currency),
                    t.count,
                    if t.count == 1 { "" } else { "s" }
                )
            })
            .collect();
        format!("Awaiting deposit: {}.", parts.join(", "))
    };
    let disputed = match status.disputed {
        0 => String::new(),
        n => format!(" {n} held for review by the bank."),
    };
    let proofs = match status.fraud_proofs {
        0 => String::new(),
        n => format!(
            " {n} double-spend proof{} kept.",
            if n == 1 { "" } else { "s" }
        ),
    };
    format!("{contact} {awaiting}{disputed}{proofs}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ops_wallet_engine::till::report::Total;

    fn record(state: SaleState) -> TillSagaRecord {
        TillSagaRecord {
            id: SagaId::new("sale", &[1; 16]),
            version: 3,
            created: 10,
            updated: 20,
            state: TillSagaState::Sale(state),
        }
    }

    #[test]
    fn a_stored_sale_comes_back_as_it_was() {
        assert_eq!(sale_screen(None), SaleScreen::Keypad);
        let deciding = record(SaleState::Deciding {
            request: vec![1],
            payment: vec![2],
            received_at: 5,
        });
        assert!(matches!(
            sale_screen(Some(&deciding)),
            SaleScreen::Deciding { .. }
        ));
        let approved = record(SaleState::Approved {
            request: vec![1],
            payment: ops_core::ids::Digest32([9; 32]),
            amount: 250,
            currency: "EUR".into(),
            approved_at: 77,
        });
        match sale_screen(Some(&approved)) {
            SaleScreen::Approved { approval, receipt } => {
                assert_eq!(approval.amount, 250);
                assert_eq!(approval.at, 77);
                assert_eq!(receipt, None);
            }
            other => panic!("{other:?}"),
        }
        let completed = record(SaleState::Completed {
            request: vec![1],
            payment: ops_core::ids::Digest32([9; 32]),
            amount: 250,
            currency: "EUR".into(),
            approved_at: 77,
            receipt: Some(vec![4, 5]),
        });
        assert!(matches!(
            sale_screen(Some(&completed)),
            SaleScreen::Approved { receipt: Some(r), .. } if r == vec![4, 5]
        ));
        for ended in [
            SaleState::Cancelled { request: vec![1] },
            SaleState::Expired { request: vec![1] },
        ] {
            assert_eq!(sale_screen(Some(&record(ended))), SaleScreen::Keypad);
        }
        // Undecodable request bytes never show a request.
        let open = record(SaleState::Open {
            request: vec![0xff],
        });
        assert_eq!(sale_screen(Some(&open)), SaleScreen::Keypad);
    }

    #[test]
    fn times_and_statuses_read_as_words() {
        assert_eq!(time_left(400, 100), "5:00");
        assert_eq!(time_left(107, 100), "0:07");
        assert_eq!(time_left(100, 100), "expired");
        assert_eq!(duration_words(1), "1 second");
        assert_eq!(duration_words(7200), "2 hours");
        assert_eq!(duration_words(86_400 * 3), "3 days");
        let status = TillStatus {
            last_online: Some(0),
            offline_for: Some(3 * 3600),
            awaiting: vec![Total {
                currency: "EUR".into(),
                count: 2,
                amount: 1250,
            }],
            oldest_awaiting: Some(5),
            disputed: 1,
            upload_in_flight: false,
            fraud_proofs: 1,
        };
        assert_eq!(
            status_words(&status),
            "Last contact with the bank 3 hours ago. Awaiting deposit: €12.50 in 2 payments. 1 held for review by the bank. 1 double-spend proof kept."
        );
        let never = TillStatus {
            last_online: None,
            offline_for: None,
            awaiting: vec![],
            oldest_awaiting: None,
            disputed: 0,
            upload_in_flight: false,
            fraud_proofs: 0,
        };
        assert_eq!(
            status_words(&never),
            "Not in contact with the bank since set-up. Nothing awaits deposit."
        );
        assert!(
            deposit_words(&DepositStatus::Refused {
                code: "x".into(),
                message: "no".into()
            })
            .contains("refused by the bank: no")
        );
    }
}
