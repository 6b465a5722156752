//! What recovery did, in plain words: one line per saga for the start-up notice ("a
//! payment interrupted before signing was cancelled; 5.00 EUR is back in your wallet").
//! Amounts are formatted by the app (its currency formatting), passed in as `money`.

use super::{Action, Recovered, RecoveryReport};
use crate::saga::Flow;

impl Recovered {
    /// One plain-language line: what was interrupted and what was done about it.
    /// `money(minor, currency)` formats an amount as the app shows amounts.
    pub fn sentence(&self, money: &dyn Fn(u64, &str) -> String) -> String {
        let a = self
            .amount
            .as_ref()
            .map_or_else(|| "the amount".to_string(), |(v, c)| money(*v, c));
        match (self.flow, self.action) {
            (_, Action::Skipped) => format!(
                "A {} of {a} was moved on in another window; nothing was done here.",
                noun(self.flow)
            ),
            (Flow::Pay, Action::Released) => format!(
                "A payment of {a} was interrupted before you approved it and was cancelled; {a} is back in your wallet."
            ),
            (Flow::Pay, Action::Resign) => format!(
                "A payment of {a} was interrupted before you approved it; approve it again, or cancel it to keep the money."
            ),
            (Flow::Pay, Action::Reshow) => format!(
                "The payment of {a} is shown again with the same code; let the payee scan it or confirm it was accepted. It cannot be paid twice."
            ),
            (Flow::Receive, Action::Reshow) => {
                format!("Your request for {a} is shown again; the payer can still pay it.")
            }
            (Flow::Receive, Action::Closed) => {
                format!("Your request for {a} expired unpaid and was closed.")
            }
            (Flow::Receive, Action::Verified) if self.after == "received" => format!(
                "The payment of {a} scanned before the interruption was checked and is in your wallet."
            ),
            (Flow::Receive, Action::Verified) => format!(
                "The payment scanned for your request of {a} was refused; your request is shown again."
            ),
            (Flow::Fund, _) => {
                format!("Adding {a} from your bank is being asked again; it cannot be added twice.")
            }
            (Flow::Defund, Action::Resign) => format!(
                "Returning {a} to your bank was interrupted before you approved it; approve it again, or cancel it to keep the money in the wallet."
            ),
            (Flow::Defund, _) => {
                format!("Returning {a} to your bank is being sent again; it is credited once.")
            }
            (Flow::Deposit, _) => {
                format!("The deposit of {a} is being sent to your bank again; it is credited once.")
            }
            (Flow::Refresh, Action::Released) => format!(
                "Renewing {a} of notes was interrupted before you approved it and was cancelled; nothing moved, the next sync renews them."
            ),
            (Flow::Refresh, _) if self.was == "reissuing" => format!(
                "Renewing {a} of notes continues: your bank is asked again for the new notes; they cannot be loaded twice."
            ),
            (Flow::Refresh, _) => format!(
                "Renewing {a} of notes continues: the returned notes are sent to your bank again; they are credited once."
            ),
            (flow, _) => format!("The {} of {a} was resumed.", noun(flow)),
        }
    }
}

/// The flow as a noun.
fn noun(flow: Flow) -> &'static str {
    match flow {
        Flow::Pay => "payment",
        Flow::Receive => "request",
        Flow::Fund => "load from your bank",
        Flow::Defund => "return to your bank",
        Flow::Deposit => "deposit",
        Flow::Refresh => "renewal of notes",
    }
}

