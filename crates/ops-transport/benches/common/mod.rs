//! BC-UR multipart (the `ur` crate) as the reference for the animated QR, shared by the
//! `transfer` and `figures` benchmarks.

use ops_transport::qr::QrMatrix;
use ops_transport::sim::{SplitMix64, TransferFigures, summarise};

/// Largest UR fragment whose upper-cased part fits the same QR version as our frame.
pub fn ur_fragment_for_version(len: usize, version: u8) -> usize {
    let data = vec![0x5Au8; len];
    let mut best = 10;
    for fragment in 10..400 {
        let mut encoder = ur::Encoder::bytes(&data, fragment).unwrap();
        let part = encoder.next_part().unwrap().to_uppercase();
        match QrMatrix::encode(&part) {
            Ok(m) if m.version() <= version => best = fragment,
            _ => {}
        }
    }
    best
}

/// Frames shown until a BC-UR receiver that loses each frame with probability `loss`
/// completes, over `trials` trials starting at random points of the part sequence.
pub fn simulate_ur(
    len: usize,
    fragment: usize,
    loss: f64,
    trials: u32,
    seed: u64,
) -> TransferFigures {
    let mut rng = SplitMix64::new(seed);
    let data = rng.bytes(len);
    let mut encoder = ur::Encoder::bytes(&data, fragment).unwrap();
    let k = encoder.fragment_count() as u32;
    let parts: Vec<String> = (0..k * 8 + 64)
        .map(|_| encoder.next_part().unwrap())
        .collect();
    let mut counts = Vec::new();
    for _ in 0..trials {
        let mut decoder = ur::Decoder::default();
        let start = (rng.next_u64() % parts.len() as u64) as usize;
        let mut shown = 0u32;
        while shown < 10_000 {
            let part = &parts[(start + shown as usize) % parts.len()];
            shown += 1;
            if rng.next_f64() >= loss {
                decoder.receive(part).unwrap();
                if decoder.complete() {
                    assert_eq!(decoder.message().unwrap().unwrap(), data);
                    counts.push(shown);
                    break;
                }
            }
        }
    }
    summarise(k, counts)
}
