//! The `BENCH` line format and the figures collected from it.
//!
//! A measurement prints one line per figure:
//!
//! ```text
//! BENCH <section> | <row> | <column> | <value> <unit>
//! ```
//!
//! e.g. `BENCH Verification of a payment | 1 hop | ring native | 0.2143 ms`. Text before
//! `BENCH ` on the line is ignored (a browser's console prefix). Every line with the same
//! section, row and column is one sample of that figure; the report gives the median,
//! the minimum and the maximum of its samples. Sections, rows and columns keep the order
//! in which they first appeared.

/// One figure's position in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The table (a heading of docs/PERFORMANCE.md).
    pub section: String,
    /// The table's row.
    pub row: String,
    /// The table's column.
    pub column: String,
}

/// One `BENCH` line: where it goes, its value and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Where the figure goes.
    pub key: Key,
    /// The measured value.
    pub value: f64,
    /// Its unit (`ms`, `B`, `deposits/s`, …).
    pub unit: String,
}

/// Reads a `BENCH` line; `None` for any other line (or a malformed one).
pub fn parse_line(line: &str) -> Option<Sample> {
    let at = line.find("BENCH ")?;
    let mut parts = line[at + "BENCH ".len()..].split(" | ").map(str::trim);
    let (section, row, column, measure) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [section, row, column].iter().any(|p| p.is_empty()) {
        return None;
    }
    let (value, unit) = measure.split_once(' ').unwrap_or((measure, ""));
    let value: f64 = value.parse().ok().filter(|v: &f64| v.is_finite())?;
    Some(Sample {
        key: Key {
            section: section.to_owned(),
            row: row.to_owned(),
            column: column.to_owned(),
        },
        value,
        unit: unit.trim().to_owned(),
    })
}

/// Median, minimum and maximum of a figure's samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// How many samples.
    pub count: usize,
}

/// The summary of `values`; `None` when empty.
pub fn summarise(values: &[f64]) -> Option<Summary> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let (first, last) = (*sorted.first()?, *sorted.last()?);
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: first,
        max: last,
        count: n,
    })
}

/// Every figure of a run, in order of first appearance.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    entries: Vec<(Key, String, Vec<f64>)>,
}

impl Figures {
    /// Adds a sample to its figure.
    pub fn add(&mut self, sample: Sample) {
        match self.entries.iter_mut().find(|(k, _, _)| *k == sample.key) {
            Some((_, _, values)) => values.push(sample.value),
            None => self
                .entries
                .push((sample.key, sample.unit, vec![sample.value])),
        }
    }

    /// Adds every `BENCH` line of `output`; returns how many there were.
    pub fn add_output(&mut self, output: &str) -> usize {
        let mut added = 0;
        for sample in output.lines().filter_map(parse_line) {
            self.add(sample);
            added += 1;
        }
        added
    }

    /// Section names, in order of first appearance.
    pub fn sections(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (key, _, _) in &self.entries {
            if !out.contains(&key.section.as_str()) {
                out.push(&key.section);
            }
        }
        out
    }

    /// The figures of `section`: (row, column, unit, samples).
    pub fn in_section<'a>(
        &'a self,
        section: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a str, &'a [f64])> + 'a {
        self.entries
            .iter()
            .filter(move |(key, _, _)| key.section == section)
            .map(|(key, unit, values)| {
                (
                    key.row.as_str(),
                    key.column.as_str(),
                    unit.as_str(),
                    values.as_slice(),
                )
            })
    }

    /// The median of one figure, if measured.
    pub fn median(&self, section: &str, row: &str, column: &str) -> Option<f64> {
        self.in_section(section)
            .find(|(r, c, _, _)| *r == row && *c == column)
            .and_then(|(_, _, _, values)| summarise(values))
            .map(|s| s.median)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_and_others_ignored() {
        let s = parse_line("console.log: BENCH Verification | 1 hop | p256 native | 1.25 ms")
            .unwrap_or_else(|| panic!("a BENCH line"));
        assert_eq!(s.key.section, "Verification");
        assert_eq!(s.key.row, "1 hop");
        assert_eq!(s.key.column, "p256 native");
        assert_eq!((s.value, s.unit.as_str()), (1.25, "ms"));
        assert_eq!(parse_line("test result: ok. 3 passed"), None);
        assert_eq!(parse_line("BENCH a | b | c | nan ms"), None);
        assert_eq!(parse_line("BENCH a | b | 1 ms"), None);
        assert!(parse_line("BENCH a | b | c | 3").is_some_and(|s| s.unit.is_empty()));
    }

    #[test]
    fn median_min_max_of_odd_and_even_counts() {
        let odd = summarise(&[3.0, 1.0, 2.0]).unwrap_or_else(|| panic!("three samples"));
        assert_eq!(
            (odd.median, odd.min, odd.max, odd.count),
            (2.0, 1.0, 3.0, 3)
        );
        let even = summarise(&[4.0, 1.0, 2.0, 3.0]).unwrap_or_else(|| panic!("four samples"));
        assert_eq!(even.median, 2.5);
        assert_eq!(summarise(&[]), None);
    }

    #[test]
    fn samples_of_one_figure_are_grouped_in_first_seen_order() {
        let mut f = Figures::default();
        let added = f.add_output(
            "BENCH S | r1 | c | 1 ms\nnoise\nBENCH T | r | c | 5 B\nBENCH S | r1 | c | 3 ms\n",
        );
        assert_eq!(added, 3);
        assert_eq!(f.sections(), vec!["S", "T"]);
        let rows: Vec<_> = f.in_section("S").collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].3, &[1.0, 3.0]);
        assert_eq!(f.median("S", "r1", "c"), Some(2.0));
    }
}
