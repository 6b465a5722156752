//! Round trips and canonical rejection for every message type.

use proptest::prelude::*;

use super::*;
use crate::ids::{CertId, Digest32, Nonce, NoteId, PublicKey};
use crate::msg::cert::{CertBody, Certificate, Limits, Role};
use crate::msg::crl::{Crl, CrlBody};
use crate::msg::issuance::{Issuance, IssuanceBody};
use crate::msg::payment::Payment;
use crate::msg::receipt::{Receipt, ReceiptBody};
use crate::msg::request::PaymentRequest;
use crate::msg::spend::{Spend, SpendBody};
use crate::testing::{DAY, T0, World};
use crate::webauthn::WebAuthnPolicy;

fn es(b: u8) -> Signature {
    Signature::Es256([b; 64])
}

/// Every decodable input re-encodes to exactly itself (one encoding per value).
fn assert_canonical(bytes: &[u8]) {
    if let Ok(m) = inspect(bytes) {
        assert_eq!(m.to_bytes(), bytes, "decoded but not canonical");
    }
}

fn sample_messages() -> Vec<Vec<u8>> {
    static SAMPLES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(build_samples).clone()
}

fn build_samples() -> Vec<Vec<u8>> {
    let mut w = World::new(3);
    let (req, pay) = w.payment(2, 1_000, 300, T0 + DAY);
    let spend = pay.chains[0].spends[0].clone();
    let (_, batch) = w.multi_note_payment(3, 1_000, 900, true, T0 + DAY);
    let synced = w.certify_device(
        0,
        w.wallets[0].cert.body.subject,
        Some(WebAuthnPolicy {
            synced: true,
            ..crate::testing::wallet_policy()
        }),
        None,
    );
    vec![
        w.root.to_bytes(),
        w.fis[0].to_bytes(),
        w.wallets[0].cert.to_bytes(),
        pay.chains[0].issuance.to_bytes(),
        spend.to_bytes(),
        req.to_bytes(),
        pay.to_bytes(),
        batch.chains[0].spends[0].to_bytes(),
        batch.to_bytes(),
        synced.to_bytes(),
    ]
}

#[test]
fn samples_round_trip() {
    for b in sample_messages() {
        let m = inspect(&b).unwrap();
        assert_eq!(m.to_bytes(), b);
    }
}

#[test]
fn trailing_bytes_rejected() {
    for mut b in sample_messages() {
        b.push(0);
        assert!(matches!(
            inspect(&b),
            Err(DecodeError::TrailingBytes { count: 1 })
        ));
    }
}

#[test]
fn every_truncation_rejected() {
    for b in sample_messages() {
        for n in 0..b.len() {
            assert!(inspect(&b[..n]).is_err(), "prefix of {n} bytes accepted");
        }
    }
}

#[test]
fn unknown_version_and_wrong_type_rejected() {
    let b = sample_messages().remove(4); // a spend: a1.. {0: 3, 1: 1, ...}
    assert_eq!(&b[1..5], &[0x00, 0x03, 0x01, 0x01]);
    let mut v2 = b.clone();
    v2[4] = 0x02;
    assert!(matches!(
        Spend::from_bytes(&v2),
        Err(DecodeError::UnknownVersion { found: 2, .. })
    ));
    assert!(matches!(
        Issuance::from_bytes(&b),
        Err(DecodeError::WrongMessageType {
            expected: 2,
            found: 3,
            ..
        })
    ));
    let mut unknown = b.clone();
    unknown[2] = 0x11;
    assert!(matches!(
        inspect(&unknown),
        Err(DecodeError::UnknownMessageType(17))
    ));
}

#[test]
fn non_canonical_integer_rejected() {
    // A spend whose `from` (key 3) is 5 written as 0x18 0x05.
    let body = SpendBody {
        input: NoteId([1; 32]),
        from: 5,
        to: 9,
        payee: CertId([2; 16]),
        request: Digest32([3; 32]),
        time: T0,
    };
    let s = Spend {
        body,
        signature: es(1),
    };
    let b = s.to_bytes();
    let pos = b.windows(2).position(|w| w == [0x03, 0x05]).unwrap();
    let mut bad = b[..pos + 1].to_vec();
    bad.extend_from_slice(&[0x18, 0x05]);
    bad.extend_from_slice(&b[pos + 2..]);
    assert!(matches!(
        Spend::from_bytes(&bad),
        Err(DecodeError::NonCanonicalInteger { .. })
    ));
}

