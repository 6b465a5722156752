//! Report tests: local days, totals and counts per currency, declines by reason, deposits
//! by status and what awaits deposit, the CSV (escaping, formula guard, order, CRLF) and
//! the JSON export, and the same figures read through the engine after real sales.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_executor::block_on;
use ops_core::ids::{CertId, Digest32};

use super::reason::DeclineReason;
use super::report::{self, CSV_HEADER, Period, ReasonCount, Total, iso_utc};
use super::testkit::*;
use super::types::{AcceptedPayment, Decline, DepositStatus, QueueEntry};
use crate::testkit::NOW;
use crate::types::SagaId;

/// 2026-03-01T00:00:00Z.
const MARCH: u64 = 1_772_323_200;
const H: u64 = 3_600;

fn payment(
    i: u8,
    at: u64,
    amount: u64,
    currency: &str,
    reference: Option<&str>,
) -> AcceptedPayment {
    AcceptedPayment {
        id: Digest32([i; 32]),
        sale: SagaId(format!("sale:{i:02x}")),
        amount,
        currency: currency.into(),
        reference: reference.map(str::to_owned),
        accepted_at: at,
        payer: Some(CertId([i; 16])),
        bytes: vec![i],
    }
}

fn queued(p: &AcceptedPayment, status: DepositStatus) -> QueueEntry {
    QueueEntry {
        payment: p.id,
        amount: p.amount,
        currency: p.currency.clone(),
        accepted_at: p.accepted_at,
        status,
        updated: p.accepted_at,
    }
}

fn declined(id: &str, at: u64, reason: DeclineReason) -> Decline {
    Decline {
        id: id.into(),
        sale: Some(SagaId("sale:aa".into())),
        at,
        reason,
        rule: Some(5),
        detail: "V5 amount paid 299 does not equal the amount requested 300".into(),
        amount: Some(300),
        currency: Some("EUR".into()),
        payment: None,
    }
}

#[test]
fn days_are_local() {
    assert_eq!(iso_utc(MARCH), "2026-03-01T00:00:00Z");
    assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso_utc(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
    assert_eq!(iso_utc(4_107_542_400), "2100-03-01T00:00:00Z");
    let d = Period::day_of(MARCH + 10 * H, 0);
    assert_eq!((d.from, d.to), (MARCH, MARCH + 24 * H));
    // 00:30 UTC is still the previous day in New York (UTC-5) and the same day in Paris.
    let ny = Period::day_of(MARCH + H / 2, -5 * 3_600);
    assert_eq!((ny.from, ny.to), (MARCH - 19 * H, MARCH + 5 * H));
    let paris = Period::day_of(MARCH + H / 2, 3_600);
    assert_eq!(paris.from, MARCH - H);
    assert!(paris.contains(MARCH + H / 2) && !paris.contains(paris.to));
    assert_eq!(Period::day_of(10, -3_600).from, 0, "never before the epoch");
}

#[test]
fn totals_counts_declines_and_deposits() {
    let ps = [
        payment(1, MARCH + H, 300, "EUR", None),
        payment(2, MARCH + 2 * H, 450, "EUR", Some("Order 7")),
        payment(3, MARCH + 3 * H, 1_000, "CHF", None),
        payment(4, MARCH + 30 * H, 99, "EUR", None), // the next day
    ];
    let q = vec![
        queued(&ps[0], DepositStatus::Credited { credited_now: 300 }),
        queued(&ps[1], DepositStatus::Pending),
        queued(&ps[2], DepositStatus::Disputed { held_id: Some(4) }),
        queued(
            &ps[3],
            DepositStatus::Posting {
                batch: SagaId("deposit:1".into()),
            },
        ),
    ];
    let ds = [
        declined("a", MARCH + H, DeclineReason::WrongAmount),
        declined("b", MARCH + 2 * H, DeclineReason::AlreadySpent),
        declined("c", MARCH + 4 * H, DeclineReason::WrongAmount),
        declined("d", MARCH + 26 * H, DeclineReason::Unreadable),
    ];
    let day = Period::day_of(MARCH + 12 * H, 0);
    let r = report::report(day, &ps, &ds, &q);
    let t = |c: &str, count, amount| Total {
        currency: c.into(),
        count,
        amount,
    };
    assert_eq!(r.approved, vec![t("CHF", 1, 1_000), t("EUR", 2, 750)]);
    assert_eq!(r.declined, 3);
    assert_eq!(
        r.declines,
        vec![
            ReasonCount {
                reason: DeclineReason::WrongAmount,
                count: 2
            },
            ReasonCount {
                reason: DeclineReason::AlreadySpent,
                count: 1
            }
        ]
    );
    assert_eq!(r.deposits.credited, vec![t("EUR", 1, 300)]);
    assert_eq!(r.deposits.pending, vec![t("EUR", 1, 450)]);
    assert_eq!(r.deposits.disputed, vec![t("CHF", 1, 1_000)]);
    assert!(r.deposits.refused.is_empty());
    assert_eq!(
        r.awaiting,
        vec![t("CHF", 1, 1_000), t("EUR", 2, 549)],
        "awaiting counts every day"
    );
    // Any period.
    let all = report::report(Period::new(0, u64::MAX), &ps, &ds, &q);
    assert_eq!(all.approved, vec![t("CHF", 1, 1_000), t("EUR", 3, 849)]);
    assert_eq!(all.declined, 4);
    let none = report::report(Period::new(MARCH + 50 * H, MARCH + 60 * H), &ps, &ds, &q);
    assert!(none.approved.is_empty() && none.declines.is_empty() && none.declined == 0);
    // The status line.
    let s = report::status(MARCH + 5 * H, Some(MARCH), &q, true, 2);
    assert_eq!(s.offline_for, Some(5 * H));
    assert_eq!(
        (s.disputed, s.fraud_proofs, s.upload_in_flight),
        (1, 2, true)
    );
    assert_eq!(s.oldest_awaiting, Some(MARCH + 2 * H));
}

#[test]
fn csv_is_escaped_ordered_and_guarded() {
    let ps = [
        payment(1, MARCH + 2 * H, 300, "EUR", Some("=HYPERLINK(\"x\")")),
        payment(2, MARCH + H, 450, "EUR", Some("a, \"b\"\nc")),
    ];
    let q = vec![queued(
        &ps[0],
        DepositStatus::Refused {
            code: "payment_invalid".into(),
            message: "no".into(),
        },
    )];
    let ds = [declined("a", MARCH + H, DeclineReason::WrongAmount)];
    let csv = report::csv(Period::new(MARCH, MARCH + 24 * H), &ps, &ds, &q);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines.last(), Some(&""), "every line ends with CRLF");
    // Payment 2 (01:00) and the decline (01:00, payments first), then payment 1.
    assert!(lines[1].starts_with("payment,2026-03-01T01:00:00Z,"));
    assert!(lines[1].contains(",\"a, \"\"b\"\"\nc\","), "{}", lines[1]);
    assert!(
        lines[1].ends_with(",pending,,,"),
        "no queue entry yet: pending"
    );
    assert!(lines[2].starts_with("decline,2026-03-01T01:00:00Z,"));
    assert!(lines[3].starts_with("payment,2026-03-01T02:00:00Z,"));
    let decline_line = lines.iter().find(|l| l.starts_with("decline")).unwrap();
    assert!(decline_line.ends_with(
        ",declined,wrong_amount,V5,V5 amount paid 299 does not equal the amount requested 300"
    ));
    let first = lines
        .iter()
        .find(|l| l.contains("0101010101010101"))
        .unwrap();
    assert!(
        first.contains(",\"'=HYPERLINK(\"\"x\"\")\","),
        "formula guarded: {first}"
    );
    assert!(first.contains(",300,EUR,"));
    assert!(first.contains(",refused,"));
    assert!(first.contains(",0101-0101,"), "short id");
    // A quoted field keeps its line break (LF inside quotes, rows end with CRLF).
    assert_eq!(lines.len(), 5);
}

