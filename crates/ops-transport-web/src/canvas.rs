//! A QR code on a `<canvas>`: white quiet zone of four modules, whole-pixel modules.

use ops_browser::BrowserError;
use ops_transport::qr::QrMatrix;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// Default side of a displayed code in CSS pixels. About 7 cm on a phone and 8 cm on a
/// kiosk screen: a phone camera at arm's length (40-60 cm) then sees each module of a
/// 65-module code as 4 or more sensor pixels in a 640x480 sample.
pub const DEFAULT_SIDE_CSS_PX: u32 = 320;
/// Smallest module drawn, in pixels.
pub const MIN_MODULE_PX: u32 = 3;

/// Where a code goes on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Pixels per module.
    pub module_px: u32,
    /// Canvas side in pixels (code plus quiet zone).
    pub side_px: u32,
}

/// Whole-pixel module size so the code with quiet zone fits `target_px` (never below
/// [`MIN_MODULE_PX`]; a large code then exceeds the target rather than blur).
pub fn layout(matrix: &QrMatrix, target_px: u32) -> Layout {
    let modules = u32::try_from(matrix.side_with_quiet_zone())
        .unwrap_or(u32::MAX)
        .max(1);
    let module_px = (target_px / modules).max(MIN_MODULE_PX);
    Layout {
        module_px,
        side_px: modules.saturating_mul(module_px),
    }
}

/// Draws `matrix` on `canvas`, resizing the canvas to the layout for `target_px`.
pub fn draw(
    canvas: &HtmlCanvasElement,
    matrix: &QrMatrix,
    target_px: u32,
) -> Result<Layout, BrowserError> {
    let layout = layout(matrix, target_px);
    if canvas.width() != layout.side_px {
        canvas.set_width(layout.side_px);
        canvas.set_height(layout.side_px);
    }
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or(BrowserError::Unsupported("canvas 2D"))?
        .dyn_into()
        .map_err(|_| BrowserError::Unsupported("canvas 2D"))?;
    let side = f64::from(layout.side_px);
    context.set_fill_style_str("#ffffff");
    context.fill_rect(0.0, 0.0, side, side);
    context.set_fill_style_str("#000000");
    let module = f64::from(layout.module_px);
    let quiet = ops_transport::qr::QUIET_ZONE_MODULES as f64;
    for y in 0..matrix.size() {
        // Runs of dark modules as one rectangle: fewer calls per frame.
        let mut x = 0;
        while x < matrix.size() {
            if !matrix.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < matrix.size() && matrix.is_dark(x, y) {
                x += 1;
            }
            context.fill_rect(
                (start as f64 + quiet) * module,
                (y as f64 + quiet) * module,
                (x - start) as f64 * module,
                module,
            );
        }
    }
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_uses_whole_pixels_and_a_floor() {
        let matrix = QrMatrix::encode(&"A".repeat(400)).unwrap();
        assert_eq!(matrix.side_with_quiet_zone(), 73);
        assert_eq!(
            layout(&matrix, 320),
            Layout {
                module_px: 4,
                side_px: 292
            }
        );
        assert_eq!(
            layout(&matrix, 100),
            Layout {
                module_px: 3,
                side_px: 219
            }
        );
    }
}
