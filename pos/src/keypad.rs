//! Entering an amount on the POS keypad, in minor units (cents) of one currency.

/// A currency as the POS displays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    /// ISO-style code shown next to amounts.
    pub code: &'static str,
    /// Symbol shown before amounts.
    pub symbol: &'static str,
    /// Digits after the decimal point.
    pub minor_digits: u32,
}

/// The demo currency of the terminal until the FI's certificate says otherwise.
pub const DEMO_CURRENCY: Currency = Currency {
    code: "EUR",
    symbol: "€",
    minor_digits: 2,
};

/// The currencies the terminal knows by symbol; any other is shown with its code.
const KNOWN: [Currency; 5] = [
    DEMO_CURRENCY,
    Currency {
        code: "USD",
        symbol: "$",
        minor_digits: 2,
    },
    Currency {
        code: "GBP",
        symbol: "£",
        minor_digits: 2,
    },
    Currency {
        code: "CHF",
        symbol: "CHF ",
        minor_digits: 2,
    },
    Currency {
        code: "JPY",
        symbol: "¥",
        minor_digits: 0,
    },
];

/// The display rules of currency `code`, if the terminal knows it.
pub fn currency(code: &str) -> Option<Currency> {
    KNOWN.iter().copied().find(|c| c.code == code)
}

/// `minor` units of currency `code` for display: `€12.34`, or `12.34 SEK` for a
/// currency without a known symbol.
pub fn format_minor(minor: u64, code: &str) -> String {
    match currency(code) {
        Some(c) => format_amount(minor, c),
        None => format!(
            "{} {code}",
            format_amount(
                minor,
                Currency {
                    code: "",
                    symbol: "",
                    minor_digits: 2
                }
            )
        ),
    }
}

/// A key of the keypad, from a button or the physical keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A digit 0-9.
    Digit(u8),
    /// The `00` key.
    DoubleZero,
    /// Remove the last digit.
    Backspace,
    /// Start again from zero.
    Clear,
    /// Ask the customer to pay the amount shown.
    Charge,
}

impl Key {
    /// Maps a `KeyboardEvent.key` value to a keypad key.
    pub fn from_keyboard(key: &str) -> Option<Self> {
        match key {
            "Backspace" => Some(Self::Backspace),
            "Escape" | "Delete" | "c" | "C" => Some(Self::Clear),
            "Enter" => Some(Self::Charge),
            _ => {
                let mut chars = key.chars();
                match (chars.next(), chars.next()) {
                    (Some(c @ '0'..='9'), None) => Some(Self::Digit(c as u8 - b'0')),
                    _ => None,
                }
            }
        }
    }
}

/// Why a key press was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeypadError {
    /// The amount would exceed the terminal's limit.
    #[error("the largest amount this terminal accepts is {0}")]
    OverLimit(&'static str),
    /// Charge was pressed with nothing entered.
    #[error("enter an amount first")]
    NothingToCharge,
}

/// The amount being typed, as minor units, with an upper limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountEntry {
    minor: u64,
    max_minor: u64,
    max_label: &'static str,
}

/// What a key press did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The amount changed (or stayed the same, e.g. backspace at zero).
    Edited,
    /// The user asked to charge this many minor units.
    Charge(u64),
}

impl AmountEntry {
    /// An empty entry that refuses amounts above `max_minor` (shown to users as `max_label`).
    pub const fn new(max_minor: u64, max_label: &'static str) -> Self {
        Self {
            minor: 0,
            max_minor,
            max_label,
        }
    }

    /// The amount typed so far, in minor units.
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// Applies one key. A refused key leaves the amount as it was.
    pub fn press(&mut self, key: Key) -> Result<Outcome, KeypadError> {
        match key {
            Key::Digit(digit) => self.append(&[digit])?,
            Key::DoubleZero => self.append(&[0, 0])?,
            Key::Backspace => self.minor /= 10,
            Key::Clear => self.minor = 0,
            Key::Charge if self.minor == 0 => return Err(KeypadError::NothingToCharge),
            Key::Charge => return Ok(Outcome::Charge(self.minor)),
        }
        Ok(Outcome::Edited)
    }

