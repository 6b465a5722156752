//! The merchant PIN that guards the back office (reports, deposits, settings, leaving
//! kiosk mode): 4 to 8 digits, kept as a salted SHA-256 (it guards the screen, not the
//! storage), and a growing wait after wrong tries so that a customer at the counter
//! cannot try them all.

use serde::{Deserialize, Serialize};

/// Shortest and longest PIN.
pub const MIN_DIGITS: usize = 4;
/// Longest PIN.
pub const MAX_DIGITS: usize = 8;
/// Wrong tries allowed before the first wait.
pub const FREE_TRIES: u32 = 3;

/// Why a PIN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Not 4 to 8 digits.
    #[error("the PIN must be {MIN_DIGITS} to {MAX_DIGITS} digits")]
    Shape,
    /// The two entries differ.
    #[error("the two PINs differ; type the same PIN twice")]
    Mismatch,
    /// Wrong PIN.
    #[error("wrong PIN; {0}")]
    Wrong(String),
    /// Too many wrong tries: wait.
    #[error("too many wrong PINs; try again in {0} seconds")]
    Wait(u64),
}

/// The stored PIN and the count of wrong tries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinLock {
    salt: [u8; 16],
    hash: [u8; 32],
    wrong: u32,
    locked_until: u64,
}

fn digest(salt: &[u8; 16], pin: &str) -> [u8; 32] {
    let mut data = salt.to_vec();
    data.extend_from_slice(b"OPS POS PIN v1\0");
    data.extend_from_slice(pin.as_bytes());
    ops_core::ids::sha256(&data)
}

fn check_shape(pin: &str) -> Result<(), PinError> {
    let ok =
        (MIN_DIGITS..=MAX_DIGITS).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(()) } else { Err(PinError::Shape) }
}

impl PinLock {
    /// A new PIN typed twice, salted with `salt`.
    pub fn new(pin: &str, again: &str, salt: [u8; 16]) -> Result<Self, PinError> {
        check_shape(pin)?;
        if pin != again {
            return Err(PinError::Mismatch);
        }
        Ok(Self {
            salt,
            hash: digest(&salt, pin),
            wrong: 0,
            locked_until: 0,
        })
    }

    /// Checks `pin` at `now`. A right PIN clears the count; a wrong one counts, and after
    /// [`FREE_TRIES`] each further wrong PIN doubles a wait starting at 30 s (at most an
    /// hour). The lock is changed either way: store it again.
    pub fn check(&mut self, pin: &str, now: u64) -> Result<(), PinError> {
        if now < self.locked_until {
            return Err(PinError::Wait(self.locked_until - now));
        }
        if digest(&self.salt, pin) == self.hash {
            self.wrong = 0;
            self.locked_until = 0;
            return Ok(());
        }
        self.wrong = self.wrong.saturating_add(1);
        if self.wrong >= FREE_TRIES {
            let exponent = (self.wrong - FREE_TRIES).min(7);
            let wait = (30u64 << exponent).min(3600);
            self.locked_until = now + wait;
            return Err(PinError::Wait(wait));
        }
        Err(PinError::Wrong(format!(
            "{} more tries before a wait",
            FREE_TRIES - self.wrong
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_four_to_eight_digits_typed_twice() {
        assert_eq!(PinLock::new("123", "123", [1; 16]), Err(PinError::Shape));
        assert_eq!(
            PinLock::new("123456789", "123456789", [1; 16]),
            Err(PinError::Shape)
        );
        assert_eq!(PinLock::new("12a4", "12a4", [1; 16]), Err(PinError::Shape));
        assert_eq!(
            PinLock::new("1234", "1243", [1; 16]),
            Err(PinError::Mismatch)
        );
        assert!(PinLock::new("12345678", "12345678", [1; 16]).is_ok());
    }

    #[test]
    fn the_right_pin_opens_and_wrong_ones_lead_to_growing_waits() {
        let mut lock = PinLock::new("2580", "2580", [7; 16]).unwrap();
        assert_eq!(lock.check("2580", 100), Ok(()));
        assert!(matches!(lock.check("0000", 100), Err(PinError::Wrong(_))));
        assert!(matches!(lock.check("0001", 101), Err(PinError::Wrong(_))));
        assert_eq!(lock.check("0002", 102), Err(PinError::Wait(30)));
        // Even the right PIN waits.
        assert_eq!(lock.check("2580", 110), Err(PinError::Wait(22)));
        assert_eq!(lock.check("0003", 132), Err(PinError::Wait(60)));
        assert_eq!(lock.check("2580", 192), Ok(()));
        assert!(matches!(lock.check("9999", 193), Err(PinError::Wrong(_))));
    }

    #[test]
    fn the_wait_stops_growing_at_an_hour_and_salts_differ() {
        let mut lock = PinLock::new("2580", "2580", [7; 16]).unwrap();
        let mut t = 0;
        let mut last = 0;
        for _ in 0..20 {
            if let Err(PinError::Wait(w)) = lock.check("1111", t) {
                last = w;
                t += w;
            }
        }
        assert_eq!(last, 3600);
        let other = PinLock::new("2580", "2580", [8; 16]).unwrap();
        assert_ne!(other.hash, lock.hash);
    }
}
