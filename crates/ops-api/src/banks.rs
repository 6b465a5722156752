//! The banks a user can choose (`GET /api/v1/banks`): this FI and the other member FIs of
//! its central bank, each with the address that serves its wallet and POS. The apps show
//! the list where a user picks their bank (wallet set-up, POS set-up); a wallet lives on the
//! origin of the bank that certifies it, so choosing another bank opens that bank's app.

use serde::{Deserialize, Serialize};

/// One bank of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bank {
    /// Its FI certificate id, hex.
    pub id: String,
    /// Its certified name (from its certificate, which chains to the root).
    pub name: String,
    /// The address of its service (its wallet at `/`, its POS at `/pos/`); empty for the
    /// bank answering, whose apps are on the origin that asked.
    pub url: String,
}

/// The answer of `GET /api/v1/banks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banks {
    /// The answering bank first, then the others by name.
    pub banks: Vec<Bank>,
}

/// A member FI as the central bank lists it (`GET /cb/v1/crls`, `members`): its id and
/// its service's address. The FI takes the name from the member's certificate, not from
/// here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its FI certificate id, hex.
    pub id: String,
    /// The address of its service.
    pub url: String,
}