#[test]
fn over_limit_rejected_before_decoding() {
    let big = vec![0u8; Payment::MAX_LEN + 1];
    assert!(matches!(
        Payment::from_bytes(&big),
        Err(DecodeError::TooLong { .. })
    ));
    // A CRL claiming more entries than allowed.
    let mut e = Encoder::new();
    e.map(6).uint(0).uint(types::CRL).uint(1).uint(1);
    e.uint(2).bytes(&[0; 16]).uint(3).uint(1).uint(4).uint(1);
    e.uint(5).array(crate::msg::crl::MAX_CRL_ENTRIES + 1);
    assert!(matches!(
        Crl::from_bytes(&e.into_bytes()),
        Err(DecodeError::TooLong { .. })
    ));
}

#[test]
fn explicit_defaults_rejected() {
    // Origins equal to the implied default must be omitted.
    let body = CertBody {
        serial: 1,
        role: Role::Device,
        subject: PublicKey([2; 33]),
        issuer: Some(CertId([1; 16])),
        not_before: 0,
        not_after: 1,
        name: None,
        limits: Limits::default(),
        webauthn: Some(WebAuthnPolicy {
            rp_id: "a.example".into(),
            origins: vec!["https://a.example".into(), "https://b.example".into()],
            user_verification: false,
            synced: false,
        }),
    };
    let c = Certificate {
        body,
        signature: es(2),
    };
    let b = c.to_bytes();
    assert_eq!(Certificate::from_bytes(&b).unwrap(), c);
    // Build the same with an explicit default list by patching the encoder output.
    let mut c1 = c.clone();
    c1.body.webauthn.as_mut().unwrap().origins.truncate(1);
    let short = c1.to_bytes();
    assert!(short.len() < b.len(), "default origins omitted");
    let mut e = Encoder::new();
    e.text("https://b.example");
    let item = e.into_bytes();
    let pos = b
        .windows(item.len())
        .position(|w| w == item.as_slice())
        .unwrap();
    let mut patched = b[..pos].to_vec();
    patched.extend_from_slice(&b[pos + item.len()..]);
    // fix the array length 2 -> 1 (the byte before the first origin text)
    let arr = patched.iter().rposition(|&x| x == 0x82).unwrap();
    patched[arr] = 0x81;
    assert!(matches!(
        Certificate::from_bytes(&patched),
        Err(DecodeError::InvalidValue {
            what: "origins",
            ..
        })
    ));
}

/// A synced passkey's certificate says so with `4 => true` in its WebAuthn policy; a
/// device-bound one omits the key (its bytes are what they always were), and an explicit
/// `false` is refused (one encoding per value).
#[test]
fn synced_is_encoded_only_when_true() {
    let body = |synced| CertBody {
        serial: 7,
        role: Role::Device,
        subject: PublicKey([2; 33]),
        issuer: Some(CertId([1; 16])),
        not_before: 0,
        not_after: 1,
        name: None,
        limits: Limits {
            max_outstanding: Some(25_000),
            ..Limits::default()
        },
        webauthn: Some(WebAuthnPolicy {
            synced,
            ..crate::testing::wallet_policy()
        }),
    };
    let bound = Certificate {
        body: body(false),
        signature: es(2),
    }
    .to_bytes();
    let synced = Certificate {
        body: body(true),
        signature: es(2),
    };
    let b = synced.to_bytes();
    assert_eq!(Certificate::from_bytes(&b).unwrap(), synced);
    assert!(
        !Certificate::from_bytes(&bound)
            .unwrap()
            .body
            .webauthn
            .unwrap()
            .synced
    );
    assert_eq!(b.len(), bound.len() + 2, "one key and one value more");
    // Key 10 → {1: rp id, 3: true, 4: true}: a map of three instead of two.
    let policy = |map: u8| {
        let mut e = Encoder::new();
        e.uint(10).raw(&[map]).uint(1).text("wallet.example");
        e.into_bytes()
    };
    let (two, three) = (policy(0xa2), policy(0xa3));
    assert!(bound.windows(two.len()).any(|w| w == two.as_slice()));
    assert!(b.windows(three.len()).any(|w| w == three.as_slice()));
    let tail = [0x03, 0xf5, 0x04, 0xf5];
    let at = b.windows(4).position(|w| w == tail).unwrap();
    // An explicit `4 => false` does not decode.
    let mut explicit = b.clone();
    explicit[at + 3] = 0xf4;
    assert!(matches!(
        Certificate::from_bytes(&explicit),
        Err(DecodeError::InvalidValue { what: "synced", .. })
    ));
    // Nor a value other than a boolean.
    let mut number = b.clone();
    number[at + 3] = 0x01;
    assert!(Certificate::from_bytes(&number).is_err());
}

