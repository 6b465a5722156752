//! The CBOR of an attestation object (steps 2 and 11 of `docs/WEBAUTHN.md`): its top-level
//! map `{fmt, attStmt, authData}` and the members of an attestation statement. Read with
//! `minicbor`, borrowed, every length checked against the remaining input.

use minicbor::Decoder;
use minicbor::data::Type;

use super::{MAX_X5C, RegistrationError};

/// Most entries accepted in any CBOR map of the attestation object.
const MAX_MAP_ENTRIES: u64 = 16;

/// The parsed top level of an attestation object, borrowing from its bytes.
pub(super) struct AttestationObject<'a> {
    /// `fmt`.
    pub(super) fmt: &'a str,
    /// The `attStmt` map, as CBOR bytes.
    pub(super) att_stmt: &'a [u8],
    /// `authData`.
    pub(super) auth_data: &'a [u8],
}

/// The structure error of step 2.
fn malformed(_: minicbor::decode::Error) -> RegistrationError {
    RegistrationError::MalformedAttestationObject("not the CBOR map {fmt, attStmt, authData}")
}

/// Reads a definite-length map header with at most [`MAX_MAP_ENTRIES`] entries.
pub(super) fn definite_map(d: &mut Decoder<'_>, what: &'static str) -> Result<u64, &'static str> {
    match d.map() {
        Ok(Some(n)) if n <= MAX_MAP_ENTRIES => Ok(n),
        Ok(Some(_)) => Err("map with too many entries"),
        Ok(None) => Err("indefinite-length map"),
        Err(_) => Err(what),
    }
}

/// Step 2: the definite-length map with exactly `fmt` (text), `attStmt` (map) and
/// `authData` (bytes), no duplicates, no other members, nothing after it.
pub(super) fn parse_attestation_object(
    bytes: &[u8],
) -> Result<AttestationObject<'_>, RegistrationError> {
    let bad = RegistrationError::MalformedAttestationObject;
    let mut d = Decoder::new(bytes);
    let n = definite_map(&mut d, "not a CBOR map").map_err(bad)?;
    let (mut fmt, mut att_stmt, mut auth_data) = (None, None, None);
    for _ in 0..n {
        let key = d.str().map_err(|_| bad("map key is not a text string"))?;
        match key {
            "fmt" if fmt.is_none() => fmt = Some(d.str().map_err(malformed)?),
            "attStmt" if att_stmt.is_none() => {
                if d.datatype().map_err(malformed)? != Type::Map {
                    return Err(bad("attStmt is not a definite-length map"));
                }
                let start = d.position();
                d.skip().map_err(malformed)?;
                att_stmt = bytes.get(start..d.position());
            }
            "authData" if auth_data.is_none() => auth_data = Some(d.bytes().map_err(malformed)?),
            "fmt" | "attStmt" | "authData" => return Err(bad("duplicate member")),
            _ => return Err(bad("unknown member")),
        }
    }
    if d.position() != bytes.len() {
        return Err(bad("trailing bytes after the map"));
    }
    Ok(AttestationObject {
        fmt: fmt.ok_or(bad("fmt missing"))?,
        att_stmt: att_stmt.ok_or(bad("attStmt missing"))?,
        auth_data: auth_data.ok_or(bad("authData missing"))?,
    })
}

/// The members of an attestation statement this verifier reads.
#[derive(Default)]
pub(super) struct AttStmt<'a> {
    /// Number of members.
    pub(super) entries: u64,
    /// `alg`.
    pub(super) alg: Option<i64>,
    /// `sig` (DER).
    pub(super) sig: Option<&'a [u8]>,
    /// `x5c`, leaf first.
    pub(super) x5c: Option<Vec<&'a [u8]>>,
}

/// Step 11 (form): the members `alg`, `sig` and `x5c` (1 to [`MAX_X5C`] certificates), each
/// at most once, nothing else.
pub(super) fn parse_att_stmt(bytes: &[u8]) -> Result<AttStmt<'_>, RegistrationError> {
    let bad = RegistrationError::MalformedAttestationStatement;
    let mut d = Decoder::new(bytes);
    let n = definite_map(&mut d, "not a CBOR map").map_err(bad)?;
    let mut s = AttStmt {
        entries: n,
        ..AttStmt::default()
    };
    for _ in 0..n {
        match d.str().map_err(|_| bad("key is not a text string"))? {
            "alg" if s.alg.is_none() => {
                s.alg = Some(d.i64().map_err(|_| bad("alg is not an integer"))?);
            }
            "sig" if s.sig.is_none() => {
                s.sig = Some(d.bytes().map_err(|_| bad("sig is not a byte string"))?);
            }
            "x5c" if s.x5c.is_none() => {
                let count = match d.array() {
                    Ok(Some(c)) if c >= 1 && c <= MAX_X5C as u64 => c,
                    _ => return Err(bad("x5c is not an array of 1 to 4 certificates")),
                };
                let mut certs = Vec::new();
                for _ in 0..count {
                    certs.push(
                        d.bytes()
                            .map_err(|_| bad("x5c entry is not a byte string"))?,
                    );
                }
                s.x5c = Some(certs);
            }
            "alg" | "sig" | "x5c" => return Err(bad("duplicate member")),
            _ => return Err(bad("unknown member (ECDAA and others are not supported)")),
        }
    }
    Ok(s)
}
