/**
 * The document types Dispatch ingests, parsing of Content-Type headers, and
 * type sniffing from the bytes themselves (magic numbers via `file-type`, then
 * the WHATWG "binary data byte" test for text), so that neither a server's
 * header nor an upload's declared type is trusted alone.
 */
import { fileTypeFromBuffer } from "file-type";

export const supportedContentTypes = [
  "text/html",
  "application/xhtml+xml",
  "text/plain",
  "text/markdown",
  "application/pdf",
] as const;

export type SupportedContentType = (typeof supportedContentTypes)[number];

export function isSupportedContentType(value: string): value is SupportedContentType {
  return (supportedContentTypes as readonly string[]).includes(value);
}

export interface ParsedContentType {
  /** Lower-cased `type/subtype`, or "" when the header is missing or malformed. */
  essence: string;
  charset: string | undefined;
}

export function parseContentType(header: string | null | undefined): ParsedContentType {
  if (!header) return { essence: "", charset: undefined };
  const [rawEssence = "", ...params] = header.split(";");
  const essence = rawEssence.trim().toLowerCase();
  let charset: string | undefined;
  for (const param of params) {
    const match = /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(param);
    if (match) charset = match[1]!.toLowerCase();
  }
  return { essence: /^[\w.+-]+\/[\w.+-]+$/.test(essence) ? normaliseAlias(essence) : "", charset };
}

/**
 * The distinct types a Content-Type header names. More than one means the
 * header lists several ("text/html, application/pdf": duplicate headers are
 * merged with commas): a body is one type, so such a header is ambiguous, and
 * must not be read as no header at all (which would let the bytes decide).
 */
export function listedContentTypes(header: string | null | undefined): string[] {
  if (!header) return [];
  // A comma inside a quoted parameter leaves a piece that is not a type: it drops out.
  const types = header
    .split(",")
    .map((part) => parseContentType(part).essence)
    .filter(Boolean);
  return [...new Set(types)];
}

// Aliases seen in the wild for the types we accept.
function normaliseAlias(essence: string): string {
  if (essence === "text/x-markdown") return "text/markdown";
  if (essence === "application/x-pdf") return "application/pdf";
  return essence;
}

export type SniffResult =
  | { ok: true; contentType: SupportedContentType }
  | { ok: false; reason: "empty" | "binary" | "unsupported"; detected?: string };

const markdownExtension = /\.(md|markdown|mdown|mkd)$/i;
const htmlExtension = /\.(html?|xhtml)$/i;
const htmlStart =
  /^\s*(<!--[\s\S]*?-->\s*)*<(!doctype\s+html|html|head|body|title|meta|article|div|p)[\s>/]/i;

/**
 * Determines the type from the content. The declared type and the file name
 * only choose between text flavours (plain, Markdown, HTML); they can never
 * turn binary data into an accepted type or override a detected magic number.
 */
export async function sniffContentType(
  bytes: Uint8Array,
  hints: { declaredType?: string; fileName?: string } = {},
): Promise<SniffResult> {
  if (bytes.length === 0) return { ok: false, reason: "empty" };
  if (hasPdfHeader(bytes)) return { ok: true, contentType: "application/pdf" };

  // A UTF-16 byte order mark also matches audio signatures (FF FE / FF FB...); text that decodes cleanly wins.
  const detected = isUtf16Text(bytes) ? undefined : await fileTypeFromBuffer(bytes);
  if (detected && detected.mime !== "application/xml") {
    return { ok: false, reason: "unsupported", detected: detected.mime };
  }
  if (looksBinary(bytes)) return { ok: false, reason: "binary" };

  const head = decodeHead(bytes);
  const declared = parseContentType(hints.declaredType).essence;
  const fileName = hints.fileName ?? "";
  if (detected?.mime === "application/xml") {
    return /<html[\s>]/i.test(head)
      ? { ok: true, contentType: "application/xhtml+xml" }
      : { ok: false, reason: "unsupported", detected: "application/xml" };
  }
  if (htmlStart.test(head)) return { ok: true, contentType: "text/html" };
  const claimsHtml =
    declared === "text/html" ||
    declared === "application/xhtml+xml" ||
    htmlExtension.test(fileName);
  if (claimsHtml && head.includes("<")) return { ok: true, contentType: "text/html" };
  if (declared === "text/markdown" || markdownExtension.test(fileName))
    return { ok: true, contentType: "text/markdown" };
  return { ok: true, contentType: "text/plain" };
}

/** PDF readers accept the `%PDF-` header anywhere in the first 1024 bytes. */
export function hasPdfHeader(bytes: Uint8Array): boolean {
  const limit = Math.min(bytes.length, 1024) - 5;
  for (let i = 0; i <= limit; i++) {
    if (
      bytes[i] === 0x25 &&
      bytes[i + 1] === 0x50 &&
      bytes[i + 2] === 0x44 &&
      bytes[i + 3] === 0x46 &&
      bytes[i + 4] === 0x2d
    ) {
      return true;
    }
  }
  return false;
}

const sniffWindow = 8192;

/**
 * WHATWG MIME Sniffing's binary data bytes (C0 controls other than tab, LF,
 * FF, CR and ESC) in the first 8 KiB, unless a UTF-16 byte order mark says
 * NULs are expected.
 */
export function looksBinary(bytes: Uint8Array): boolean {
  if (utf16Bom(bytes)) return false;
  const end = Math.min(bytes.length, sniffWindow);
  for (let i = 0; i < end; i++) {
    const byte = bytes[i]!;
    if (
      byte <= 0x08 ||
      byte === 0x0b ||
      (byte >= 0x0e && byte <= 0x1a) ||
      (byte >= 0x1c && byte <= 0x1f)
    )
      return true;
  }
  return false;
}

export function utf16Bom(bytes: Uint8Array): "utf-16le" | "utf-16be" | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return undefined;
}

function isUtf16Text(bytes: Uint8Array): boolean {
  const encoding = utf16Bom(bytes);
  if (!encoding) return false;
  try {
    const head = new TextDecoder(encoding, { fatal: true }).decode(
      bytes.subarray(0, Math.min(bytes.length, sniffWindow) & ~1),
    );
    return !/[\u0000-\u0008\u000b\u000e-\u001a\u001c-\u001f]/.test(head);
  } catch {
    return false;
  }
}

function decodeHead(bytes: Uint8Array): string {
  return new TextDecoder(utf16Bom(bytes) ?? "utf-8").decode(bytes.subarray(0, sniffWindow));
}