impl RecoveryReport {
    /// One plain-language line per saga recovery touched, in saga order.
    pub fn sentences(&self, money: &dyn Fn(u64, &str) -> String) -> Vec<String> {
        self.entries.iter().map(|e| e.sentence(money)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SagaId;

    fn money(minor: u64, currency: &str) -> String {
        format!("{}.{:02} {currency}", minor / 100, minor % 100)
    }

    fn entry(flow: Flow, was: &'static str, after: &'static str, action: Action) -> Recovered {
        Recovered {
            saga: SagaId("x:00".into()),
            flow,
            amount: Some((500, "EUR".into())),
            was,
            after,
            action,
            commands: Vec::new(),
        }
    }

    #[test]
    fn every_rule_has_its_own_line() {
        let cases = [
            (
                entry(Flow::Pay, "reserved", "cancelled", Action::Released),
                "A payment of 5.00 EUR was interrupted before you approved it and was cancelled; 5.00 EUR is back in your wallet.",
            ),
            (
                entry(Flow::Pay, "reserved", "reserved", Action::Resign),
                "A payment of 5.00 EUR was interrupted before you approved it; approve it again, or cancel it to keep the money.",
            ),
            (
                entry(Flow::Pay, "signed", "signed", Action::Reshow),
                "The payment of 5.00 EUR is shown again with the same code; let the payee scan it or confirm it was accepted. It cannot be paid twice.",
            ),
            (
                entry(Flow::Receive, "shown", "shown", Action::Reshow),
                "Your request for 5.00 EUR is shown again; the payer can still pay it.",
            ),
            (
                entry(Flow::Receive, "shown", "closed", Action::Closed),
                "Your request for 5.00 EUR expired unpaid and was closed.",
            ),
            (
                entry(Flow::Receive, "scanned", "received", Action::Verified),
                "The payment of 5.00 EUR scanned before the interruption was checked and is in your wallet.",
            ),
            (
                entry(Flow::Receive, "scanned", "shown", Action::Verified),
                "The payment scanned for your request of 5.00 EUR was refused; your request is shown again.",
            ),
            (
                entry(Flow::Fund, "requested", "requested", Action::Repost),
                "Adding 5.00 EUR from your bank is being asked again; it cannot be added twice.",
            ),
            (
                entry(Flow::Defund, "reserved", "reserved", Action::Resign),
                "Returning 5.00 EUR to your bank was interrupted before you approved it; approve it again, or cancel it to keep the money in the wallet.",
            ),
            (
                entry(Flow::Defund, "signed", "signed", Action::Repost),
                "Returning 5.00 EUR to your bank is being sent again; it is credited once.",
            ),
            (
                entry(Flow::Deposit, "posting", "posting", Action::Repost),
                "The deposit of 5.00 EUR is being sent to your bank again; it is credited once.",
            ),
            (
                entry(Flow::Refresh, "reserved", "cancelled", Action::Released),
                "Renewing 5.00 EUR of notes was interrupted before you approved it and was cancelled; nothing moved, the next sync renews them.",
            ),
            (
                entry(Flow::Refresh, "returning", "returning", Action::Repost),
                "Renewing 5.00 EUR of notes continues: the returned notes are sent to your bank again; they are credited once.",
            ),
            (
                entry(Flow::Refresh, "reissuing", "reissuing", Action::Repost),
                "Renewing 5.00 EUR of notes continues: your bank is asked again for the new notes; they cannot be loaded twice.",
            ),
            (
                entry(Flow::Pay, "reserved", "reserved", Action::Skipped),
                "A payment of 5.00 EUR was moved on in another window; nothing was done here.",
            ),
        ];
        for (e, want) in &cases {
            assert_eq!(e.sentence(&money), *want, "{:?} {:?}", e.flow, e.action);
        }
        let report = RecoveryReport {
            entries: cases.iter().map(|(e, _)| e.clone()).collect(),
        };
        assert_eq!(report.sentences(&money).len(), cases.len());
    }

    #[test]
    fn an_unknown_amount_is_named_not_invented() {
        let mut e = entry(Flow::Deposit, "posting", "posting", Action::Repost);
        e.amount = None;
        assert_eq!(
            e.sentence(&money),
            "The deposit of the amount is being sent to your bank again; it is credited once."
        );
    }
}
