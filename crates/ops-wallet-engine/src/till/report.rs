//! Reports: totals for a day or any period, counts, declines by reason, deposits by
//! status and what awaits deposit; CSV and JSON exports; the terminal's status (how long
//! offline, how much awaits deposit). Pure functions over the stored records; the engine
//! reads the records ([`super::TillEngine::report`] and friends).

use std::collections::BTreeMap;

use serde::Serialize;

use super::reason::DeclineReason;
use super::types::{AcceptedPayment, Decline, DepositStatus, QueueEntry, short_id};

/// A half-open period `[from, to)` of Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Start (inclusive).
    pub from: u64,
    /// End (exclusive).
    pub to: u64,
}

const DAY: u64 = 86_400;

impl Period {
    /// `[from, to)`.
    pub fn new(from: u64, to: u64) -> Self {
        Self { from, to }
    }

    /// The local day containing `t`, for a clock `utc_offset` seconds ahead of UTC (e.g.
    /// 3 600 for UTC+1).
    pub fn day_of(t: u64, utc_offset: i64) -> Self {
        let local = i128::from(t) + i128::from(utc_offset);
        let start_local = local - local.rem_euclid(i128::from(DAY));
        let start = start_local - i128::from(utc_offset);
        let from = u64::try_from(start.max(0)).unwrap_or(0);
        Self {
            from,
            to: from.saturating_add(DAY),
        }
    }

    /// Whether `t` lies in the period.
    pub fn contains(&self, t: u64) -> bool {
        self.from <= t && t < self.to
    }
}

/// A count and a sum in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Total {
    /// Currency.
    pub currency: String,
    /// How many.
    pub count: u64,
    /// Sum in minor units.
    pub amount: u64,
}

fn totals<'a>(items: impl Iterator<Item = (&'a str, u64)>) -> Vec<Total> {
    let mut m: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (c, a) in items {
        let e = m.entry(c).or_default();
        e.0 = e.0.saturating_add(1);
        e.1 = e.1.saturating_add(a);
    }
    m.into_iter()
        .map(|(c, (count, amount))| Total {
            currency: c.to_string(),
            count,
            amount,
        })
        .collect()
}

/// Declines of one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// The reason.
    pub reason: DeclineReason,
    /// How many.
    pub count: u64,
}

/// The payments of a period by deposit status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DepositTotals {
    /// Waiting for an upload or its answer.
    pub pending: Vec<Total>,
    /// Credited.
    pub credited: Vec<Total>,
    /// Held for review by the FI.
    pub disputed: Vec<Total>,
    /// Refused by the FI.
    pub refused: Vec<Total>,
}

/// A report for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The period.
    pub period: Period,
    /// Approved payments accepted in the period, per currency.
    pub approved: Vec<Total>,
    /// Declined attempts in the period.
    pub declined: u64,
    /// Declined attempts by reason (reasons that occurred, in report order).
    pub declines: Vec<ReasonCount>,
    /// The period's payments by deposit status.
    pub deposits: DepositTotals,
    /// Everything accepted at any time that still awaits the FI's final word (pending,
    /// being posted or disputed), per currency.
    pub awaiting: Vec<Total>,
}

fn status_of<'a>(queue: &'a BTreeMap<[u8; 32], &'a QueueEntry>, p: &AcceptedPayment) -> &'a str {
    queue.get(&p.id.0).map_or("pending", |e| e.status.code())
}

