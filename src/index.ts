/**
 * acklab as a library — `import { Lab } from 'acklab'`. The package's only entry point: what a
 * test or a script needs to start a topology, put network conditions and process faults on it,
 * read its nodes' output and files, and read results back. It is silent unless given a logger.
 *
 *   await using lab = await Lab.fromFile('lab/topologies/client-server.yaml').start();
 *   await lab.impair('client', { to: 'server', delay: '100ms', loss: '5%' });
 *   await lab.partition([['client'], ['server']]);
 *   await lab.heal();
 *   const out = await lab.logs('client', { since: '30s' });
 *
 * Everything else under dist/ is internal and may change between versions.
 */

// Labs: start, act on, stop
export {
  Lab,
  StartedLab,
  ReadinessError,
  STANDARD_STEPS,
  NODE_ACTIONS,
  DEFAULT_STOP_GRACE_MS,
  listNodes,
  removeLab,
  removeAllLabs,
  type StartOptions,
  type StartStep,
  type StartedNode,
  type StartedNetwork,
  type ImpairOptions,
  type PartitionOptions,
  type PartitionGroups,
  type NodeState,
  type NodeLogsOptions,
  type NodeAction,
  type NodeActionOptions,
  type RunningNode,
  type RemovedResources,
} from './lab/index.js';

// Logging and errors
export { AcklabError, UsageError, UnitError, silentLogger, lineLogger, type Logger } from './common/index.js';

// The condition language (the same rules as topology files)
export {
  ConditionError,
  parseImpairment,
  describeImpairment,
  parsePartition,
  partitionCuts,
  ALL_PEERS,
  type Impairment,
  type ImpairmentInput,
  type Cut,
  type CutStyle,
  type PartitionSpec,
} from './conditions/index.js';

// Topologies
export { parseTopology, loadTopology, TopologyError, kindNames, type Topology, type TopologyNode, type TopologyLink, type TopologyIssue } from './topology/index.js';

// What is in force, as read back from the kernel
export type { LabConditions, NodeConditions, HelperStatus, BackendProbe, Backend } from './impair/index.js';

// Images (built on demand by Lab.start; call it yourself to build ahead)
export { ensureImages, type ImageTags, type EnsureImagesOptions } from './images/index.js';

// Results: run and sweep folders written by `acklab run`, their metrics and verdicts
export {
  loadRun,
  loadSweep,
  runVerdict,
  junitXml,
  type LoadedRun,
  type LoadedSweep,
  type RunManifest,
  type RunMetrics,
  type SweepRun,
  type SweepSummary,
  type Verdict,
  type RunVerdict,
  type CheckResult,
} from './results/index.js';

// The Docker edge, for a runtime of your own (tests, another engine)
export { dockerRuntime, type Runtime, type ExecResult } from './runtime/index.js';
