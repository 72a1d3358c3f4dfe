/** The report: the comparison table as text (terminal, Markdown), report.html (charts, space-time diagrams), and writeReports. */
export { formatSpread, renderTerminalTable, tableCells, tableGroups } from './table.js';
export { markdownTable, renderMarkdownReport } from './markdown.js';
export { renderHtmlReport } from './html.js';
export { reportData, runReport, type ReportData, type ReportInput, type RunReport } from './html-data.js';
export { ackRatioSpec, acksOverTimeSpec, cdfSpec, deliveryLatencySpec, latencyOverTimeSpec, renderChartSvg, rttSpec, type ChartSpec } from './charts.js';
export { layoutRows, mcastDiagram, peerDiagram, type SpaceTimeDiagram } from './space-time.js';
export { createSpaceTimeRenderer, type StData } from './space-time-render.js';
export { REPORT_HTML, writeReports, type WrittenReports } from './write.js';
export { loadReportInput } from './load.js';
export { pairsCells, pairsWorthShowing, renderMarkdownPairs, renderTerminalPairs, PAIRS_HEAD } from './pairs.js';
