/** The registry of CLI verbs: one import per verb file, in the order `acklab --help` lists them. */
import type { Command } from 'commander';
import { register as doctor } from './doctor.js';
import { register as images } from './images.js';
import { register as checkOrder } from './check-order.js';
import { register as up } from './up.js';
import { register as down } from './down.js';
import { register as ps } from './ps.js';
import { register as logs } from './logs.js';
import { register as exec } from './exec.js';
import { register as cp } from './cp.js';
import { register as nodeActions } from './node-actions.js';
import { register as impair } from './impair.js';
import { register as partition } from './partition.js';
import { register as heal } from './heal.js';
import { register as conditions } from './conditions.js';
import { register as run } from './run.js';
import { register as report } from './report.js';

export type RegisterVerb = (program: Command) => void;

export const verbs: RegisterVerb[] = [doctor, images, up, down, ps, logs, exec, cp, nodeActions, impair, partition, heal, conditions, run, report, checkOrder];
