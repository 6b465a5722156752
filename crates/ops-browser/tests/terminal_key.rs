//! A POS terminal's WebCrypto key in headless Chromium: generated non-extractable, kept in
//! IndexedDB and found again, its signatures (`r ‖ s`) verified by the core's verifier, and
//! its registration proof over the FI's prefixed challenge.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ops_browser::terminal_key::TerminalKey;
use ops_browser::wallet_store::IdbWalletStore;
use ops_core::PublicKey;
use ops_core::provider::{CryptoProvider, P256Provider};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_kept_non_extractable_key_signs_what_the_core_verifies() {
    let db = "ops-terminal-key-test-1";
    let _ = IdbWalletStore::delete(db).await;
    let key = TerminalKey::load_or_generate_in(db).await.unwrap();
    let public = PublicKey(key.public_key());
    assert!(matches!(public.0[0], 2 | 3));
    assert!(
        !key.private_key_extractable(),
        "the private key never leaves WebCrypto"
    );
    let message = b"a receipt body";
    let signature = key.sign(message).await.unwrap();
    assert_eq!(
        P256Provider.verify_es256(&public, message, &signature),
        Ok(())
    );
    assert!(
        P256Provider
            .verify_es256(&public, b"another body", &signature)
            .is_err()
    );

    // After a reload: the same key from IndexedDB, still signing.
    let again = TerminalKey::load_or_generate_in(db).await.unwrap();
    assert_eq!(again.public_key(), key.public_key());
    let signature = again.sign(message).await.unwrap();
    assert_eq!(
        P256Provider.verify_es256(&public, message, &signature),
        Ok(())
    );

    // The registration proof is over the FI's prefix and the challenge, nothing else.
    let challenge = [9u8; 32];
    let proof = again.registration_proof(&challenge).await.unwrap();
    let message = ops_api::terminals::terminal_proof_message(&challenge);
    assert_eq!(P256Provider.verify_es256(&public, &message, &proof), Ok(()));
    assert!(
        P256Provider
            .verify_es256(&public, &challenge, &proof)
            .is_err()
    );
    IdbWalletStore::delete(db).await.unwrap();
}

#[wasm_bindgen_test]
async fn two_terminals_have_two_keys() {
    let (a, b) = ("ops-terminal-key-test-a", "ops-terminal-key-test-b");
    let first = TerminalKey::load_or_generate_in(a).await.unwrap();
    let second = TerminalKey::load_or_generate_in(b).await.unwrap();
    assert_ne!(first.public_key(), second.public_key());
    IdbWalletStore::delete(a).await.unwrap();
    IdbWalletStore::delete(b).await.unwrap();
}
