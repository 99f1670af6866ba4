// An issue's photos as a phone sends them: a camera's photo made small enough to send
// (the server's limit, a village's mobile network), then posted to the issue.

import { request } from "./api.js";

/** Photos above this many bytes are made smaller before they are sent. */
const PHOTO_SEND_BYTES = 4_000_000;
/** ... to at most this many pixels a side: plenty to see a problem or its fix. */
const PHOTO_MAX_SIDE = 2560;

/**
 * A photo small enough to send: a phone camera's (5 to 20 MB) is over the server's limit
 * (8 MB by default) and slow on a village's mobile network, so one above
 * PHOTO_SEND_BYTES is redrawn at most PHOTO_MAX_SIDE pixels a side as a JPEG, upright
 * by its EXIF orientation (the redrawn file has no EXIF, no GPS position).  Anything
 * that cannot be redrawn is sent as it is, for the server to judge.
 */
export async function shrinkPhoto(file) {
  if (!file || file.size <= PHOTO_SEND_BYTES || typeof createImageBitmap !== "function") return file;
  let bmp;
  try {
    bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file;
  }
  const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bmp.width, bmp.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bmp.width * scale));
  canvas.height = Math.max(1, Math.round(bmp.height * scale));
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff"; // a transparent PNG's background, as JPEG has no alpha
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.drawImage(bmp, 0, 0, canvas.width, canvas.height);
  bmp.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  if (!blob || blob.size >= file.size) return file;
  return new File([blob], `${(file.name || "photo").replace(/\.[^.]*$/, "")}.jpg`, { type: "image/jpeg" });
}

/** POST a photo (kind "report" or "proof") to an issue, made smaller first if large. */
export async function uploadPhoto(issueId, original, kind) {
  const file = await shrinkPhoto(original);
  const fd = new FormData();
  fd.append("file", file, file.name || "photo.jpg");
  fd.append("kind", kind);
  return request("POST", `issues/${encodeURIComponent(issueId)}/photos`, { formData: fd });
}

