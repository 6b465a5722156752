//! The home screen's figures, computed from the store: what can be spent offline, what is
//! reserved or handed over but not confirmed, when the wallet last synced, what expires
//! soon (notes, the device certificate), on how many notes the value lies, and whether a
//! sync would renew notes. Which screen shows them stays in the app.

use std::collections::BTreeMap;

use ops_core::ids::NoteId;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::refresh::{awaiting_deposit, plan_refresh};
use crate::saga::SagaState;
use crate::snapshot::Snapshot;
use crate::store::WalletStore;
use crate::types::ClaimStatus;

/// Figures for one currency (minor units).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amounts {
    /// Currency code.
    pub currency: String,
    /// Spendable offline now (unexpired, within the hop limit, not held by any flow).
    pub spendable: u64,
    /// Free but not spendable (expired, or at the hop limit): deposit or unload it.
    pub unspendable: u64,
    /// Reserved by a flow waiting for the user's approval.
    pub reserved: u64,
    /// Signed and shown, posted or handed over, not yet confirmed.
    pub handed_over: u64,
}

/// A note expiring soon with free value left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    /// The note.
    pub note: NoteId,
    /// Free value on it.
    pub free: u64,
    /// Currency.
    pub currency: String,
    /// Expiry.
    pub expires: u64,
}

/// The home screen's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomeSummary {
    /// Per currency, ordered by code.
    pub amounts: Vec<Amounts>,
    /// Last successful sync.
    pub last_sync: Option<u64>,
    /// Notes with free value expiring within the warning window, soonest first.
    pub expiring: Vec<Expiring>,
    /// The device certificate's expiry, if onboarded.
    pub certificate_expires: Option<u64>,
    /// Whether it expires within the warning window.
    pub certificate_expiring: bool,
    /// Flows not yet finished.
    pub unfinished: usize,
    /// The earliest expiry of a note with free value left (expired ones included).
    pub earliest_expiry: Option<u64>,
    /// Spendable ranges (each one spend in a payment; a note holds one per free gap).
    pub notes: usize,
    /// Whether a sync would renew notes now (some expire soon, or the value lies on too many
    /// notes) and no renewal is under way: see `Engine::start_refresh`.
    pub refresh_suggested: bool,
}

/// Computes the summary from a snapshot (pure).
pub fn summarize(
    snap: &Snapshot,
    last_sync: Option<u64>,
    unfinished: usize,
    now: u64,
    warn_within: u64,
) -> HomeSummary {
    let mut by: BTreeMap<String, Amounts> = BTreeMap::new();
    let book = snap.free_book();
    for n in &snap.notes {
        let a = by.entry(n.currency.clone()).or_insert_with(|| Amounts {
            currency: n.currency.clone(),
            ..Amounts::default()
        });
        for c in snap.claims.iter().filter(|c| c.note == n.id) {
            match c.status {
                ClaimStatus::Reserved => a.reserved += c.value(),
                ClaimStatus::Signed => a.handed_over += c.value(),
                ClaimStatus::Spent => {}
            }
        }
    }
    let mut expiring = Vec::new();
    for (currency, a) in by.iter_mut() {
        a.spendable = book.balance(currency, now);
        let free: u64 = snap
            .notes
            .iter()
            .filter(|n| &n.currency == currency)
            .map(|n| snap.free_of(n))
            .sum();
        a.unspendable = free.saturating_sub(a.spendable);
    }
    for n in &snap.notes {
        let free = snap.free_of(n);
        if free > 0 && n.expires <= now.saturating_add(warn_within) {
            expiring.push(Expiring {
                note: n.id,
                free,
                currency: n.currency.clone(),
                expires: n.expires,
            });
        }
    }
    ops_core::order::sort_stable_by_key(&mut expiring, |e| (e.expires, e.note));
    let earliest_expiry = snap
        .notes
        .iter()
        .filter(|n| snap.free_of(n) > 0)
        .map(|n| n.expires)
        .min();
    let notes = book
        .notes
        .iter()
        .filter(|g| g.available() > 0 && g.hops < usize::from(g.hop_limit) && g.expires >= now)
        .count();
    let certificate_expires = snap.device.as_ref().map(|d| d.cert.body.not_after);
    HomeSummary {
        amounts: by.into_values().collect(),
        last_sync,
        expiring,
        certificate_expires,
        certificate_expiring: certificate_expires
            .is_some_and(|t| t <= now.saturating_add(warn_within)),
        unfinished,
        earliest_expiry,
        notes,
        refresh_suggested: false,
    }
}

impl<S: WalletStore> Engine<'_, S> {
    /// The home screen's figures at `now`.
    pub async fn summary(&self, now: u64) -> Result<HomeSummary, EngineError> {
        let snap = self.snapshot().await?;
        let settings = self.store().settings().await?;
        let sagas = self.store().sagas().await?;
        let unfinished = sagas.iter().filter(|r| !r.state.is_finished()).count();
        let renewing = sagas
            .iter()
            .any(|r| matches!(&r.state, SagaState::Refresh(s) if !s.is_finished()));
        let awaiting = awaiting_deposit(&sagas, &snap);
        let mut s = summarize(
            &snap,
            settings.last_sync,
            unfinished,
            now,
            self.config().warn_within,
        );
        s.refresh_suggested =
            !renewing && plan_refresh(&snap, &awaiting, now, &self.config().refresh).is_some();
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Claim, SagaId};
    use ops_core::wallet::WalletNote;

    fn note(id: u8, value: u64, expires: u64, hops: usize) -> WalletNote {
        WalletNote {
            id: NoteId([id; 32]),
            value,
            spent: 0,
            hops,
            hop_limit: 2,
            expires,
            currency: "EUR".into(),
            provenance: Vec::new(),
            certs: Vec::new(),
        }
    }

    fn claim(id: u8, from: u64, to: u64, status: ClaimStatus) -> Claim {
        Claim {
            saga: SagaId::new("pay", &[from as u8]),
            note: NoteId([id; 32]),
            from,
            to,
            status,
        }
    }

    #[test]
    fn figures_split_spendable_reserved_handed_over_and_expiring() {
        let now = 1_000;
        let snap = Snapshot {
            notes: vec![
                note(1, 500, now + 100_000, 0),
                note(2, 300, now + 50, 0),
                note(3, 40, now + 100_000, 2), // at its hop limit
                note(4, 10, now - 1, 0),       // expired
            ],
            claims: vec![
                claim(1, 0, 100, ClaimStatus::Reserved),
                claim(1, 100, 150, ClaimStatus::Signed),
                claim(1, 150, 200, ClaimStatus::Spent),
                claim(2, 0, 300, ClaimStatus::Signed),
            ],
            ..Snapshot::default()
        };
        let s = summarize(&snap, Some(900), 2, now, 3_600);
        assert_eq!(
            s.amounts,
            vec![Amounts {
                currency: "EUR".into(),
                spendable: 300,
                unspendable: 50,
                reserved: 100,
                handed_over: 350,
            }]
        );
        assert_eq!(s.last_sync, Some(900));
        assert_eq!(s.unfinished, 2);
        // Note 2 is wholly held; note 4 expired with value left is the first warning.
        let warned: Vec<NoteId> = s.expiring.iter().map(|e| e.note).collect();
        assert_eq!(warned, vec![NoteId([4; 32])]);
        assert_eq!(s.certificate_expires, None);
        assert!(!s.certificate_expiring);
    }

    #[test]
    fn empty_wallet_has_no_figures() {
        let s = summarize(&Snapshot::default(), None, 0, 0, 10);
        assert_eq!(s, HomeSummary::default());
    }
}
