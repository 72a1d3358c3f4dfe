#!/usr/bin/env node
// Part of `npm run build`: bundles the lab programs into dist/bundles/, which the package ships so
// an installed acklab builds its node image without its sources or esbuild (src/images/bundle.ts).
import { fileURLToPath } from 'node:url';
import { writePrebuiltBundles } from '../dist/images/bundle.js';

const root = fileURLToPath(new URL('..', import.meta.url));
await writePrebuiltBundles(root);
