/** The report: the comparison table as text (terminal, Markdown), report.html (charts, space-time diagrams), and writeReports. */
export { formatSpread, renderTerminalTable, tableCells } from './table.js';
export { markdownTable, renderMarkdownReport } from './markdown.js';
export { renderHtmlReport } from './html.js';
export { reportData, runReport, type ReportData, type ReportInput, type RunReport } from './html-data.js';
export { acksOverTimeSpec, acksPerConditionSpec, deliveryLatencySpec, renderChartSvg, rttSpec, type ChartSpec } from './charts.js';
export { layoutRows, renderSpaceTimeSvg, spaceTimeModel, type SpaceTimeModel } from './space-time.js';
export { REPORT_HTML, writeReports, type WrittenReports } from './write.js';
export { loadReportInput } from './load.js';
export { pairsCells, pairsWorthShowing, renderMarkdownPairs, renderTerminalPairs, PAIRS_HEAD } from './pairs.js';
