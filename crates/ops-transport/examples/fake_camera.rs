//! Writes the fake-camera video for the browser tests: the 3-hop payment test vector as
//! animated QR frames (some dropped on purpose), 640x480 at 10 fps, YUV4MPEG2.
//!
//! `cargo run -p ops-transport --example fake_camera [-- /path/to/out.y4m]`
//! (default `/tmp/ops-fake-camera/payment.y4m`, the path in
//! `crates/ops-transport-web/webdriver.json`).

use ops_transport::sim::{FAKE_CAMERA_PAYMENT_HEX, fake_camera_texts, from_hex};
use ops_transport::y4m::{VideoSpec, render};
use ops_transport::{Message, MessageKind, Preset};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/ops-fake-camera/payment.y4m"));
    let Some(body) = from_hex(FAKE_CAMERA_PAYMENT_HEX) else {
        eprintln!("docs/vectors/payment-3hop.hex is not hex; regenerate the test vectors");
        return ExitCode::FAILURE;
    };
    let message = Message::new(MessageKind::Payment, body);
    let video = fake_camera_texts(&message, Preset::DEFAULT)
        .map_err(|e| e.to_string())
        .and_then(|texts| render(&texts, VideoSpec::default()).map_err(|e| e.to_string()));
    let video = match video {
        Ok(video) => video,
        Err(error) => {
            eprintln!("cannot render the fake-camera video: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(parent) = path.parent()
        && let Err(error) = std::fs::create_dir_all(parent)
    {
        eprintln!("cannot create {}: {error}", parent.display());
        return ExitCode::FAILURE;
    }
    if let Err(error) = std::fs::write(&path, &video) {
        eprintln!("cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {} ({} bytes of payment, {} bytes of video)",
        path.display(),
        message.body.len(),
        video.len()
    );
    ExitCode::SUCCESS
}
