/**
 * The outcome email: the job's title, what happened, a short excerpt and the
 * signed link back to its page. One React Email component renders both the
 * HTML and (through @react-email/render) the plain-text body.
 */
import {
  Body,
  Button,
  Container,
  Head,
  Heading,
  Hr,
  Html,
  Link,
  Preview,
  Section,
  Text,
} from "@react-email/components";
import { render } from "@react-email/render";
import { headerText } from "@/lib/email/address";
import type { JobOutcome } from "@/lib/jobs/events";

export interface JobOutcomeEmailProps {
  title: string;
  outcome: JobOutcome;
  /** A few sentences: the report's opening, the error, or the question asked. */
  excerpt: string;
  /** The permalink with its signed token. */
  url: string;
  /** When the token in `url` stops working. */
  expiresAt: Date;
}

const wording: Record<JobOutcome, { subject: string; lead: string; action: string }> = {
  completed: { subject: "Done", lead: "Your job is done.", action: "Open the result" },
  failed: { subject: "Failed", lead: "Your job failed.", action: "See what happened" },
  needs_input: {
    subject: "Needs your input",
    lead: "Your job is waiting for your answer before it goes on.",
    action: "Answer now",
  },
};

const dateFormat = new Intl.DateTimeFormat("en", {
  dateStyle: "long",
  timeStyle: "short",
  timeZone: "UTC",
});

export function JobOutcomeEmail({ title, outcome, excerpt, url, expiresAt }: JobOutcomeEmailProps) {
  const words = wording[outcome];
  return (
    <Html lang="en">
      <Head />
      <Preview>{`${words.lead} ${title}`}</Preview>
      <Body style={{ backgroundColor: "#f4f4f5", fontFamily: "system-ui, sans-serif" }}>
        <Container style={{ backgroundColor: "#ffffff", padding: "24px", maxWidth: "560px" }}>
          <Text style={{ color: "#71717a", fontSize: "14px", margin: 0 }}>Dispatch</Text>
          <Heading as="h1" style={{ fontSize: "20px", margin: "8px 0" }}>
            {title}
          </Heading>
          <Text style={{ fontSize: "16px" }}>{words.lead}</Text>
          {excerpt ? (
            <Section
              style={{ borderLeft: "3px solid #d4d4d8", paddingLeft: "12px", color: "#3f3f46" }}
            >
              <Text style={{ fontSize: "14px", whiteSpace: "pre-line" }}>{excerpt}</Text>
            </Section>
          ) : null}
          <Button
            href={url}
            style={{
              backgroundColor: "#4f46e5",
              borderRadius: "6px",
              color: "#ffffff",
              fontSize: "14px",
              padding: "10px 16px",
            }}
          >
            {words.action}
          </Button>
          <Text style={{ fontSize: "13px", color: "#52525b" }}>
            Or paste this link into any browser: <Link href={url}>{url}</Link>
          </Text>
          <Hr />
          <Text style={{ fontSize: "12px", color: "#71717a" }}>
            The link opens this job without signing in, until {dateFormat.format(expiresAt)} UTC.
            Anyone you forward it to can open it too.
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export async function renderJobOutcomeEmail(props: JobOutcomeEmailProps): Promise<RenderedEmail> {
  const element = <JobOutcomeEmail {...props} />;
  const [html, text] = await Promise.all([
    render(element),
    render(element, {
      plainText: true,
      // Titles are people's own words: keep their case.
      htmlToTextOptions: {
        // Links must stay whole on one line to be clickable in plain-text readers.
        wordwrap: false,
        selectors: [{ selector: "h1", options: { uppercase: false } }],
      },
    }),
  ]);
  return { subject: headerText(`${wording[props.outcome].subject}: ${props.title}`), html, text };
}
