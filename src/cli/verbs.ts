/** The registry of CLI verbs: one import per verb file. */
import type { Command } from 'commander';

export type RegisterVerb = (program: Command) => void;

export const verbs: RegisterVerb[] = [];
