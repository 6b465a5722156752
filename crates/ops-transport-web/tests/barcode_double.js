// A test double of the Barcode Detection API (absent in Linux Chromium): every detect()
// call "sees" the next of a fixed list of QR texts. Used only by the wasm-bindgen tests.

/** Installs `window.BarcodeDetector` returning `texts` (a JSON array) in turn. */
export function install_barcode_double(textsJson) {
  const texts = JSON.parse(textsJson);
  let next = 0;
  window.__opsBarcodeCalls = 0;
  window.BarcodeDetector = class {
    constructor(options) {
      this.formats = (options && options.formats) || [];
    }
    static async getSupportedFormats() {
      return ["qr_code"];
    }
    async detect(source) {
      if (!(source instanceof HTMLCanvasElement)) throw new TypeError("expected the sample canvas");
      window.__opsBarcodeCalls += 1;
      const rawValue = texts[next++ % texts.length];
      return [{ rawValue, format: "qr_code" }];
    }
  };
}

/** How many times detect() ran. */
export function barcode_calls() {
  return window.__opsBarcodeCalls || 0;
}
