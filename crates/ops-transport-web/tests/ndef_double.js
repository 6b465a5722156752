// A test double of Web NFC's NDEFReader, backed by one shared virtual tag.
// Used only by the wasm-bindgen tests of ops-transport-web and by the transport test
// fixture page (tests/transport-page, through a symbolic link); never shipped.
//
// The tag lives in localStorage, so every page of the origin sees the same tag: one page
// (or component) writes, another reads. A reader that is scanning receives the tag when
// a write lands on it (in this page directly, in other pages through the `storage`
// event) and, at the start of a scan, if the tag already holds a message (it is "in the
// field").

const KEY = "ops-virtual-nfc-tag";
const scanning = new Set();

function readTag() {
  const raw = localStorage.getItem(KEY);
  return raw ? JSON.parse(raw) : null;
}

function toEvent(tag) {
  const records = tag.records.map((r) => {
    const bytes = Uint8Array.from(r.data);
    return { recordType: r.recordType, mediaType: r.mediaType, data: new DataView(bytes.buffer) };
  });
  const event = new Event("reading");
  event.serialNumber = "04:0f:ff:00:00:00:01";
  event.message = { records };
  return event;
}

function deliver(reader) {
  const tag = readTag();
  if (!tag || !scanning.has(reader)) return;
  const event = toEvent(tag);
  if (typeof reader.onreading === "function") reader.onreading(event);
  reader.dispatchEvent(event);
}

function abortError() {
  return new DOMException("The operation was aborted.", "AbortError");
}

class VirtualNDEFReader extends EventTarget {
  constructor() {
    super();
    this.onreading = null;
    this.onreadingerror = null;
  }

  async scan(options = {}) {
    const signal = options.signal;
    if (signal && signal.aborted) throw abortError();
    scanning.add(this);
    if (signal) signal.addEventListener("abort", () => scanning.delete(this));
    setTimeout(() => deliver(this), 10);
  }

  async write(message, options = {}) {
    const signal = options.signal;
    if (signal && signal.aborted) throw abortError();
    if (!message || !Array.isArray(message.records)) throw new TypeError("message.records is required");
    const records = message.records.map((r) => {
      if (r.recordType !== "mime") throw new TypeError("the double stores MIME records only");
      const data = r.data instanceof ArrayBuffer ? new Uint8Array(r.data)
        : new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      return { recordType: r.recordType, mediaType: r.mediaType, data: Array.from(data) };
    });
    localStorage.setItem(KEY, JSON.stringify({ records }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const reader of scanning) deliver(reader);
  }
}

/** Installs the double as `window.NDEFReader` and empties the virtual tag. */
export function install_ndef_double() {
  localStorage.removeItem(KEY);
  window.NDEFReader = VirtualNDEFReader;
  if (!window.__opsNfcStorageListener) {
    window.__opsNfcStorageListener = true;
    window.addEventListener("storage", (event) => {
      if (event.key === KEY) for (const reader of scanning) deliver(reader);
    });
  }
}

/** Removes the double (the page then has no Web NFC, like desktop browsers). */
export function uninstall_ndef_double() {
  delete window.NDEFReader;
  scanning.clear();
}

/** The records on the virtual tag as JSON, or null. */
export function virtual_tag_json() {
  return localStorage.getItem(KEY);
}

/** Number of readers currently scanning. */
export function scanning_readers() {
  return scanning.size;
}
