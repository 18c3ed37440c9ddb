import { describe, expect, it } from "vitest";
import { checkJobAccessToken, createJobAccessToken, jobAccessUrl } from "@/lib/jobs/access-token";
import { newJobId } from "@/lib/jobs/ids";

describe("job access tokens", () => {
  const jobId = newJobId();

  it("accepts its own token for that job only", () => {
    const token = createJobAccessToken(jobId);
    expect(checkJobAccessToken(jobId, token)).toBe("valid");
    expect(checkJobAccessToken(newJobId(), token)).toBe("invalid");
  });

  it("expires", () => {
    const token = createJobAccessToken(jobId, {
      ttlSeconds: 60,
      now: new Date("2026-01-01T00:00:00Z"),
    });
    expect(checkJobAccessToken(jobId, token, { now: new Date("2026-01-01T00:00:59Z") })).toBe(
      "valid",
    );
    expect(checkJobAccessToken(jobId, token, { now: new Date("2026-01-01T00:01:00Z") })).toBe(
      "expired",
    );
  });

  it("refuses tampered tokens, a changed expiry and other secrets", () => {
    const token = createJobAccessToken(jobId, { ttlSeconds: 60 });
    const [version, expiry, mac] = token.split(".") as [string, string, string];
    const flipped = `${mac.slice(0, 10)}${mac[10] === "A" ? "B" : "A"}${mac.slice(11)}`;
    expect(checkJobAccessToken(jobId, `${version}.${expiry}.${flipped}`)).toBe("invalid");
    expect(checkJobAccessToken(jobId, `${version}.${Number(expiry) + 3600}.${mac}`)).toBe(
      "invalid",
    );
    expect(
      checkJobAccessToken(
        jobId,
        createJobAccessToken(jobId, { secret: "another-secret-of-at-least-32-characters" }),
      ),
    ).toBe("invalid");
    // Any other last character, even one that decodes to the same bytes, is refused.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (const last of alphabet.replace(mac.at(-1)!, "")) {
      expect(checkJobAccessToken(jobId, `${version}.${expiry}.${mac.slice(0, -1)}${last}`)).toBe(
        "invalid",
      );
    }
    for (const junk of ["", "v1", "v2.1.abc", `${token}x`, token.replace("v1", "v2")]) {
      expect(checkJobAccessToken(jobId, junk)).toBe("invalid");
    }
  });

  it("builds the permalink an email carries", () => {
    const url = new URL(jobAccessUrl(jobId));
    expect(url.pathname).toBe(`/jobs/${jobId}`);
    expect(checkJobAccessToken(jobId, url.searchParams.get("token")!)).toBe("valid");
  });
});
