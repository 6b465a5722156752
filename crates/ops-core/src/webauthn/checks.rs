//! The flag and sign-count rules, shared by assertions and registrations.

use super::{FlagRules, SyncedKeys, WebAuthnError, flags};

/// Checks the flags `f` under `rules`: BS only with BE (always), UP, UV when required, and
/// BE clear unless the rules accept synced keys.
pub fn check_flags(f: u8, rules: FlagRules) -> Result<(), WebAuthnError> {
    if f & flags::BS != 0 && f & flags::BE == 0 {
        return Err(WebAuthnError::BackupStateWithoutEligibility);
    }
    if f & flags::UP == 0 {
        return Err(WebAuthnError::UserNotPresent);
    }
    if rules.user_verification && f & flags::UV == 0 {
        return Err(WebAuthnError::UserNotVerified);
    }
    if f & flags::BE != 0 && rules.synced_keys == SyncedKeys::Refused {
        return Err(WebAuthnError::BackupEligible);
    }
    Ok(())
}

/// Refuses a sign count that does not increase, unless both are zero (authenticators
/// without a counter). Call with the count stored for the credential; store `new` after.
pub fn check_sign_count(stored: u32, new: u32) -> Result<(), WebAuthnError> {
    if (stored == 0 && new == 0) || new > stored {
        Ok(())
    } else {
        Err(WebAuthnError::SignCountNotIncreasing { stored, new })
    }
}
