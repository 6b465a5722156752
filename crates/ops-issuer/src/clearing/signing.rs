//! Signed clearing requests: the sender signs [`ops_api::clearing::signed_message`] of
//! the path and body with its certified key; the receiver checks the signature with the
//! certificate the signer header names, which it must already trust.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_api::clearing::{SIGNATURE_HEADER, SIGNER_HEADER, signed_message};
use ops_core::provider::{CryptoProvider as _, RingProvider};
use ops_core::sig::{Signature, SoftwareKey};
use ops_core::{CertId, Certificate};

/// Why a signed request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignedRequestError {
    /// A header is missing or malformed.
    #[error("the {0} header is missing or malformed")]
    Header(&'static str),
    /// The signer is not one this service accepts here.
    #[error("{0} may not send this request")]
    UnknownSigner(String),
    /// The signature does not verify.
    #[error("the signature does not verify for {0}")]
    BadSignature(String),
}

/// The two headers for a request to `path` with `body`, signed by `key` of `signer`.
pub fn sign(key: &SoftwareKey, signer: CertId, path: &str, body: &[u8]) -> [(String, String); 2] {
    let sig = match key.sign(&signed_message(path, body)) {
        Signature::Es256(s) => STANDARD.encode(s),
        // A software key signs plain ES256 only.
        _ => String::new(),
    };
    [
        (SIGNER_HEADER.to_owned(), signer.to_string()),
        (SIGNATURE_HEADER.to_owned(), sig),
    ]
}

/// The certificate among `allowed` that signed a request to `path` with `body`.
pub fn verify<'a>(
    headers: &HeaderMap,
    allowed: &'a [Certificate],
    path: &str,
    body: &[u8],
) -> Result<&'a Certificate, SignedRequestError> {
    let signer = headers
        .get(SIGNER_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(SignedRequestError::Header(SIGNER_HEADER))?
        .trim();
    let sig = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| STANDARD.decode(v.trim()).ok())
        .and_then(|v| <[u8; 64]>::try_from(v).ok())
        .ok_or(SignedRequestError::Header(SIGNATURE_HEADER))?;
    let cert = allowed
        .iter()
        .find(|c| c.id().to_string() == signer)
        .ok_or_else(|| SignedRequestError::UnknownSigner(signer.to_owned()))?;
    RingProvider
        .verify_es256(&cert.body.subject, &signed_message(path, body), &sig)
        .map_err(|_| SignedRequestError::BadSignature(signer.to_owned()))?;
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(String, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                h.insert(k, v);
            }
        }
        h
    }

    #[test]
    fn only_the_named_certified_key_over_this_path_and_body_passes() {
        let world = ops_core::testing::World::new(0);
        let (root, root_key) = (world.root.clone(), world.root_key.clone());
        let (fi, fi_key) = (world.fis[0].clone(), world.fi_keys[0].clone());
        let allowed = vec![fi.clone()];
        let signed = sign(&fi_key, fi.id(), "/cb/v1/claims", b"{\"a\":1}");
        let h = headers(&signed);
        assert_eq!(
            verify(&h, &allowed, "/cb/v1/claims", b"{\"a\":1}").map(Certificate::id),
            Ok(fi.id())
        );
        // Another body, another path, a signer not allowed, a key not the signer's.
        assert!(matches!(
            verify(&h, &allowed, "/cb/v1/claims", b"{\"a\":2}"),
            Err(SignedRequestError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&h, &allowed, "/api/v1/clearing/claims", b"{\"a\":1}"),
            Err(SignedRequestError::BadSignature(_))
        ));
        assert!(matches!(
            verify(
                &h,
                std::slice::from_ref(&root),
                "/cb/v1/claims",
                b"{\"a\":1}"
            ),
            Err(SignedRequestError::UnknownSigner(_))
        ));
        let forged = headers(&sign(&root_key, fi.id(), "/cb/v1/claims", b"{\"a\":1}"));
        assert!(matches!(
            verify(&forged, &allowed, "/cb/v1/claims", b"{\"a\":1}"),
            Err(SignedRequestError::BadSignature(_))
        ));
        assert_eq!(
            verify(&HeaderMap::new(), &allowed, "/cb/v1/claims", b""),
            Err(SignedRequestError::Header(SIGNER_HEADER))
        );
    }
}
