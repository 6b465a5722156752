//! docs/PERFORMANCE.md from the collected figures: one table per section.

use super::results::{Figures, summarise};

/// Everything the report says besides the figures.
#[derive(Debug, Clone)]
pub struct Context {
    /// Runs per figure asked for.
    pub runs: usize,
    /// CPU, cores, memory.
    pub machine: String,
    /// Operating system and kernel.
    pub system: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `chromium --version`.
    pub chromium: String,
    /// When the run started (UTC).
    pub date: String,
    /// Load averages when the run started.
    pub load_at_start: String,
    /// Load averages when it ended.
    pub load_at_end: String,
    /// Minutes the whole command took.
    pub minutes: f64,
    /// Sections not measured, each with why.
    pub missing: Vec<(String, String)>,
}

/// How each section was measured, by the start of its name.
const INTROS: [(&str, &str); 7] = [
    (
        "Payment size",
        "Canonical bytes of the ops-core test payments (`World::payment`: a 1,000 note, 250 paid, \
         passed through 1, 2 or 3 wallets to the POS), as carried by the animated QR or NFC: with \
         every certificate the payee may lack, without the FI certificates (a payee that holds \
         the FIs' certificates already), and without any certificate \
         (a payee that already holds the payers' device certificates too). Each variant is \
         decoded and verified before it is counted. Source: `crates/ops-core/benches/figures.rs`.",
    ),
    (
        "Verification of a payment",
        "Offline verification of one payment with every certificate carried, nothing cached \
         (`Verifier::verify_payment`: certificate chains, CRLs, issuance, every spend's \
         WebAuthn assertion). Native: the release profile, per provider \
         (`crates/ops-core/benches/figures.rs`). wasm: the p256 provider the apps use, the \
         release profile, in headless Chromium through `wasm-bindgen-test` \
         (`crates/ops-core/tests/verify_wasm.rs`). Per run the median of at least 20 \
         verifications (at least 0.6 s); the table gives the median of the runs.",
    ),
    (
        "Animated QR transfer",
        "Frames shown and seconds of animation until the payment is complete at the receiver, \
         for a payment of the size measured above, each frame lost independently with the \
         given probability and the receiver starting at a random point of the loop; each run \
         is the mean of 1,000 simulated receivers with its own random seed. BC-UR multipart \
         (the `ur` crate) is shown at the same QR version and frame rate, its fragment as \
         large as that version holds. Source: `crates/ops-transport/benches/figures.rs`.",
    ),
    (
        "QR decode",
        "The transport test page (release build, as the apps) scans a 3-hop payment played \
         by Chromium's fake camera at 640×480; the QR worker decodes every frame. Per run the \
         mean over the frames of that scan: inside the worker, and as the page waits for the \
         answer (frame transfer, decode, answer). Source: \
         `tests/tests/transport_browser.rs::the_scanner_decodes_a_payment_in_the_qr_worker_byte_for_byte`.",
    ),
    (
        "Settlement",
        "Deposits per second through the real FI service (release) on loopback, on SQLite and \
         on a PostgreSQL started for the run: 2,000 payments, one per request, 256 requests in \
         flight; next to the verification bound (raw ES256 verifications per second on all \
         cores with ring, best of three, divided by the 5 signatures a deposit verified from \
         scratch checks); 2,000 more through the batch endpoint (100 payments per request); \
         about 500 claims cleared between two FIs through the central bank (each verified at \
         the central bank and at the issuer). The load generator runs on the same machine. \
         Source: `crates/ops-issuer/benches/deposits.rs`.",
    ),
    (
        "Bundle sizes",
        "The release build `cargo xtask build` makes (`dist/`): each file compressed on its \
         own, gzip at level 9 and brotli at quality 11, summed per row. \"Every precached \
         file\" is what the app's service worker downloads at install (the wallet's includes \
         the QR worker).",
    ),
    (
        "Offline cold start",
        "Each app is installed online in headless Chromium, then the server is killed; per \
         sample Chromium quits and starts again on the same profile and opens the app, which \
         comes from the service-worker cache. The figure runs from the navigation's start to \
         the first screen in the page (the wallet's balance, the POS's set-up form; Leptos \
         attaches the screen's handlers as it creates it). Three samples per run. Source: \
         `tests/tests/pwa_offline.rs::cold_start_offline_figures`.",
    ),
];

/// Decimals for a cell: none for whole numbers (bytes, counts), else by the median's size.
fn decimals(values: &[f64], median: f64) -> usize {
    let magnitude = median.abs();
    if values.iter().all(|v| v.fract() == 0.0) || magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        3
    }
}

/// A table cell: the median and unit, then the range when the samples differ.
fn cell(values: &[f64], unit: &str) -> String {
    let Some(s) = summarise(values) else {
        return "–".into();
    };
    let d = decimals(values, s.median);
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    let n = |v: f64| grouped(&format!("{v:.d$}"));
    if s.min == s.max {
        format!("{}{unit}", n(s.median))
    } else {
        format!("{}{unit} ({}–{})", n(s.median), n(s.min), n(s.max))
    }
}

