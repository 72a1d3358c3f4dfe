/** The registry of CLI verbs: one import per verb file. */
import type { Command } from 'commander';
import { register as checkOrder } from './check-order.js';

export type RegisterVerb = (program: Command) => void;

export const verbs: RegisterVerb[] = [checkOrder];
