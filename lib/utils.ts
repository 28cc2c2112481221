// 'headgrad/utils': building blocks behind the product API, for callers who assemble their own
// reports or batches. Not part of the entry point ('headgrad', lib/index.ts).
export { barChart, linePlot, type Bar, type Series } from './report/charts.js';
export { escapeXml, formatNumber } from './report/format.js';
export { correlationMatrix, heatmap, type HeatmapOptions } from './report/heatmap.js';
export { renderFigure } from './report/html.js';
export { ranks } from './patterns/metrics.js';
export { nnls } from './patterns/nnls.js';
export { encodeChat, type EncodedSample } from './data/chat.js';
export { shuffled } from './data/split.js';
export { makeBatch, batches, promptTokens, encodeSample, type Batch, type BatchOptions, type Weighting } from './data/batch.js';