prop_compose! {
    fn arb_spend()(input in any::<[u8; 32]>(), from in 0u64..u64::MAX - 1, len in 1u64..1_000_000,
                   payee in any::<[u8; 16]>(), request in any::<[u8; 32]>(), time in any::<u64>(),
                   sig in any::<[u8; 32]>()) -> Spend {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&sig);
        Spend {
            body: SpendBody {
                input: NoteId(input),
                from,
                to: from.saturating_add(len).max(from + 1),
                payee: CertId(payee),
                request: Digest32(request),
                time,
            },
            signature: Signature::Es256(s),
        }
    }
}

prop_compose! {
    fn arb_issuance()(nonce in any::<[u8; 16]>(), amount in 1u64.., cur in "[A-Z]{1,8}",
                      issued in 0u64..u64::MAX / 2, life in 0u64..u64::MAX / 2) -> Issuance {
        Issuance {
            body: IssuanceBody {
                nonce: Nonce(nonce),
                issuer: CertId([1; 16]),
                owner: CertId([2; 16]),
                amount,
                currency: cur,
                issued,
                expires: issued + life,
            },
            signature: es(3),
        }
    }
}

prop_compose! {
    fn arb_request()(amount in 1u64.., created in 0u64..u64::MAX / 2, life in 0u64..1_000_000,
                     label in proptest::option::of("[ -~]{0,64}"), nonce in any::<[u8; 16]>()) -> PaymentRequest {
        PaymentRequest {
            payee: CertId([7; 16]),
            amount,
            currency: "EUR".into(),
            nonce: Nonce(nonce),
            created,
            expires: created + life,
            label,
            certs: Vec::new(),
            crls_held: Vec::new(),
        }
    }
}

proptest! {
    #[test]
    fn spend_round_trip(s in arb_spend()) {
        let b = s.to_bytes();
        prop_assert_eq!(Spend::from_bytes(&b).unwrap(), s);
    }

    #[test]
    fn issuance_round_trip(i in arb_issuance()) {
        let b = i.to_bytes();
        prop_assert_eq!(Issuance::from_bytes(&b).unwrap(), i);
    }

    #[test]
    fn request_round_trip(r in arb_request()) {
        let b = r.to_bytes();
        prop_assert_eq!(PaymentRequest::from_bytes(&b).unwrap(), r);
    }

    #[test]
    fn crl_round_trip(mut serials in proptest::collection::vec(any::<u64>(), 0..50), number in any::<u64>()) {
        serials.sort_unstable();
        serials.dedup();
        let c = Crl { body: CrlBody { issuer: CertId([5; 16]), number, issued: T0, revoked: serials }, signature: es(4) };
        prop_assert_eq!(Crl::from_bytes(&c.to_bytes()).unwrap(), c);
    }

    #[test]
    fn receipt_round_trip(amount in any::<u64>(), time in any::<u64>()) {
        let r = Receipt {
            body: ReceiptBody { payment: Digest32([1; 32]), request: Digest32([2; 32]), payee: CertId([3; 16]), amount, time },
            signature: es(5),
        };
        prop_assert_eq!(Receipt::from_bytes(&r.to_bytes()).unwrap(), r);
    }

    /// Mutating any byte of a valid message yields an error or another canonical message.
    #[test]
    fn mutations_are_rejected_or_canonical(idx in any::<prop::sample::Index>(), which in 0usize..10, val in any::<u8>()) {
        let msgs = sample_messages();
        let mut b = msgs[which].clone();
        let i = idx.index(b.len());
        b[i] = val;
        assert_canonical(&b);
    }

    #[test]
    fn random_input_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        assert_canonical(&b);
    }
}
