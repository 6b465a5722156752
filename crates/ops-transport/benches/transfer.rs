//! Transfer figures for the animated QR (printed), against BC-UR multipart as reference,
//! plus timings of the encoder, the decoder and QR decoding of a 640x480 camera frame.
//!
//! Run: `cargo bench -p ops-transport --bench transfer`. The printed tables are the
//! figures in `docs/TRANSPORT.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // benchmark code

mod common;

use common::{simulate_ur, ur_fragment_for_version};
use criterion::{Criterion, criterion_group, criterion_main};
use ops_transport::qr::{QrMatrix, decode_luma};
use ops_transport::sim::simulate;
use ops_transport::{AnimatedDecoder, AnimatedEncoder, Limits, Message, MessageKind, Preset};
use std::hint::black_box;
use std::time::Duration;

const TRIALS: u32 = 1000;
const SIZES: [usize; 2] = [600, 1600];
const LOSSES: [f64; 3] = [0.0, 0.2, 0.4];

fn print_figures() {
    let preset = Preset::DEFAULT;
    let fps = preset.frames_per_second;
    let probe =
        AnimatedEncoder::new(&Message::new(MessageKind::Payment, vec![1; 1600]), preset).unwrap();
    let frame = QrMatrix::encode(&probe.frame_text(0)).unwrap();
    let modules = frame.size() * frame.size();
    println!(
        "\n== OPS animated QR, default preset: {} B/frame, {fps} fps, QR version {} ({}x{} = {modules} modules) ==",
        preset.symbol_size,
        frame.version(),
        frame.size(),
        frame.size()
    );
    println!(
        "payload efficiency: {:.4} payload bytes per module ({} chars per frame)",
        f64::from(preset.symbol_size) / modules as f64,
        probe.frame_text(0).len()
    );
    println!(
        "{:>6} {:>5} {:>3} {:>10} {:>6} {:>6} {:>9} {:>9}",
        "bytes", "loss", "K", "mean fr", "p95", "max", "mean s", "p95 s"
    );
    for len in SIZES {
        for loss in LOSSES {
            let f = simulate(len, preset, loss, TRIALS, 7).unwrap();
            println!(
                "{len:>6} {:>4.0}% {:>3} {:>10.2} {:>6} {:>6} {:>9.2} {:>9.2}",
                loss * 100.0,
                f.source_frames,
                f.mean_frames,
                f.p95_frames,
                f.max_frames,
                f.mean_seconds(fps),
                f.p95_seconds(fps)
            );
        }
    }
    let slow = Preset::SLOW;
    let slow_frame = QrMatrix::encode(
        &AnimatedEncoder::new(&Message::new(MessageKind::Payment, vec![1; 600]), slow)
            .unwrap()
            .frame_text(0),
    )
    .unwrap();
    println!(
        "\n== slow preset: {} B/frame, {} fps, QR version {} ==",
        slow.symbol_size,
        slow.frames_per_second,
        slow_frame.version()
    );
    for len in SIZES {
        for loss in LOSSES {
            let f = simulate(len, slow, loss, TRIALS, 7).unwrap();
            println!(
                "{len:>6} {:>4.0}% {:>3} {:>10.2} {:>6} {:>6} {:>9.2} {:>9.2}",
                loss * 100.0,
                f.source_frames,
                f.mean_frames,
                f.p95_frames,
                f.max_frames,
                f.mean_seconds(slow.frames_per_second),
                f.p95_seconds(slow.frames_per_second)
            );
        }
    }
    // BC-UR at the same QR version (same module count per frame) and the same rate.
    println!(
        "\n== BC-UR multipart (ur 0.4) reference, same QR version {} and {fps} fps ==",
        frame.version()
    );
    println!(
        "{:>6} {:>5} {:>4} {:>4} {:>10} {:>6} {:>6} {:>9} {:>9}",
        "bytes", "loss", "frag", "K", "mean fr", "p95", "max", "mean s", "p95 s"
    );
    for len in SIZES {
        let fragment = ur_fragment_for_version(len, frame.version());
        for loss in LOSSES {
            let f = simulate_ur(len, fragment, loss, TRIALS, 7);
            println!(
                "{len:>6} {:>4.0}% {fragment:>4} {:>4} {:>10.2} {:>6} {:>6} {:>9.2} {:>9.2}",
                loss * 100.0,
                f.source_frames,
                f.mean_frames,
                f.p95_frames,
                f.max_frames,
                f.mean_seconds(fps),
                f.p95_seconds(fps)
            );
        }
        println!(
            "        BC-UR efficiency: {:.4} payload bytes per module",
            fragment as f64 / modules as f64
        );
    }
    println!();
}

fn camera_frame() -> (usize, usize, Vec<u8>, String) {
    let message = Message::new(MessageKind::Payment, vec![3; 1600]);
    let text = AnimatedEncoder::new(&message, Preset::DEFAULT)
        .unwrap()
        .frame_text(2);
    let (side, code) = QrMatrix::encode(&text).unwrap().to_luma(5);
    let (width, height) = (640, 480);
    let mut frame = vec![180u8; width * height];
    let (ox, oy) = ((width - side) / 2, (height - side) / 2);
    for y in 0..side {
        frame[(y + oy) * width + ox..(y + oy) * width + ox + side]
            .copy_from_slice(&code[y * side..(y + 1) * side]);
    }
    (width, height, frame, text)
}

fn benches(c: &mut Criterion) {
    print_figures();
    let message = Message::new(MessageKind::Payment, vec![9; 600]);
    c.bench_function("encode 600 B + 8 frame texts", |b| {
        b.iter(|| {
            AnimatedEncoder::new(black_box(&message), Preset::DEFAULT)
                .unwrap()
                .frames(8)
        })
    });
    let texts = AnimatedEncoder::new(&message, Preset::DEFAULT)
        .unwrap()
        .frames(8);
    c.bench_function("decode 600 B from repair frames 3..6", |b| {
        b.iter(|| {
            let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
            texts[3..7].iter().find_map(|t| match decoder.receive(t) {
                Ok(ops_transport::ScanStatus::Complete(m)) => Some(m),
                _ => None,
            })
        })
    });
    let (width, height, frame, text) = camera_frame();
    assert_eq!(decode_luma(width, height, &frame).unwrap(), vec![text]);
    c.bench_function("rqrr decode 640x480 camera frame (native)", |b| {
        b.iter(|| decode_luma(width, height, black_box(&frame)).unwrap())
    });
}

criterion_group! {
    name = transfer;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(transfer);