/// A formatted number with commas between thousands in its whole part from 10,000 on.
fn grouped(number: &str) -> String {
    let (sign, rest) = number
        .strip_prefix('-')
        .map_or(("", number), |rest| ("-", rest));
    let (whole, fraction) = rest.split_once('.').map_or((rest, ""), |(w, f)| (w, f));
    if whole.len() < 5 {
        return number.to_owned();
    }
    let mut out = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if fraction.is_empty() {
        format!("{sign}{out}")
    } else {
        format!("{sign}{out}.{fraction}")
    }
}

/// The table of one section: rows and columns in order of first appearance.
fn table(figures: &Figures, section: &str) -> String {
    let mut rows: Vec<&str> = Vec::new();
    let mut columns: Vec<&str> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for (row, column, _, values) in figures.in_section(section) {
        if !rows.contains(&row) {
            rows.push(row);
        }
        if !columns.contains(&column) {
            columns.push(column);
        }
        counts.push(values.len());
    }
    let mut out = format!("| | {} |\n|---|", columns.join(" | "));
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for row in &rows {
        out.push_str(&format!("| {row} |"));
        for column in &columns {
            let found = figures
                .in_section(section)
                .find(|(r, c, _, _)| r == row && c == column);
            let text = found.map_or_else(|| "–".into(), |(_, _, unit, values)| cell(values, unit));
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    let (least, most) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    let samples = if least == most {
        format!("{least}")
    } else {
        format!("{least}–{most}")
    };
    out.push_str(&format!("\nSamples per figure: {samples}.\n"));
    out
}

/// The whole document.
pub fn render(figures: &Figures, context: &Context) -> String {
    let mut out = String::from("# Performance\n\n");
    out.push_str(&format!(
        "Generated by `cargo xtask bench` (issue 15) on {date}; regenerate rather than edit. \
         Each figure was measured in {runs} separate runs (a table notes where a run gives \
         several samples); a cell is the **median** of the samples, with the minimum and \
         maximum in brackets when they differ. The whole command took {minutes:.1} minutes.\n\n",
        date = context.date,
        runs = context.runs,
        minutes = context.minutes,
    ));
    out.push_str(&format!(
        "**Machine:** {machine}; {system}; {rustc}; {chromium}. This is a *shared* 2-core \
         development machine: other engineers' builds ran during the measurement (load \
         average {start} at the start, {end} at the end; 1, 5 and 15 minutes), so times are \
         pessimistic and spread wider than on an idle machine; sizes and frame counts do not \
         depend on it.\n\n",
        machine = context.machine,
        system = context.system,
        rustc = context.rustc,
        chromium = context.chromium,
        start = context.load_at_start,
        end = context.load_at_end,
    ));
    out.push_str(
        "Each measurement prints one line per figure, \
         `BENCH <section> | <row> | <column> | <value> <unit>`, which the command collects \
         (`crates/xtask/src/bench/results.rs`); `cargo xtask bench --runs N` sets the runs \
         (also `OPS_BENCH_RUNS`), `--only NAME,…` measures some sources and writes the result \
         to the target folder instead of this file.\n",
    );
    for section in figures.sections() {
        out.push_str(&format!("\n## {section}\n\n"));
        if let Some((_, intro)) = INTROS.iter().find(|(start, _)| section.starts_with(start)) {
            out.push_str(intro);
            out.push_str("\n\n");
        }
        out.push_str(&table(figures, section));
    }
    if !context.missing.is_empty() {
        out.push_str("\n## Not measured yet\n\n");
        for (what, why) in &context.missing {
            out.push_str(&format!("- {what}: {why}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_show_the_median_and_a_range_only_when_samples_differ() {
        assert_eq!(cell(&[673.0], "B"), "673 B");
        assert_eq!(cell(&[1.5, 1.25, 2.0], "ms"), "1.50 ms (1.25–2.00)");
        assert_eq!(cell(&[], "ms"), "–");
        assert_eq!(cell(&[1_270_638.0], "B"), "1,270,638 B");
        assert_eq!(cell(&[9_999.0, 12_345.5], "B"), "11,172 B (9999–12,346)");
    }

    #[test]
    fn a_section_becomes_a_table_with_gaps_marked() {
        let mut f = Figures::default();
        f.add_output(
            "BENCH V | 1 hop | a | 1 ms\nBENCH V | 1 hop | b | 2 ms\nBENCH V | 2 hops | a | 3 ms\n",
        );
        let t = table(&f, "V");
        assert!(
            t.starts_with(
                "| | a | b |\n|---|---|---|\n| 1 hop | 1 ms | 2 ms |\n| 2 hops | 3 ms | – |\n"
            ),
            "{t}"
        );
    }
}
