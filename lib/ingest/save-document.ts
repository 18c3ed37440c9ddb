/**
 * Extracted text into a library (an owner's, or the shared corpus when the
 * owner is null), deduplicated by a checksum of the text.
 */
import "server-only";
import { createHash } from "node:crypto";
import { db } from "@/lib/db";

export function checksumOf(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export interface SaveDocumentInput {
  ownerId: string | null;
  title: string;
  text: string;
  mime: string;
  sourceUrl?: string | null;
  filename?: string | null;
}

/** Saves a document unless the same library already holds the same text; returns its id and whether it was new. */
export async function saveDocument(
  input: SaveDocumentInput,
): Promise<{ id: string; created: boolean }> {
  const checksum = checksumOf(input.text);
  const existing = await db.document.findFirst({
    where: { checksum, ownerId: input.ownerId },
    select: { id: true },
  });
  if (existing) return { id: existing.id, created: false };
  const created = await db.document.create({
    data: {
      ownerId: input.ownerId,
      title: input.title.replace(/\s+/g, " ").trim().slice(0, 300) || "Untitled",
      text: input.text,
      mime: input.mime,
      checksum,
      sourceUrl: input.sourceUrl ?? null,
      filename: input.filename ?? null,
    },
    select: { id: true },
  });
  return { id: created.id, created: true };
}
