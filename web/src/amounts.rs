//! Amounts as people read and type them: minor units of the currency (ISO 4217 exponent)
//! formatted with a dot, and typed amounts parsed back to minor units. Pure, tested
//! natively; independent of the browser's language.

/// Minor-unit digits of an ISO 4217 currency (2 unless listed).
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XOF" | "XAF" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

/// `minor` of `currency` for display: `12.34 EUR`, thousands grouped with a thin space.
pub fn format(minor: u64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let scale = 10u64.pow(digits);
    let whole = (minor / scale).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('\u{2009}');
        }
        grouped.push(c);
    }
    if digits == 0 {
        format!("{grouped} {currency}")
    } else {
        let fraction = minor % scale;
        format!(
            "{grouped}.{fraction:0width$} {currency}",
            width = digits as usize
        )
    }
}

/// Why a typed amount is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Nothing, or something that is not a number.
    #[error("type an amount such as 12.50")]
    NotANumber,
    /// More decimals than the currency has.
    #[error("{currency} has {digits} decimals at most")]
    TooPrecise {
        /// The currency.
        currency: String,
        /// Its minor digits.
        digits: u32,
    },
    /// Zero.
    #[error("the amount must be more than zero")]
    Zero,
    /// Beyond what the wallet can count.
    #[error("that amount is too large")]
    TooLarge,
}

/// Parses `12`, `12.5`, `12,50` (either decimal mark) into minor units of `currency`.
pub fn parse(text: &str, currency: &str) -> Result<u64, AmountError> {
    let digits = minor_digits(currency);
    let text = text.trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AmountError::NotANumber);
    }
    if fraction.len() > digits as usize {
        return Err(AmountError::TooPrecise {
            currency: currency.to_owned(),
            digits,
        });
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| AmountError::TooLarge)?
    };
    let mut frac: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| AmountError::NotANumber)?
    };
    for _ in fraction.len()..digits as usize {
        frac *= 10;
    }
    let minor = whole
        .checked_mul(10u64.pow(digits))
        .and_then(|w| w.checked_add(frac))
        .ok_or(AmountError::TooLarge)?;
    if minor == 0 {
        return Err(AmountError::Zero);
    }
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units_per_currency() {
        assert_eq!(format(0, "EUR"), "0.00 EUR");
        assert_eq!(format(1234, "EUR"), "12.34 EUR");
        assert_eq!(format(123_456_789, "EUR"), "1\u{2009}234\u{2009}567.89 EUR");
        assert_eq!(format(500, "JPY"), "500 JPY");
        assert_eq!(format(1_005, "KWD"), "1.005 KWD");
    }

    #[test]
    fn parses_typed_amounts() {
        assert_eq!(parse("7", "EUR"), Ok(700));
        assert_eq!(parse("7.5", "EUR"), Ok(750));
        assert_eq!(parse(" 12,05 ", "EUR"), Ok(1205));
        assert_eq!(parse(".5", "EUR"), Ok(50));
        assert_eq!(parse("500", "JPY"), Ok(500));
        assert_eq!(parse("", "EUR"), Err(AmountError::NotANumber));
        assert_eq!(parse("1.2.3", "EUR"), Err(AmountError::NotANumber));
        assert_eq!(parse("-1", "EUR"), Err(AmountError::NotANumber));
        assert_eq!(parse("0.00", "EUR"), Err(AmountError::Zero));
        assert!(matches!(
            parse("1.234", "EUR"),
            Err(AmountError::TooPrecise { .. })
        ));
        assert_eq!(
            parse("99999999999999999999", "EUR"),
            Err(AmountError::TooLarge)
        );
        for minor in [1u64, 99, 100, 12_345, 1_000_000] {
            let shown = format(minor, "EUR");
            let typed = shown.trim_end_matches(" EUR").replace('\u{2009}', "");
            assert_eq!(parse(&typed, "EUR"), Ok(minor));
        }
    }
}
