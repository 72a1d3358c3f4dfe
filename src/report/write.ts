/**
 * Writing a report: report.md (a sweep's comparison and runs) and report.html, from the same loaded
 * runs and summary. `acklab run` and `acklab report` both come here.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SWEEP_FILES } from '../results/index.js';
import { reportData, type ReportInput } from './html-data.js';
import { renderHtmlReport } from './html.js';
import { renderMarkdownReport } from './markdown.js';

export const REPORT_HTML = 'report.html';

export interface WrittenReports {
  markdown?: string;
  html: string;
}

export async function writeReports(input: ReportInput): Promise<WrittenReports> {
  const written: Partial<WrittenReports> = {};
  if (input.kind === 'sweep') {
    written.markdown = path.join(input.dir, SWEEP_FILES.reportMd);
    await writeFile(written.markdown, renderMarkdownReport(input.summary));
  }
  written.html = path.join(input.dir, REPORT_HTML);
  await writeFile(written.html, await renderHtmlReport(reportData(input)));
  return written as WrittenReports;
}
