//! The engine's read side for the merchant: status line, reports and exports over the
//! stored records (the pure functions are in [`super::report`]).

use super::engine::TillEngine;
use super::error::TillError;
use super::report::{self, Export, Period, Report, TillStatus};
use super::store::TillStore;
use super::types::{AcceptedPayment, Decline, QueueEntry};

impl<S: TillStore> TillEngine<'_, S> {
    async fn period_records(
        &self,
        period: Period,
    ) -> Result<(Vec<AcceptedPayment>, Vec<Decline>, Vec<QueueEntry>), TillError> {
        let store = self.store();
        Ok((
            store.payments_between(period.from, period.to).await?,
            store.declines_between(period.from, period.to).await?,
            store.queue().await?,
        ))
    }

    /// How long the terminal has been offline and how much awaits deposit, at `now`.
    pub async fn status(&self, now: u64) -> Result<TillStatus, TillError> {
        let store = self.store();
        Ok(report::status(
            now,
            store.last_online().await?,
            &store.awaiting().await?,
            self.upload_in_flight().await?,
            store.fraud_proofs().await?.len(),
        ))
    }

    /// Totals, counts, declines by reason and deposits for `period`.
    pub async fn report(&self, period: Period) -> Result<Report, TillError> {
        let (p, d, q) = self.period_records(period).await?;
        Ok(report::report(period, &p, &d, &q))
    }

    /// The CSV export of `period`.
    pub async fn export_csv(&self, period: Period) -> Result<String, TillError> {
        let (p, d, q) = self.period_records(period).await?;
        Ok(report::csv(period, &p, &d, &q))
    }

    /// The JSON export of `period`.
    pub async fn export_json(&self, period: Period) -> Result<String, TillError> {
        let (p, d, q) = self.period_records(period).await?;
        Ok(report::json(period, &p, &d, &q))
    }

    /// The export of `period` as a value.
    pub async fn export(&self, period: Period) -> Result<Export, TillError> {
        let (p, d, q) = self.period_records(period).await?;
        Ok(report::export(period, &p, &d, &q))
    }
}