/// The report for `period` over the payments and declines of the period and the whole
/// deposit queue (records outside the period are ignored where the period applies).
pub fn report(
    period: Period,
    payments: &[AcceptedPayment],
    declines: &[Decline],
    queue: &[QueueEntry],
) -> Report {
    let in_period: Vec<&AcceptedPayment> = payments
        .iter()
        .filter(|p| period.contains(p.accepted_at))
        .collect();
    let by_id: BTreeMap<[u8; 32], &QueueEntry> = queue.iter().map(|e| (e.payment.0, e)).collect();
    let declined: Vec<&Decline> = declines.iter().filter(|d| period.contains(d.at)).collect();
    let declines_by_reason = DeclineReason::ALL
        .iter()
        .map(|r| ReasonCount {
            reason: *r,
            count: declined.iter().filter(|d| d.reason == *r).count() as u64,
        })
        .filter(|c| c.count > 0)
        .collect();
    let with_status = |codes: &[&str]| {
        totals(
            in_period
                .iter()
                .filter(|p| codes.contains(&status_of(&by_id, p)))
                .map(|p| (p.currency.as_str(), p.amount)),
        )
    };
    Report {
        period,
        approved: totals(in_period.iter().map(|p| (p.currency.as_str(), p.amount))),
        declined: declined.len() as u64,
        declines: declines_by_reason,
        deposits: DepositTotals {
            pending: with_status(&["pending", "posting"]),
            credited: with_status(&["credited"]),
            disputed: with_status(&["disputed"]),
            refused: with_status(&["refused"]),
        },
        awaiting: totals(
            queue
                .iter()
                .filter(|e| e.status.awaits())
                .map(|e| (e.currency.as_str(), e.amount)),
        ),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds `t`.
pub fn iso_utc(t: u64) -> String {
    let days = t / DAY;
    let secs = t % DAY;
    // Howard Hinnant's civil-from-days, for days since 1970-01-01.
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i128::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// One CSV field: quoted when it holds a comma, quote or line break; text that a
/// spreadsheet would run as a formula (`= + - @`, tab, carriage return first) gets a
/// leading apostrophe.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The CSV header.
pub const CSV_HEADER: &str = "record,time_utc,unix_time,sale,payment,short_id,amount_minor,currency,reference,status,reason,rule,detail";

/// One row per approved payment and per declined attempt of the period, by time: the
/// payment's deposit status, or the decline's reason code, rule and detail. Amounts in
/// minor units. Lines end with CRLF (RFC 4180).
pub fn csv(
    period: Period,
    payments: &[AcceptedPayment],
    declines: &[Decline],
    queue: &[QueueEntry],
) -> String {
    let by_id: BTreeMap<[u8; 32], &QueueEntry> = queue.iter().map(|e| (e.payment.0, e)).collect();
    let mut rows: Vec<(u64, u8, String)> = Vec::new();
    for p in payments.iter().filter(|p| period.contains(p.accepted_at)) {
        let fields = [
            "payment".to_string(),
            iso_utc(p.accepted_at),
            p.accepted_at.to_string(),
            p.sale.0.clone(),
            p.id.to_string(),
            short_id(&p.id),
            p.amount.to_string(),
            p.currency.clone(),
            p.reference.clone().unwrap_or_default(),
            status_of(&by_id, p).to_string(),
            String::new(),
            String::new(),
            String::new(),
        ];
        rows.push((p.accepted_at, 0, join(&fields)));
    }
    for d in declines.iter().filter(|d| period.contains(d.at)) {
        let fields = [
            "decline".to_string(),
            iso_utc(d.at),
            d.at.to_string(),
            d.sale.as_ref().map(|s| s.0.clone()).unwrap_or_default(),
            d.payment.map(|p| p.to_string()).unwrap_or_default(),
            d.payment.map(|p| short_id(&p)).unwrap_or_default(),
            d.amount.map(|a| a.to_string()).unwrap_or_default(),
            d.currency.clone().unwrap_or_default(),
            String::new(),
            "declined".to_string(),
            d.reason.code().to_string(),
            d.rule.map(|r| format!("V{r}")).unwrap_or_default(),
            d.detail.clone(),
        ];
        rows.push((d.at, 1, join(&fields)));
    }
    ops_core::order::sort_stable_by(&mut rows, |a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for (_, _, r) in rows {
        out.push_str(&r);
        out.push_str("\r\n");
    }
    out
}

fn join(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// An approved payment as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRow {
    /// The sale.
    pub sale: String,
    /// The payment id (hex).
    pub payment: String,
    /// The short id.
    pub short_id: String,
    /// Amount in minor units.
    pub amount: u64,
    /// Currency.
    pub currency: String,
    /// The sale's reference.
    pub reference: Option<String>,
    /// When it was approved (Unix seconds).
    pub accepted_at: u64,
    /// The same, `YYYY-MM-DDTHH:MM:SSZ`.
    pub time_utc: String,
    /// The payer's device certificate id.
    pub payer: Option<String>,
    /// Deposit status code.
    pub deposit: String,
    /// The FI's refusal, when refused.
    pub refusal: Option<String>,
}

/// A decline as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclineRow {
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub time_utc: String,
    /// The decline (reason as its code).
    #[serde(flatten)]
    pub decline: Decline,
}

/// The JSON export of a period: the report, every approved payment and every decline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Export {
    /// The totals.
    pub report: Report,
    /// Approved payments, by time.
    pub payments: Vec<PaymentRow>,
    /// Declined attempts, by time.
    pub declines: Vec<DeclineRow>,
}

/// The export of `period` (see [`Export`]).
pub fn export(
    period: Period,
    payments: &[AcceptedPayment],
    declines: &[Decline],
    queue: &[QueueEntry],
) -> Export {
    let by_id: BTreeMap<[u8; 32], &QueueEntry> = queue.iter().map(|e| (e.payment.0, e)).collect();
    let mut ps: Vec<&AcceptedPayment> = payments
        .iter()
        .filter(|p| period.contains(p.accepted_at))
        .collect();
    ops_core::order::sort_stable_by_key(&mut ps, |p| (p.accepted_at, p.id));
    let mut ds: Vec<&Decline> = declines.iter().filter(|d| period.contains(d.at)).collect();
    ops_core::order::sort_stable_by(&mut ds, |a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    Export {
        report: report(period, payments, declines, queue),
        payments: ps
            .into_iter()
            .map(|p| {
                let entry = by_id.get(&p.id.0);
                PaymentRow {
                    sale: p.sale.0.clone(),
                    payment: p.id.to_string(),
                    short_id: short_id(&p.id),
                    amount: p.amount,
                    currency: p.currency.clone(),
                    reference: p.reference.clone(),
                    accepted_at: p.accepted_at,
                    time_utc: iso_utc(p.accepted_at),
                    payer: p.payer.map(|c| c.to_string()),
                    deposit: status_of(&by_id, p).to_string(),
                    refusal: entry.and_then(|e| match &e.status {
                        DepositStatus::Refused { code, message } => {
                            Some(format!("{code}: {message}"))
                        }
                        _ => None,
                    }),
                }
            })
            .collect(),
        declines: ds
            .into_iter()
            .map(|d| DeclineRow {
                time_utc: iso_utc(d.at),
                decline: d.clone(),
            })
            .collect(),
    }
}

/// The JSON text of [`export`].
pub fn json(
    period: Period,
    payments: &[AcceptedPayment],
    declines: &[Decline],
    queue: &[QueueEntry],
) -> String {
    serde_json::to_string_pretty(&export(period, payments, declines, queue))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The terminal's status line: how long offline, how much awaits deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TillStatus {
    /// The last successful exchange with the FI.
    pub last_online: Option<u64>,
    /// Seconds since then (`None`: never online since set-up).
    pub offline_for: Option<u64>,
    /// What awaits the FI's final word (pending, being posted, disputed), per currency.
    pub awaiting: Vec<Total>,
    /// The oldest acceptance time among them.
    pub oldest_awaiting: Option<u64>,
    /// Of those, how many are disputed (held for review by the FI).
    pub disputed: u64,
    /// Whether an upload is being posted.
    pub upload_in_flight: bool,
    /// Fraud proofs kept from declined double spends (the FI has no endpoint to receive
    /// them yet; they are in the JSON export's declines and stay in the store).
    pub fraud_proofs: usize,
}

/// The status at `now`.
pub fn status(
    now: u64,
    last_online: Option<u64>,
    queue: &[QueueEntry],
    upload_in_flight: bool,
    fraud_proofs: usize,
) -> TillStatus {
    let awaiting: Vec<&QueueEntry> = queue.iter().filter(|e| e.status.awaits()).collect();
    TillStatus {
        last_online,
        offline_for: last_online.map(|t| now.saturating_sub(t)),
        awaiting: totals(awaiting.iter().map(|e| (e.currency.as_str(), e.amount))),
        oldest_awaiting: awaiting.iter().map(|e| e.accepted_at).min(),
        disputed: awaiting
            .iter()
            .filter(|e| matches!(e.status, DepositStatus::Disputed { .. }))
            .count() as u64,
        upload_in_flight,
        fraud_proofs,
    }
}
