//! The activity list in plain words, and its CSV export. Pure, tested natively.

use ops_wallet_engine::types::{HistoryEntry, HistoryKind, HistoryState};

/// What a flow was, for a person.
pub fn kind_words(kind: HistoryKind) -> &'static str {
    match kind {
        HistoryKind::Out => "Paid",
        HistoryKind::In => "Received",
        HistoryKind::Fund => "Added from your bank",
        HistoryKind::Defund => "Returned to your bank",
        HistoryKind::Deposit => "Deposited at your bank",
        HistoryKind::Refresh => "Notes renewed",
    }
}

/// Where it stands, for a person.
pub fn state_words(state: HistoryState) -> &'static str {
    match state {
        HistoryState::Reserved => "waiting for your approval",
        HistoryState::Signed => "signed, not handed over yet",
        HistoryState::HandedOver => "handed over, not confirmed yet",
        HistoryState::Confirmed => "confirmed",
        HistoryState::Received => "received",
        HistoryState::Deposited => "deposited",
        HistoryState::Cancelled => "cancelled, nothing left the wallet",
        HistoryState::Abandoned => "abandoned after signing: the payee may still deposit it",
        HistoryState::Disputed => {
            "disputed: your bank holds it for review and will credit or refuse it"
        }
        #[allow(unreachable_patterns)]
        _ => "in progress",
    }
}

/// The entries newest first.
pub fn newest_first(mut entries: Vec<HistoryEntry>) -> Vec<HistoryEntry> {
    ops_core::order::sort_stable_by(&mut entries, |a, b| {
        b.updated.cmp(&a.updated).then(b.created.cmp(&a.created))
    });
    entries
}

/// One line of the list: "Paid 3.00 EUR — handed over, not confirmed yet", or for a
/// renewal "Notes renewed 12.00 EUR, 5 notes into 1 — confirmed".
pub fn line(e: &HistoryEntry) -> String {
    let notes = e.notes.map_or_else(String::new, |n| {
        let plural = |k: usize| if k == 1 { "note" } else { "notes" };
        format!(", {} {} into {}", n.returned, plural(n.returned), n.issued)
    });
    format!(
        "{} {}{notes} — {}",
        kind_words(e.kind),
        crate::amounts::format(e.amount, &e.currency),
        state_words(e.state)
    )
}

/// The details view of one entry: label and value, in the order shown. `date` writes a
/// Unix time for a person.
pub fn details(e: &HistoryEntry, date: &dyn Fn(u64) -> String) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("What", kind_words(e.kind).to_owned()),
        ("Amount", crate::amounts::format(e.amount, &e.currency)),
        ("Where it stands", state_words(e.state).to_owned()),
        ("Started", date(e.created)),
        ("Last change", date(e.updated)),
    ];
    if let Some(c) = &e.counterparty {
        rows.push(("Other party (certificate)", c.to_string()));
    }
    if let Some(h) = e.hops {
        rows.push((
            "Hands it passed through",
            match h {
                0 | 1 => "straight from the bank".to_owned(),
                n => format!("{n} wallets since the bank issued it"),
            },
        ));
    }
    if let Some(n) = &e.notes {
        rows.push((
            "Notes",
            format!("{} returned, {} in their place", n.returned, n.issued),
        ));
    }
    rows
}

/// The history as CSV (RFC 4180: quoted fields, CRLF), amounts in minor units.
pub fn to_csv(entries: &[HistoryEntry]) -> String {
    let mut out =
        String::from("created,updated,kind,amount_minor,currency,state,hops,counterparty,flow\r\n");
    for e in entries {
        let fields = [
            e.created.to_string(),
            e.updated.to_string(),
            kind_words(e.kind).to_owned(),
            e.amount.to_string(),
            e.currency.clone(),
            state_words(e.state).to_owned(),
            e.hops.map(|h| h.to_string()).unwrap_or_default(),
            e.counterparty.map(|c| c.to_string()).unwrap_or_default(),
            e.saga.0.clone(),
        ];
        let quoted: Vec<String> = fields
            .iter()
            .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
            .collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ops_wallet_engine::SagaId;

    fn entry(kind: HistoryKind, state: HistoryState, updated: u64) -> HistoryEntry {
        HistoryEntry {
            saga: SagaId(format!("s{updated}")),
            kind,
            amount: 300,
            currency: "EUR".into(),
            counterparty: None,
            hops: Some(1),
            state,
            created: 1,
            updated,
            notes: None,
        }
    }

    #[test]
    fn details_name_the_times_the_hops_and_the_other_party_when_known() {
        let mut e = entry(HistoryKind::Out, HistoryState::HandedOver, 20);
        e.hops = Some(2);
        let rows = details(&e, &|t| format!("t{t}"));
        assert!(rows.contains(&("Started", "t1".to_owned())));
        assert!(rows.contains(&("Last change", "t20".to_owned())));
        assert!(rows.contains(&("Amount", "3.00 EUR".to_owned())));
        assert!(
            rows.iter()
                .any(|(k, v)| *k == "Hands it passed through" && v.contains("2 wallets"))
        );
        assert!(!rows.iter().any(|(k, _)| k.starts_with("Other party")));
        e.counterparty = Some(ops_core::ids::CertId([0xab; 16]));
        let rows = details(&e, &|t| format!("t{t}"));
        assert!(rows.contains(&("Other party (certificate)", "ab".repeat(16))));
    }

    #[test]
    fn lines_say_what_and_where_it_stands() {
        let e = entry(HistoryKind::Out, HistoryState::HandedOver, 5);
        assert_eq!(line(&e), "Paid 3.00 EUR — handed over, not confirmed yet");
        let e = entry(HistoryKind::In, HistoryState::Received, 6);
        assert_eq!(line(&e), "Received 3.00 EUR — received");
        let mut e = entry(HistoryKind::Refresh, HistoryState::Confirmed, 7);
        e.amount = 1_200;
        e.notes = Some(ops_wallet_engine::types::NotesRenewed {
            returned: 5,
            issued: 1,
        });
        assert_eq!(
            line(&e),
            "Notes renewed 12.00 EUR, 5 notes into 1 — confirmed"
        );
    }

    #[test]
    fn newest_first_and_csv_quotes_every_field() {
        let list = newest_first(vec![
            entry(HistoryKind::Fund, HistoryState::Confirmed, 1),
            entry(HistoryKind::Out, HistoryState::Confirmed, 9),
        ]);
        assert_eq!(list[0].updated, 9);
        let csv = to_csv(&list);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{csv}");
        assert!(
            lines[1].starts_with("\"1\",\"9\",\"Paid\",\"300\",\"EUR\""),
            "{csv}"
        );
    }
}
