/** The report: the comparison table (table.ts, markdown.ts) and the self-contained report.html. */
export { comparisonTable, formatSpread, renderTerminalTable, spread, tableCells } from './table.js';
export { markdownTable, renderMarkdownReport } from './markdown.js';
export { REPORT_HTML, renderHtmlReport, writeHtmlReport } from './html.js';
export { loadReportData, loadRunReport, type ReportData, type RunReport } from './html-data.js';
export { acksOverTimeSpec, acksPerConditionSpec, deliveryLatencySpec, renderChartSvg, rttSpec, type ChartSpec } from './charts.js';
export { layoutRows, renderSpaceTimeSvg, spaceTimeModel, type SpaceTimeModel } from './space-time.js';