    fn append(&mut self, digits: &[u8]) -> Result<(), KeypadError> {
        let mut next = self.minor;
        for &digit in digits {
            next = next
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(digit)))
                .filter(|n| *n <= self.max_minor)
                .ok_or(KeypadError::OverLimit(self.max_label))?;
        }
        self.minor = next;
        Ok(())
    }
}

/// Formats minor units for display, e.g. `€12.34`.
pub fn format_amount(minor: u64, currency: Currency) -> String {
    let scale = 10u64.pow(currency.minor_digits);
    let whole = minor / scale;
    let fraction = minor % scale;
    let mut grouped = String::new();
    let digits = whole.to_string();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if currency.minor_digits == 0 {
        format!("{}{grouped}", currency.symbol)
    } else {
        format!(
            "{}{grouped}.{fraction:0width$}",
            currency.symbol,
            width = currency.minor_digits as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AmountEntry {
        AmountEntry::new(9_999_999, "€99,999.99")
    }

    #[test]
    fn amounts_read_in_their_currency() {
        assert_eq!(format_minor(123_456, "EUR"), "€1,234.56");
        assert_eq!(format_minor(500, "JPY"), "¥500");
        assert_eq!(format_minor(5, "SEK"), "0.05 SEK");
    }

    #[test]
    fn digits_fill_from_the_right_like_a_till() {
        let mut amount = entry();
        for key in [Key::Digit(1), Key::Digit(2), Key::Digit(3), Key::Digit(4)] {
            assert_eq!(amount.press(key), Ok(Outcome::Edited));
        }
        assert_eq!(amount.minor(), 1234);
        assert_eq!(format_amount(amount.minor(), DEMO_CURRENCY), "€12.34");
        amount.press(Key::DoubleZero).unwrap();
        assert_eq!(format_amount(amount.minor(), DEMO_CURRENCY), "€1,234.00");
        amount.press(Key::Backspace).unwrap();
        assert_eq!(amount.minor(), 12340);
        amount.press(Key::Clear).unwrap();
        assert_eq!(amount.minor(), 0);
        amount.press(Key::Backspace).unwrap();
        assert_eq!(amount.minor(), 0);
    }

    #[test]
    fn the_limit_is_enforced_and_a_refused_key_changes_nothing() {
        let mut amount = entry();
        for _ in 0..7 {
            amount.press(Key::Digit(9)).unwrap();
        }
        assert_eq!(amount.minor(), 9_999_999);
        assert_eq!(
            amount.press(Key::Digit(0)),
            Err(KeypadError::OverLimit("€99,999.99"))
        );
        assert_eq!(amount.minor(), 9_999_999);

        let mut amount = entry();
        for _ in 0..6 {
            amount.press(Key::Digit(1)).unwrap();
        }
        // 00 would need two more digits but only one fits: refused whole.
        assert!(amount.press(Key::DoubleZero).is_err());
        assert_eq!(amount.minor(), 111_111);
    }

    #[test]
    fn charge_needs_an_amount() {
        let mut amount = entry();
        assert_eq!(amount.press(Key::Charge), Err(KeypadError::NothingToCharge));
        amount.press(Key::Digit(5)).unwrap();
        assert_eq!(amount.press(Key::Charge), Ok(Outcome::Charge(5)));
    }

    #[test]
    fn keyboard_keys_map_to_keypad_keys() {
        assert_eq!(Key::from_keyboard("7"), Some(Key::Digit(7)));
        assert_eq!(Key::from_keyboard("Enter"), Some(Key::Charge));
        assert_eq!(Key::from_keyboard("Backspace"), Some(Key::Backspace));
        assert_eq!(Key::from_keyboard("Escape"), Some(Key::Clear));
        assert_eq!(Key::from_keyboard("a"), None);
        assert_eq!(Key::from_keyboard("12"), None);
        assert_eq!(Key::from_keyboard("٣"), None);
    }

    #[test]
    fn formatting_handles_zero_and_other_exponents() {
        assert_eq!(format_amount(0, DEMO_CURRENCY), "€0.00");
        assert_eq!(format_amount(5, DEMO_CURRENCY), "€0.05");
        let yen = Currency {
            code: "JPY",
            symbol: "¥",
            minor_digits: 0,
        };
        assert_eq!(format_amount(1_234_567, yen), "¥1,234,567");
        assert_eq!(
            format_amount(u64::MAX, DEMO_CURRENCY),
            "€184,467,440,737,095,516.15"
        );
    }
}
