/**
 * Test fixture builder: real PDFs made with pdf-lib at test time, so no binary
 * fixtures are committed. Test-only (pdf-lib is a devDependency).
 */
import { PDFDocument, StandardFonts } from "pdf-lib";

/** Each page is a list of lines; an empty list makes a page with no text layer. */
export async function makePdf(
  pages: string[][],
  options: { title?: string } = {},
): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  if (options.title) pdf.setTitle(options.title);
  for (const lines of pages) {
    const page = pdf.addPage([612, 792]);
    lines.forEach((line, index) =>
      page.drawText(line, { x: 56, y: 736 - index * 16, size: 11, font }),
    );
  }
  return pdf.save();
}

/** A long report: `count` pages of a few distinct sentences each. */
export function reportPages(count: number): string[][] {
  return Array.from({ length: count }, (_, index) => [
    `Page ${index + 1} of the annual report.`,
    `Section ${index + 1} describes revenue growth in region ${index % 7}.`,
    "Costs were stable and the outlook remains positive for the next quarter.",
  ]);
}
