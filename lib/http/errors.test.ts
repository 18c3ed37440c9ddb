/** Route handlers' error answers: precise for ours, generic (with a reference) for the rest. */
import { describe, expect, it } from "vitest";
import { DomainError } from "@/lib/errors";
import { errorResponse } from "@/lib/http/errors";
import { correlationIdOf, requireMediaType } from "@/lib/http/request";
import { IngestError } from "@/lib/ingest/errors";

const context = { event: "test.failed", correlationId: "corr-123" };

describe("errorResponse", () => {
  it("answers a domain error with its code, its message and the status of its kind", async () => {
    const response = errorResponse(new DomainError("job_not_found"), context);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: "job_not_found", message: "No such job, or you do not have access to it." },
    });
    expect(errorResponse(new IngestError("too_large", "Too big."), context).status).toBe(413);
  });

  it("never shows an unexpected error's message, path or stack: a generic message and the reference", async () => {
    const internal = new Error(
      'invalid byte sequence for encoding "UTF8": 0x00 at /app/.next/server/chunks/ssr/lib_jobs_create.js:42',
    );
    const response = errorResponse(internal, context);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).not.toMatch(/UTF8|\.next|chunks|\.js|at /);
    expect(JSON.parse(body)).toEqual({
      error: {
        code: "internal_error",
        message: "Something went wrong on our side. Reference: corr-123.",
        correlationId: "corr-123",
      },
    });
  });

  it("answers a database that is restarting with 503 and Retry-After, not its driver's words", async () => {
    const shutdown = Object.assign(
      new Error("terminating connection due to administrator command"),
      {
        code: "57P01",
      },
    );
    const response = errorResponse(new Error("query failed", { cause: shutdown }), context);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(await response.json()).toEqual({
      error: {
        code: "database_unavailable",
        message: "Dispatch cannot reach its database just now. Try again in a few seconds.",
        correlationId: "corr-123",
      },
    });
  });
});

describe("requireMediaType", () => {
  const check = (contentType: string | null) => {
    try {
      requireMediaType(
        new Headers(contentType === null ? {} : { "content-type": contentType }),
        "multipart/form-data",
      );
      return null;
    } catch (error) {
      return error as DomainError;
    }
  };

  it("accepts the one expected type, with parameters, even a quoted comma in them", () => {
    expect(check("multipart/form-data; boundary=abc")).toBeNull();
    expect(check('Multipart/Form-Data; boundary="a,b"')).toBeNull();
  });

  it("refuses several types by saying so, not by treating the header as absent", () => {
    const several = check("multipart/form-data; boundary=x, text/plain");
    expect(several).toMatchObject({ code: "unsupported_media_type", kind: "unsupported" });
    expect(several?.message).toBe(
      "The Content-Type lists 2 types; send exactly one: multipart/form-data.",
    );
    expect(check(null)?.message).toBe("The request has no Content-Type; send multipart/form-data.");
    expect(check("application/json")?.message).toBe(
      "The Content-Type is application/json; send multipart/form-data.",
    );
  });
});

describe("correlationIdOf", () => {
  it("keeps a sane caller's id and replaces anything else", () => {
    expect(correlationIdOf(new Headers({ "x-correlation-id": "req-1.a:b" }))).toBe("req-1.a:b");
    expect(correlationIdOf(new Headers({ "x-correlation-id": "<script>" }))).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });
});