#[test]
fn json_export_has_the_report_and_every_row() {
    let ps = [payment(1, MARCH + H, 300, "EUR", Some("Order 1"))];
    let q = vec![queued(&ps[0], DepositStatus::Pending)];
    let ds = [declined("a", MARCH + 2 * H, DeclineReason::CrlTooOld)];
    let text = report::json(Period::new(MARCH, MARCH + 24 * H), &ps, &ds, &q);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["report"]["approved"][0]["amount"], 300);
    assert_eq!(v["report"]["declines"][0]["reason"], "crl_too_old");
    assert_eq!(v["report"]["period"]["from"], MARCH);
    assert_eq!(v["payments"][0]["short_id"], "0101-0101");
    assert_eq!(v["payments"][0]["reference"], "Order 1");
    assert_eq!(v["payments"][0]["deposit"], "pending");
    assert_eq!(v["payments"][0]["time_utc"], "2026-03-01T01:00:00Z");
    assert_eq!(v["declines"][0]["reason"], "crl_too_old");
    assert_eq!(v["declines"][0]["time_utc"], "2026-03-01T02:00:00Z");
    assert!(
        v["payments"][0].get("bytes").is_none(),
        "no payment bytes in the export"
    );
}

#[test]
fn the_engine_reports_real_sales() {
    let mut w = world(2);
    let store = till(&w);
    let (a, ra) = sale(&store, 1, 300, NOW);
    approve(&store, &a, &fresh_payment(&mut w, 0, 1, &ra, NOW), NOW);
    let (b, rb) = sale(&store, 2, 500, NOW);
    decline(&store, &b, b"junk", NOW + 1);
    approve(&store, &b, &fresh_payment(&mut w, 1, 2, &rb, NOW), NOW + 2);
    let e = engine(&store);
    let day = Period::day_of(NOW, 0);
    let r = block_on(e.report(day)).unwrap();
    assert_eq!(r.approved[0].amount, 800);
    assert_eq!(r.declined, 1);
    assert_eq!(r.declines[0].reason, DeclineReason::Unreadable);
    assert_eq!(r.deposits.pending[0].count, 2);
    let mut fi = FakeFi::default();
    deposit_all(&w, &store, &mut fi, NOW + 10);
    let r = block_on(e.report(day)).unwrap();
    assert_eq!(r.deposits.credited[0].amount, 800);
    assert!(r.awaiting.is_empty());
    let csv = block_on(e.export_csv(day)).unwrap();
    assert_eq!(csv.matches("\r\npayment,").count(), 2);
    assert_eq!(csv.matches(",credited,").count(), 2);
    let json = block_on(e.export_json(day)).unwrap();
    assert!(json.contains("\"unreadable\""));
    let export = block_on(e.export(day)).unwrap();
    assert_eq!(export.payments.len(), 2);
    assert_eq!(export.declines.len(), 1);
}
