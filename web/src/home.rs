//! What the home screen says besides the balance: time since the last sync and warnings
//! before notes or the certificate expire. Pure, tested natively.

use ops_wallet_engine::HomeSummary;

/// "3 minutes", "2 hours", "5 days".
pub fn duration_words(seconds: u64) -> String {
    let (n, unit) = match seconds {
        0..60 => return "less than a minute".into(),
        60..3_600 => (seconds / 60, "minute"),
        3_600..86_400 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// "Last synced 2 hours ago" or "Never synced with your bank".
pub fn last_sync_words(last_sync: Option<u64>, now: u64) -> String {
    match last_sync {
        Some(t) => format!("Last synced {} ago", duration_words(now.saturating_sub(t))),
        None => "Not synced with your bank yet".into(),
    }
}

/// Warnings for the home screen, most urgent first, each with what to do.
pub fn warnings(summary: &HomeSummary, now: u64) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(expires) = summary.certificate_expires {
        if expires <= now {
            out.push(
                "This wallet's certificate has expired: payees will refuse its payments. Sync with your bank while online to renew it."
                    .into(),
            );
        } else if summary.certificate_expiring {
            out.push(format!(
                "This wallet's certificate expires in {}: sync with your bank while online to renew it.",
                duration_words(expires - now)
            ));
        }
    }
    if let Some(first) = summary.expiring.first() {
        let free: u64 = summary
            .expiring
            .iter()
            .filter(|e| e.currency == first.currency)
            .map(|e| e.free)
            .sum();
        out.push(format!(
            "{} of your money expires in {}: sync while online to renew it, or spend it first.",
            crate::amounts::format(free, &first.currency),
            duration_words(first.expires.saturating_sub(now))
        ));
    }
    for a in &summary.amounts {
        if a.unspendable > 0 {
            out.push(format!(
                "{} can no longer be spent offline (expired or passed on too often): sync while online to get it back.",
                crate::amounts::format(a.unspendable, &a.currency)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ops_wallet_engine::summary::{Amounts, Expiring};

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(5), "less than a minute");
        assert_eq!(duration_words(60), "1 minute");
        assert_eq!(duration_words(7_200), "2 hours");
        assert_eq!(duration_words(86_400 * 3 + 5), "3 days");
        assert_eq!(last_sync_words(None, 10), "Not synced with your bank yet");
        assert_eq!(last_sync_words(Some(100), 220), "Last synced 2 minutes ago");
    }

    #[test]
    fn expiring_money_and_certificate_each_get_a_warning_that_says_what_to_do() {
        let now = 1_000_000;
        let summary = HomeSummary {
            amounts: vec![Amounts {
                currency: "EUR".into(),
                spendable: 500,
                unspendable: 120,
                ..Amounts::default()
            }],
            expiring: vec![Expiring {
                note: ops_core::ids::NoteId([1; 32]),
                free: 250,
                currency: "EUR".into(),
                expires: now + 2 * 86_400,
            }],
            certificate_expires: Some(now + 3_600),
            certificate_expiring: true,
            ..HomeSummary::default()
        };
        let w = warnings(&summary, now);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("certificate expires in 1 hour"));
        assert!(w[1].contains("expires in 2 days") && w[1].contains("sync"));
        assert!(w[2].contains("can no longer be spent"));
        assert!(warnings(&HomeSummary::default(), now).is_empty());
        let expired = HomeSummary {
            certificate_expires: Some(now - 1),
            ..HomeSummary::default()
        };
        assert!(warnings(&expired, now)[0].contains("has expired"));
    }
}
