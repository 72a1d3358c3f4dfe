/** The Docker engine: reachability and facts, and the `doctor` checks. */
export { engineFacts, engineHost, type EngineFacts } from './engine.js';
export {
  runDoctor,
  parseKernelProbe,
  kernelChecks,
  KERNEL_PROBE_SCRIPT,
  type Check,
  type CheckStatus,
  type DoctorReport,
  type KernelSupport,
} from './doctor.js';
