//! `ops simulate`: the offline risk model at scale (`ops-sim`), printed as a table.

use clap::Args as ClapArgs;

use crate::Failure;

/// The run's size and its share of cheaters.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Wallets (each holds five notes of 200.00).
    #[arg(long, default_value_t = 40)]
    wallets: usize,
    /// POS terminals.
    #[arg(long, default_value_t = 8)]
    terminals: usize,
    /// Payment attempts.
    #[arg(long, default_value_t = 1_000)]
    payments: usize,
    /// Simulated days (every evening the terminals deposit and take the CRLs).
    #[arg(long, default_value_t = 5)]
    days: u64,
    /// Share of wallets that cheat (rollback and cloned storage, replays, tampering).
    #[arg(long, default_value_t = 0.1)]
    cheaters: f64,
    /// Share of wallets that take a cheater's copies and pay with them.
    #[arg(long, default_value_t = 0.05)]
    colluders: f64,
    /// Seed: the same seed gives the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs the simulation and prints what it found.
pub fn run(args: &Args) -> Result<(), Failure> {
    let share = |v: f64, what: &str| {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(Failure::input(
                format!("--{what} is a share between 0 and 1, got {v}"),
                "write it as a fraction: 0.1 for 10 %",
            ))
        }
    };
    let params = ops_sim::Params {
        wallets: args.wallets.clamp(2, 10_000),
        terminals: args.terminals.clamp(1, 1_000),
        payments: args.payments.min(1_000_000),
        days: args.days.clamp(1, 60),
        cheaters: share(args.cheaters, "cheaters")?,
        colluders: share(args.colluders, "colluders")?,
        seed: args.seed,
    };
    let o = ops_sim::run(&params).map_err(|e| Failure {
        code: 3,
        message: e.to_string(),
        hint: Some("this is a bug in the protocol or the till: report it with the seed".into()),
    })?;
    println!(
        "wallets {} · terminals {} · payments {} · days {} · cheaters {:.0} % · colluders {:.0} % · seed {}",
        params.wallets,
        params.terminals,
        params.payments,
        params.days,
        params.cheaters * 100.0,
        params.colluders * 100.0,
        params.seed
    );
    println!("| measure | value |\n|---|---|");
    let row = |k: &str, v: String| println!("| {k} | {v} |");
    row("payment attempts", o.attempts.to_string());
    row("approved offline", o.approved.to_string());
    let declined: Vec<String> = o.declined.iter().map(|(k, v)| format!("{k} {v}")).collect();
    row(
        "declined, by reason",
        if declined.is_empty() {
            "none".into()
        } else {
            declined.join(", ")
        },
    );
    row(
        "payments per second (till + FI, 1 core)",
        format!("{:.0}", o.payments_per_second()),
    );
    row("copies of spent ranges presented", o.copies.to_string());
    row(
        "… declined at the terminal (its ledger)",
        o.copies_declined.to_string(),
    );
    row(
        "… declined as revoked (CRL arrived)",
        o.copies_revoked.to_string(),
    );
    row("… approved offline", o.copies_approved.to_string());
    row(
        "double spends detected by the FI",
        format!("{} ({:.1} %)", o.copies_detected, o.detected_percent()),
    );
    row(
        "… attributed to the cheater",
        format!("{} ({:.1} %)", o.copies_attributed, o.attributed_percent()),
    );
    row(
        "time to detection, mean / worst",
        format!(
            "{:.1} h / {:.1} h",
            o.detection_hours.0, o.detection_hours.1
        ),
    );
    row(
        "replays and tampered payments approved",
        format!(
            "{} of {}",
            o.replays_and_tampering_approved, o.replays_and_tampering
        ),
    );
    row(
        "worst cheater: value credited twice",
        o.worst_excess.to_string(),
    );
    row(
        "worst cheater: not recovered from its account",
        o.worst_unrecovered.to_string(),
    );
    row(
        "bound of PROTOCOL.md §8, min(V, Σ notes) × (P − 1)",
        o.worst_bound.to_string(),
    );
    row(
        "credited to terminals / recovered from culprits",
        format!("{} / {}", o.credited, o.recovered),
    );
    row("wall-clock seconds", format!("{:.1}", o.seconds));
    Ok(())
}
