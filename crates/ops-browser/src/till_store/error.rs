//! IndexedDB failures as the till engine sees them.
//!
//! The till store shares [`IdbError`] with the wallet's store (the same browser, the same
//! remedies); a refused batch is the engine's own [`TillStoreError`] guard variant, and
//! every [`IdbError`] reaches the engine as [`TillStoreError::Backend`] with its text (the
//! failure and what to do).

use ops_wallet_engine::till::TillStoreError;

pub use crate::wallet_store::error::IdbError;

impl From<IdbError> for TillStoreError {
    fn from(e: IdbError) -> Self {
        TillStoreError::Backend(e.to_string())
    }
}
