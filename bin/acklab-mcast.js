#!/usr/bin/env node
// Thin launcher: the compiled program lives in dist/ (run `npm run build` first).
import { main } from '../dist/programs/mcast/main.js';

await main(process.argv.slice(2));
