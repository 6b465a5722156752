//! Attestation certificates (step 11 of `docs/WEBAUTHN.md`, `packed` with `x5c` and
//! `fido-u2f`): the leaf's form and its P-256 key, read with `x509-cert`. Chains are
//! recorded, not anchored to a root.

use p256::EncodedPoint;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Tag, Tagged as _};
use x509_cert::ext::pkix::BasicConstraints;

use super::RegistrationError;
use super::cose::sec1_to_public_key;
use crate::ids::{PublicKey, to_hex};

/// OID 2.5.4.6 countryName.
const OID_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// OID 2.5.4.10 organizationName.
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// OID 2.5.4.11 organizationalUnitName.
pub(super) const OID_OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// OID 2.5.4.3 commonName.
const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// OID 2.5.29.19 basicConstraints.
pub(super) const OID_BASIC_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.19");
/// OID 1.3.6.1.4.1.45724.1.1.4 id-fido-gen-ce-aaguid.
pub(super) const OID_FIDO_AAGUID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.45724.1.1.4");
/// OID 1.2.840.10045.2.1 id-ecPublicKey.
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// OID 1.2.840.10045.3.1.7 prime256v1.
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The P-256 public key of a certificate's subject.
pub(super) fn certificate_key(cert: &Certificate) -> Result<PublicKey, RegistrationError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != OID_EC_PUBLIC_KEY || curve != Some(OID_P256) {
        return Err(RegistrationError::Certificate(
            "subject key is not an EC P-256 key",
        ));
    }
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or(RegistrationError::Certificate("subject key bit string"))?;
    let point = EncodedPoint::from_bytes(point)
        .map_err(|_| RegistrationError::Certificate("subject key is not a SEC1 point"))?;
    sec1_to_public_key(&point)
        .map_err(|_| RegistrationError::Certificate("subject key is not a valid P-256 point"))
}

/// Step 11, `packed` with `x5c`: the leaf certificate requirements of WebAuthn §8.2.1.
pub(super) fn check_packed_certificate(
    cert: &Certificate,
    aaguid: &[u8; 16],
) -> Result<(), RegistrationError> {
    let tbs = &cert.tbs_certificate;
    if tbs.version != Version::V3 {
        return Err(RegistrationError::Certificate("version is not 3"));
    }
    let attr = |oid: ObjectIdentifier| {
        tbs.subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == oid)
    };
    for (oid, what) in [
        (OID_C, "subject has no C (country)"),
        (OID_O, "subject has no O (organization)"),
        (OID_CN, "subject has no CN (common name)"),
    ] {
        if attr(oid).is_none() {
            return Err(RegistrationError::Certificate(what));
        }
    }
    let ou_ok = attr(OID_OU).is_some_and(|atv| {
        matches!(
            atv.value.tag(),
            Tag::Utf8String | Tag::PrintableString | Tag::Ia5String
        ) && atv.value.value() == b"Authenticator Attestation"
    });
    if !ou_ok {
        return Err(RegistrationError::Certificate(
            "subject OU is not \"Authenticator Attestation\"",
        ));
    }
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id == OID_BASIC_CONSTRAINTS {
            let bc = BasicConstraints::from_der(ext.extn_value.as_bytes())
                .map_err(|_| RegistrationError::Certificate("basic constraints malformed"))?;
            if bc.ca {
                return Err(RegistrationError::Certificate(
                    "basic constraints say CA: an attestation certificate must not be a CA",
                ));
            }
        } else if ext.extn_id == OID_FIDO_AAGUID {
            if ext.critical {
                return Err(RegistrationError::Certificate(
                    "id-fido-gen-ce-aaguid extension is marked critical",
                ));
            }
            let inner = x509_cert::der::asn1::OctetString::from_der(ext.extn_value.as_bytes())
                .map_err(|_| RegistrationError::Certificate("AAGUID extension malformed"))?;
            if inner.as_bytes() != aaguid {
                return Err(RegistrationError::CertificateAaguidMismatch {
                    cert: to_hex(inner.as_bytes()),
                    auth_data: to_hex(aaguid),
                });
            }
        }
    }
    Ok(())
}

/// The leaf of an `x5c` chain, parsed, and the chain as DER (recorded, not anchored).
pub(super) fn parse_chain(x5c: &[&[u8]]) -> Result<(Certificate, Vec<Vec<u8>>), RegistrationError> {
    let leaf_der = x5c
        .first()
        .ok_or(RegistrationError::MalformedAttestationStatement(
            "x5c empty",
        ))?;
    let leaf = Certificate::from_der(leaf_der)
        .map_err(|_| RegistrationError::Certificate("leaf certificate is not valid DER X.509"))?;
    Ok((leaf, x5c.iter().map(|c| c.to_vec()).collect()))
}
