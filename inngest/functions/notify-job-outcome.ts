/**
 * Emails the job's owner when a job completes, fails or needs their input
 * (`jobOutcomeReached`, lib/jobs/events.ts). One email per outcome:
 * the notification row is keyed `<jobId>:<outcome>` and the send is its own
 * step, so neither a repeated event nor a retried step sends it twice. SMTP
 * failures are recorded on the job (`email.failed`) and retried by Inngest
 * with backoff; success is recorded as `email.sent`, which the job page shows.
 */
import { RetryAfterError, type Inngest } from "inngest";
import type { Transporter } from "nodemailer";
import { inngest } from "@/inngest/client";
import { jobOutcomeReached, jobOutcomeReachedDataSchema } from "@/lib/jobs/events";
import {
  NotificationBusyError,
  prepareNotification,
  sendNotification,
} from "@/lib/email/notifications";
import { commitStep, JobNotFoundError } from "@/lib/jobs/event-log";
import { logger } from "@/lib/logger";

/**
 * Retries after the first attempt: Inngest's maximum. With the executor's
 * backoff (doubling from 1 s, at most a minute apart) they span about a
 * quarter of an hour: well past a claim left by a sender that was killed
 * mid-send (CLAIM_LEASE_SECONDS), and past a mail server down for minutes.
 */
export const NOTIFY_RETRIES = 20;

export function createNotifyJobOutcome(
  client: Inngest.Any,
  options: { transport?: () => Transporter } = {},
) {
  return client.createFunction(
    {
      id: "notify-job-outcome",
      triggers: [jobOutcomeReached],
      retries: NOTIFY_RETRIES,
    },
    async ({ event, step }) => {
      const data = jobOutcomeReachedDataSchema.parse(event.data);
      const logStep = `email:${data.outcome}`;

      const prepared = await step.run("prepare-notification", () => prepareNotification(data));
      if (prepared.status === "skipped") return prepared;

      const sent = await step.run("send-email", async () => {
        const result = await sendNotification(prepared.id, {
          transport: options.transport?.(),
        }).catch((error: unknown) => {
          // Claimed by another attempt: retried when the claim says (NotificationBusyError.retryAt).
          if (error instanceof NotificationBusyError && error.retryAt)
            throw new RetryAfterError(error.message, error.retryAt, { cause: error });
          throw error;
        });
        if (result.status === "sent") return result;
        const message = "The email could not be sent yet; it will be retried.";
        await commitStep(data.jobId, `${logStep}:attempt-${result.attempts}`, {
          events: [
            {
              type: "email.failed",
              data: {
                outcome: data.outcome,
                message,
                attempt: result.attempts,
                final: result.attempts > NOTIFY_RETRIES,
              },
            },
          ],
        }).catch((error: unknown) =>
          logger.error("email.failure_not_recorded", { jobId: data.jobId, error }),
        );
        // Details go to the log (and Inngest's run view), not to the job page.
        throw new Error(`SMTP send failed: ${result.error.message}`);
      });

      await step.run("record-email-sent", async () => {
        try {
          await commitStep(data.jobId, logStep, {
            events: [{ type: "email.sent", data: { outcome: data.outcome } }],
          });
        } catch (error) {
          // Deleted since: the mail went out, and there is no page left to tell.
          if (!(error instanceof JobNotFoundError)) throw error;
        }
      });
      return { status: "sent" as const, key: prepared.key, alreadySent: sent.alreadySent };
    },
  );
}

export const notifyJobOutcome = createNotifyJobOutcome(inngest);
