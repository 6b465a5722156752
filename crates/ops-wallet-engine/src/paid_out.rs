//! Payments this wallet handed over that the payee has since deposited: the wallet asks the
//! FI about its own final spends (`POST /api/v1/spends/status`) at each sync and its
//! history then says "deposited" (issue 13). The payer learns it only from the FI: the
//! payee may be offline for days, and the receipt only says the payee accepted.

use ops_core::{Payment, ids::to_hex};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::saga::{PayState, SagaState};
use crate::store::{Batch, HistoryWrite, WalletStore, Write};
use crate::types::{HistoryEntry, HistoryKind, HistoryState};

/// How long after its notes expire a payment is still asked about. No deposit can claim a
/// note after its expiry (rule V14), so the answer cannot change any more; the window only
/// lets a wallet that was offline around the expiry learn a deposit made before it. Without
/// it, payments never deposited (abandoned, or a payee that never synced) would stay first
/// in line forever and crowd out the newer ones (at most `max_spends` per sync).
pub const ASK_AFTER_EXPIRY: u64 = 30 * 86_400;

/// A payment that left this wallet and whose deposit it has not seen yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOut {
    /// Its history line (rewritten when the FI says deposited).
    pub entry: HistoryEntry,
    /// Its final spends (ids, lowercase hex): the payment is deposited once all are.
    pub spends: Vec<String>,
}

/// Which of `paid` the FI's answers show deposited, and when: `answers` holds one entry
/// per spend of `paid`, in order (`POST /api/v1/spends/status`); a payment is deposited
/// once every final spend is, at the latest of their times. Missing answers count as not
/// deposited.
pub fn deposited<'p>(paid: &'p [PaidOut], answers: &[Option<u64>]) -> Vec<(&'p PaidOut, u64)> {
    let mut times = answers.iter().copied();
    let mut out = Vec::new();
    for p in paid {
        // Taken whole first, so one payment's answers never shift onto the next.
        let mine: Vec<Option<u64>> = times.by_ref().take(p.spends.len()).collect();
        if mine.len() < p.spends.len() {
            break;
        }
        let all: Option<Vec<u64>> = mine.into_iter().collect();
        if let Some(at) = all.and_then(|v| v.into_iter().max()) {
            out.push((p, at));
        }
    }
    out
}

