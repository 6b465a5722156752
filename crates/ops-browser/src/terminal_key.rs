//! A POS terminal's signing key when the tablet has no authenticator: a WebCrypto ECDSA
//! P-256 key generated **non-extractable** (its private half never leaves the browser,
//! not even to this code) and kept as a `CryptoKeyPair` object in its own IndexedDB
//! database, which stores key objects as they are.
//!
//! The terminal proves it holds the key when it registers at the FI
//! ([`TerminalKey::registration_proof`], `ops_api::terminals`) and signs its receipts with
//! it ([`TerminalKey::sign`]: `r ‖ s` over SHA-256 of the message, what the till engine's
//! `ReceiptSigner::Software` expects).

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, IdbDatabase, IdbTransactionMode, SubtleCrypto};

use crate::wallet_store::error::IdbError;

/// The database holding the key.
pub const KEY_DB: &str = "ops-terminal-key";
const STORE: &str = "keys";
const SLOT: &str = "terminal";

/// Why the terminal's key could not be made, kept or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminalKeyError {
    /// No WebCrypto (an insecure page, or a very old browser).
    #[error(
        "this browser cannot keep a signing key here (no WebCrypto): open the terminal over https, in a current browser"
    )]
    NoCrypto,
    /// WebCrypto refused.
    #[error(
        "the browser refused to {what} the terminal's key ({detail}); reload, and if it persists, register the terminal again"
    )]
    Crypto {
        /// What was being done.
        what: &'static str,
        /// The browser's words.
        detail: String,
    },
    /// IndexedDB failed.
    #[error(transparent)]
    Storage(#[from] IdbError),
}

fn crypto_error(what: &'static str) -> impl Fn(JsValue) -> TerminalKeyError {
    move |value: JsValue| TerminalKeyError::Crypto {
        what,
        detail: value
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| value.as_string())
            .unwrap_or_else(|| "no detail".into()),
    }
}

