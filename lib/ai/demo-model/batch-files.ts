/**
 * The demo model's file store for the Batch API: uploaded input files and
 * the output and error files batches write, as records in memory and bytes
 * under one directory (a fresh temporary one by default, removed on stop).
 */
import { createReadStream, type ReadStream } from "node:fs";
import { appendFile, mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  BATCH_MAX_FILE_BYTES,
  fileObject,
  newId,
  nowSeconds,
  type FilePurpose,
  type StoredFile,
} from "@/lib/ai/demo-model/batch-protocol";
import { HttpError, notFound } from "@/lib/ai/demo-model/http";

export const DEFAULT_BATCH_MAX_STORED_BYTES = 2 * 1024 * 1024 * 1024;

export interface BatchFileOptions {
  /** Largest file accepted, in bytes (OpenAI: 200 MB). */
  maxFileBytes?: number;
  /** Total bytes of all stored files; uploads beyond it are refused. */
  maxStoredBytes?: number;
  /** Where file contents go; a fresh temporary directory (removed on stop) by default. */
  dir?: string;
}

/**
 * Result lines of one output or error file, appended to disk after every
 * turn, so a 50,000-row batch never holds its answers in memory. The file
 * is published (gets its record) only when the batch ends.
 */
export class ResultSpool {
  private pending: string[] = [];
  lines = 0;

  constructor(
    readonly fileId: string,
    readonly path: string,
  ) {}

  push(line: unknown): void {
    this.pending.push(JSON.stringify(line));
    this.lines += 1;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join("\n") + "\n";
    this.pending = [];
    await appendFile(this.path, text);
  }
}

export class BatchFiles {
  private readonly files = new Map<string, StoredFile>();
  private dir: Promise<string> | undefined;
  private storedBytes = 0;
  readonly maxFileBytes: number;
  private readonly maxStoredBytes: number;

  constructor(private readonly options: BatchFileOptions) {
    this.maxFileBytes = options.maxFileBytes ?? BATCH_MAX_FILE_BYTES;
    this.maxStoredBytes = options.maxStoredBytes ?? DEFAULT_BATCH_MAX_STORED_BYTES;
  }

  /** `POST /v1/files`: stores an upload within the size limits. */
  async upload(filename: string, purpose: FilePurpose, content: Buffer) {
    if (content.length > this.maxFileBytes) {
      throw new HttpError(
        400,
        `File is ${content.length} bytes; the limit is ${this.maxFileBytes} bytes.`,
        "invalid_request_error",
        "file_too_large",
        "file",
      );
    }
    if (this.storedBytes + content.length > this.maxStoredBytes) {
      throw new HttpError(
        400,
        `The demo model stores at most ${this.maxStoredBytes} bytes of files; delete some (DELETE /v1/files/:id) or restart it.`,
        "invalid_request_error",
        "storage_limit_exceeded",
        "file",
      );
    }
    const id = newId("file-");
    await writeFile(await this.pathOf(id), content);
    return fileObject(this.register(id, filename, purpose, content.length));
  }

  /** The record of file `id`; a 404 {@link HttpError} naming `param` when there is none. */
  get(id: string, param = "file_id"): StoredFile {
    const file = this.files.get(id);
    if (!file) throw notFound("file", id, param);
    return file;
  }

  async content(id: string): Promise<{ stream: ReadStream; bytes: number }> {
    const file = this.get(id);
    return { stream: createReadStream(await this.pathOf(file.id)), bytes: file.bytes };
  }

  async text(id: string): Promise<string> {
    return readFile(await this.pathOf(this.get(id).id), "utf8");
  }

  async delete(id: string) {
    const file = this.get(id);
    this.files.delete(id);
    this.storedBytes -= file.bytes;
    await unlink(await this.pathOf(id)).catch(() => {});
    return { id, object: "file" as const, deleted: true };
  }

  /** A spool for a result file that does not exist yet. */
  async spool(): Promise<ResultSpool> {
    const id = newId("file-");
    return new ResultSpool(id, await this.pathOf(id));
  }

  /** Makes a spool's lines a file; returns its id, or undefined for a spool with no lines. */
  async publish(spool: ResultSpool, filename: string): Promise<string | undefined> {
    await spool.flush();
    if (spool.lines === 0) return undefined;
    const { size } = await stat(spool.path);
    return this.register(spool.fileId, filename, "batch_output", size).id;
  }

  async stop(): Promise<void> {
    if (this.dir && !this.options.dir) await rm(await this.dir, { recursive: true, force: true });
  }

  private register(id: string, filename: string, purpose: FilePurpose, bytes: number): StoredFile {
    const file: StoredFile = { id, filename, purpose, bytes, createdAt: nowSeconds() };
    this.files.set(id, file);
    this.storedBytes += bytes;
    return file;
  }

  private async pathOf(id: string): Promise<string> {
    this.dir ??= this.options.dir
      ? Promise.resolve(this.options.dir)
      : mkdtemp(path.join(tmpdir(), "dispatch-demo-batches-"));
    return path.join(await this.dir, id);
  }
}
