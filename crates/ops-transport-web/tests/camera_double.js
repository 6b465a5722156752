// Test doubles for camera controls the fake device lacks: a torch and a second camera.
// Used only by the wasm-bindgen tests of ops-transport-web.

/** Every video track claims a torch; applyConstraints calls are recorded. */
export function fake_torch() {
  window.__opsTorch = [];
  MediaStreamTrack.prototype.getCapabilities = function () {
    return { torch: true };
  };
  MediaStreamTrack.prototype.applyConstraints = async function (constraints) {
    window.__opsTorch.push(JSON.stringify(constraints));
  };
}

/** The recorded applyConstraints arguments, as a JSON array of JSON strings. */
export function torch_calls() {
  return JSON.stringify(window.__opsTorch || []);
}

/** enumerateDevices lists one more camera, which getUserMedia cannot open. */
export function fake_second_camera() {
  const real = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
  navigator.mediaDevices.enumerateDevices = async () => {
    const list = await real();
    return [...list, { kind: "videoinput", deviceId: "second-camera", label: "Second camera", groupId: "" }];
  };
}

/** getUserMedia refuses, as when the user (or a policy) denies the camera. */
export function deny_camera() {
  navigator.mediaDevices.getUserMedia = () =>
    Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
}