impl<S: WalletStore> Engine<'_, S> {
    /// Payments handed over, confirmed or abandoned after signing (the payee may still
    /// deposit them) whose history does not say deposited yet and whose notes expired less
    /// than [`ASK_AFTER_EXPIRY`] before `now`, oldest first, as many as fit in `max_spends`
    /// final spends (one query to the FI).
    pub async fn paid_out(&self, now: u64, max_spends: usize) -> Result<Vec<PaidOut>, EngineError> {
        let history = self.store().history().await?;
        let mut out = Vec::new();
        let mut asked = 0;
        for entry in history.iter().filter(|e| {
            e.kind == HistoryKind::Out
                && matches!(
                    e.state,
                    HistoryState::HandedOver | HistoryState::Confirmed | HistoryState::Abandoned
                )
        }) {
            let Some(record) = self.store().saga(&entry.saga).await? else {
                continue;
            };
            let payment = match &record.state {
                SagaState::Pay(
                    PayState::HandedOver { payment, .. }
                    | PayState::Confirmed { payment, .. }
                    | PayState::Abandoned { payment, .. },
                ) => payment,
                _ => continue,
            };
            let Ok(p) = Payment::from_bytes(payment) else {
                continue;
            };
            let expires = p.chains.iter().map(|c| c.issuance.body.expires).max();
            if expires.is_some_and(|e| e.saturating_add(ASK_AFTER_EXPIRY) < now) {
                continue;
            }
            let spends: Vec<String> = p
                .chains
                .iter()
                .filter_map(|c| c.last())
                .map(|s| to_hex(&s.id().0))
                .collect();
            asked += spends.len();
            if asked > max_spends {
                break;
            }
            out.push(PaidOut {
                entry: entry.clone(),
                spends,
            });
        }
        Ok(out)
    }

    /// Marks payment `paid`'s history deposited (the FI recorded its spends at `at`).
    /// Idempotent.
    pub async fn mark_deposited(&self, paid: &PaidOut, at: u64) -> Result<(), EngineError> {
        let mut entry = paid.entry.clone();
        entry.state = HistoryState::Deposited;
        entry.updated = entry.updated.max(at);
        let mut b = Batch::new();
        b.push(Write::History(HistoryWrite::Put(entry)));
        Ok(self.store().apply(b).await?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use futures_executor::block_on;

    use super::*;
    use crate::saga::Event;
    use crate::store::{HistoryStore, SagaStore};
    use crate::testkit::*;
    use crate::types::SagaId;

    fn state_of(store: &MemoryStore, saga: &SagaId) -> HistoryState {
        block_on(store.history())
            .unwrap()
            .into_iter()
            .find(|e| &e.saga == saga)
            .unwrap()
            .state
    }

    use crate::store::MemoryStore;

    #[test]
    fn answers_are_matched_to_their_payments_in_order() {
        let paid = |saga: &str, n: usize| PaidOut {
            entry: HistoryEntry {
                saga: SagaId(saga.into()),
                kind: HistoryKind::Out,
                amount: 1,
                currency: "EUR".into(),
                counterparty: None,
                hops: None,
                state: HistoryState::HandedOver,
                created: 0,
                updated: 0,
                notes: None,
            },
            spends: vec![String::new(); n],
        };
        let list = [paid("a", 2), paid("b", 1), paid("c", 3), paid("d", 1)];
        // a: one of two spends not deposited; b: yes; c: all three, latest 9; d: no answer.
        let answers = [Some(5), None, Some(7), Some(8), Some(9), Some(1)];
        let done: Vec<(&str, u64)> = deposited(&list, &answers)
            .into_iter()
            .map(|(p, at)| (p.entry.saga.0.as_str(), at))
            .collect();
        assert_eq!(done, vec![("b", 7), ("c", 9)]);
        assert!(deposited(&list, &[]).is_empty());
    }

    #[test]
    fn a_handed_over_payment_is_asked_about_until_the_fi_says_deposited() {
        let mut w = world(1);
        let wallet = onboarded(&w, 0);
        let out = block_on(engine(&wallet).start_fund(&[1; 16], 1_000, NOW)).unwrap();
        complete(&mut w, 0, &wallet, out.commands, NOW);
        let req = pos_request(&w, 250, 1, NOW);
        // Signed and shown, not handed over: not asked about (it may never leave).
        let bytes = pay_request(&mut w, &wallet, &req.to_bytes());
        let saga = crate::Engine::<MemoryStore>::pay_id(&req.to_bytes()).unwrap();
        assert!(
            block_on(engine(&wallet).paid_out(NOW, 64))
                .unwrap()
                .is_empty()
        );
        // Handed over: it is asked about, by its final spend.
        block_on(engine(&wallet).handle(&saga, Event::HandedOver, NOW)).unwrap();
        let paid = block_on(engine(&wallet).paid_out(NOW, 64)).unwrap();
        assert_eq!(paid.len(), 1);
        assert_eq!(paid[0].entry.saga, saga);
        let p = Payment::from_bytes(&bytes).unwrap();
        assert_eq!(paid[0].spends, vec![p.chains[0].spends[0].id().to_string()]);
        // Confirmed by the receipt: still asked about (the receipt is not a deposit).
        let receipt = receipt(&mut w, &req, &bytes, NOW);
        block_on(engine(&wallet).handle(&saga, Event::Receipt(receipt), NOW)).unwrap();
        assert_eq!(state_of(&wallet, &saga), HistoryState::Confirmed);
        assert_eq!(
            block_on(engine(&wallet).paid_out(NOW, 64)).unwrap().len(),
            1
        );
        // The FI says deposited: the history says so, once.
        let paid = block_on(engine(&wallet).paid_out(NOW, 64)).unwrap();
        block_on(engine(&wallet).mark_deposited(&paid[0], NOW + 60)).unwrap();
        assert_eq!(state_of(&wallet, &saga), HistoryState::Deposited);
        block_on(engine(&wallet).mark_deposited(&paid[0], NOW + 90)).unwrap();
        assert!(
            block_on(engine(&wallet).paid_out(NOW, 64))
                .unwrap()
                .is_empty()
        );
        let entry = block_on(wallet.history()).unwrap();
        assert_eq!(entry.iter().filter(|e| e.saga == saga).count(), 1);
    }

    #[test]
    fn old_undeposited_payments_do_not_crowd_out_new_ones() {
        let mut w = world(1);
        let wallet = onboarded(&w, 0);
        let out = block_on(engine(&wallet).start_fund(&[1; 16], 1_000, NOW)).unwrap();
        complete(&mut w, 0, &wallet, out.commands, NOW);
        let mut sagas = Vec::new();
        for seed in 1..=3 {
            let req = pos_request(&w, 100, seed, NOW);
            pay_request(&mut w, &wallet, &req.to_bytes());
            let saga = crate::Engine::<MemoryStore>::pay_id(&req.to_bytes()).unwrap();
            block_on(engine(&wallet).handle(&saga, Event::HandedOver, NOW)).unwrap();
            sagas.push(saga);
        }
        let e = engine(&wallet);
        // One query holds two spends: the first two in history order (oldest first).
        let paid = block_on(e.paid_out(NOW, 64)).unwrap();
        let first = block_on(e.paid_out(NOW, 2)).unwrap();
        assert_eq!(first, paid[..2].to_vec());
        // Past the notes' expiry and the window: no longer asked about (nothing can change).
        let p = Payment::from_bytes(
            &match &block_on(wallet.saga(&sagas[0])).unwrap().unwrap().state {
                SagaState::Pay(PayState::HandedOver { payment, .. }) => payment.clone(),
                other => panic!("{other:?}"),
            },
        )
        .unwrap();
        let expires = p.chains[0].issuance.body.expires;
        assert_eq!(paid.len(), 3);
        assert_eq!(
            block_on(e.paid_out(expires + ASK_AFTER_EXPIRY, 64))
                .unwrap()
                .len(),
            3
        );
        assert!(
            block_on(e.paid_out(expires + ASK_AFTER_EXPIRY + 1, 64))
                .unwrap()
                .is_empty()
        );
    }
}