fn subtle() -> Result<SubtleCrypto, TerminalKeyError> {
    let window = web_sys::window().ok_or(TerminalKeyError::NoCrypto)?;
    let crypto = window.crypto().map_err(|_| TerminalKeyError::NoCrypto)?;
    Ok(crypto.subtle())
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// The terminal's key pair and its public key (SEC1 compressed).
#[derive(Debug, Clone)]
pub struct TerminalKey {
    private: CryptoKey,
    public: [u8; 33],
}

impl TerminalKey {
    /// The key kept in [`KEY_DB`], or a new one generated and kept there.
    pub async fn load_or_generate() -> Result<Self, TerminalKeyError> {
        Self::load_or_generate_in(KEY_DB).await
    }

    /// [`Self::load_or_generate`] with the database `db_name` (tests use their own).
    pub async fn load_or_generate_in(db_name: &str) -> Result<Self, TerminalKeyError> {
        let db = open(db_name).await?;
        let found = get(&db).await?;
        let pair = match found {
            Some(pair) => pair,
            None => {
                let pair = generate().await?;
                put(&db, &pair).await?;
                // Another tab may have stored its key first: use whichever is kept.
                get(&db).await?.unwrap_or(pair)
            }
        };
        db.close();
        Self::from_pair(&pair).await
    }

    async fn from_pair(pair: &JsValue) -> Result<Self, TerminalKeyError> {
        let field = |name: &str| -> Result<CryptoKey, TerminalKeyError> {
            Reflect::get(pair, &JsValue::from_str(name))
                .ok()
                .and_then(|k| k.dyn_into::<CryptoKey>().ok())
                .ok_or_else(|| TerminalKeyError::Crypto {
                    what: "read",
                    detail: format!("the stored key pair has no {name}"),
                })
        };
        let private = field("privateKey")?;
        let public_key = field("publicKey")?;
        let raw = JsFuture::from(
            subtle()?
                .export_key("raw", &public_key)
                .map_err(crypto_error("export the public half of"))?,
        )
        .await
        .map_err(crypto_error("export the public half of"))?;
        let raw = Uint8Array::new(&raw.unchecked_into::<ArrayBuffer>()).to_vec();
        Ok(Self {
            private,
            public: compress(&raw).ok_or_else(|| TerminalKeyError::Crypto {
                what: "read",
                detail: format!(
                    "the public key is {} bytes, not an uncompressed P-256 point",
                    raw.len()
                ),
            })?,
        })
    }

    /// The public key, SEC1 compressed (what the FI certifies).
    pub fn public_key(&self) -> [u8; 33] {
        self.public
    }

    /// ECDSA P-256 / SHA-256 over `message`: `r ‖ s`.
    pub async fn sign(&self, message: &[u8]) -> Result<[u8; 64], TerminalKeyError> {
        let algorithm = Object::new();
        set(&algorithm, "name", &JsValue::from_str("ECDSA"));
        set(&algorithm, "hash", &JsValue::from_str("SHA-256"));
        let data = Uint8Array::from(message);
        let signature = JsFuture::from(
            subtle()?
                .sign_with_object_and_buffer_source(&algorithm, &self.private, &data)
                .map_err(crypto_error("sign with"))?,
        )
        .await
        .map_err(crypto_error("sign with"))?;
        let bytes = Uint8Array::new(&signature.unchecked_into::<ArrayBuffer>()).to_vec();
        bytes
            .try_into()
            .map_err(|b: Vec<u8>| TerminalKeyError::Crypto {
                what: "sign with",
                detail: format!("a {}-byte signature instead of 64", b.len()),
            })
    }

    /// The proof of possession for the FI's terminal registration over `challenge`.
    pub async fn registration_proof(&self, challenge: &[u8]) -> Result<[u8; 64], TerminalKeyError> {
        self.sign(&ops_api::terminals::terminal_proof_message(challenge))
            .await
    }

    /// Whether the private key can be exported (never, for a key made here).
    pub fn private_key_extractable(&self) -> bool {
        self.private.extractable()
    }
}

/// SEC1 compressed form of an uncompressed point `04 ‖ x ‖ y`.
fn compress(raw: &[u8]) -> Option<[u8; 33]> {
    if raw.len() != 65 || raw.first() != Some(&4) {
        return None;
    }
    let mut out = [0u8; 33];
    out[0] = if raw.get(64)? & 1 == 1 { 3 } else { 2 };
    out[1..].copy_from_slice(raw.get(1..33)?);
    Some(out)
}

async fn generate() -> Result<JsValue, TerminalKeyError> {
    let algorithm = Object::new();
    set(&algorithm, "name", &JsValue::from_str("ECDSA"));
    set(&algorithm, "namedCurve", &JsValue::from_str("P-256"));
    let usages = Array::of1(&JsValue::from_str("sign"));
    JsFuture::from(
        subtle()?
            .generate_key_with_object(&algorithm, false, &usages)
            .map_err(crypto_error("generate"))?,
    )
    .await
    .map_err(crypto_error("generate"))
}

async fn open(name: &str) -> Result<IdbDatabase, IdbError> {
    crate::wallet_store::open_database(name, 1, |db, _| {
        if !db.object_store_names().contains(STORE) {
            db.create_object_store(STORE)?;
        }
        Ok(())
    })
    .await
}

async fn get(db: &IdbDatabase) -> Result<Option<JsValue>, IdbError> {
    let tx = db
        .transaction_with_str(STORE)
        .map_err(IdbError::on("begin read"))?;
    let req = tx
        .object_store(STORE)
        .and_then(|s| s.get(&JsValue::from_str(SLOT)))
        .map_err(IdbError::on("get"))?;
    let value = crate::wallet_store::request_future("get", &req).await?;
    Ok((!value.is_undefined()).then_some(value))
}

/// Keeps `pair` unless a key is already kept (`add` refuses to overwrite: a terminal
/// never replaces the key its certificate names).
async fn put(db: &IdbDatabase, pair: &JsValue) -> Result<(), IdbError> {
    let tx = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(IdbError::on("begin write"))?;
    let req = tx
        .object_store(STORE)
        .and_then(|s| s.add_with_key(pair, &JsValue::from_str(SLOT)))
        .map_err(IdbError::on("add"))?;
    match crate::wallet_store::request_future("add", &req).await {
        Ok(_) => Ok(()),
        // Another tab kept its key first: the caller reads that one.
        Err(IdbError::Dom { name, .. }) if name == "ConstraintError" => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncompressed_points_compress_by_the_parity_of_y() {
        let mut raw = vec![4u8];
        raw.extend([1u8; 32]);
        raw.extend([2u8; 31]);
        raw.push(7);
        let c = compress(&raw).unwrap();
        assert_eq!(c[0], 3);
        assert_eq!(&c[1..], &[1u8; 32]);
        raw[64] = 8;
        assert_eq!(compress(&raw).unwrap()[0], 2);
        assert_eq!(compress(&raw[..64]), None);
        raw[0] = 2;
        assert_eq!(compress(&raw), None);
    }
}
